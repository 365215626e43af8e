"""Where a result came from: albench's version, the grid file's content hash,
the command line, the date, the machine and the versions of the libraries
that produce and analyse the rows.

``provenance()`` returns plain data (``json.dumps`` takes it as it is); the
report prints it and ``albench analyze --json`` can store it beside the
tables. Versions are read from the installed distributions' metadata, so
nothing heavy is imported to learn them.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import socket
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# distributions whose version can change a stored row or a figure
LIBRARIES = ("numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "optuna", "scikit-posthocs", "duckdb",
             "dask", "distributed", "matplotlib", "plotly", "modAL-python", "scikit-activeml", "torch",
             "torchvision")
# a copy of the grid file that a results folder may hold (looked for when no file is named)
STORED_GRID_NAMES = ("grid.yaml", "grid.yml")


def version(distribution: str = "albench") -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_grid_file(results_root: str | Path | None) -> Path | None:
    """The grid file stored inside a results folder, if there is one."""
    if results_root is None:
        return None
    for name in STORED_GRID_NAMES:
        candidate = Path(results_root) / name
        if candidate.is_file():
            return candidate
    return None


def _command(argv: list[str]) -> str | None:
    """The command line as typed: the program's name (``python -m pkg`` for a package's __main__), then its words."""
    if not argv:
        return None
    program = Path(argv[0])
    head = ["python", "-m", program.parent.name] if program.name == "__main__.py" else [program.name]
    return " ".join(shlex.quote(a) for a in [*head, *argv[1:]])


def provenance(grid_file: str | Path | None = None, results_root: str | Path | None = None,
               argv: list[str] | None = None) -> dict:
    """albench version, grid file hash (None when unknown), command, UTC date, machine, library versions.

    ``grid_file`` is the grid the results were made from; without it, a
    ``grid.yaml`` inside ``results_root`` is used if present. ``argv``
    defaults to this process's command line.
    """
    grid_path = Path(grid_file) if grid_file is not None else find_grid_file(results_root)
    if grid_path is not None and not grid_path.is_file():
        raise FileNotFoundError(f"grid file {grid_path} does not exist")
    argv = sys.argv if argv is None else argv
    return {
        "albench_version": version("albench"),
        "grid_file": str(grid_path) if grid_path is not None else None,
        "grid_sha256": file_sha256(grid_path) if grid_path is not None else None,
        "results": str(results_root) if results_root is not None else None,
        "command": _command(argv),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"hostname": socket.gethostname(), "platform": platform.platform(),
                    "processor": platform.machine(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "libraries": {name: v for name in LIBRARIES if (v := version(name)) is not None},
    }
