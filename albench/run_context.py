"""What a process running someone else's grid needs besides the RunSpecs.

Workers share no filesystem with the client, so the strategy plug-ins a grid
names (its ``plugins:`` folders and ``ALBENCH_PLUGINS``) travel as source text
with the context and are loaded on the worker from a local copy, once per
process. Data sets do not travel: workers load them from the registry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from albench.spec import Grid

_loaded: set[str] = set()  # plug-in bundles already loaded in this process
_lock = threading.Lock()


@dataclass(frozen=True)
class RunContext:
    grid_name: str
    timeout_s: float | None = None
    plugins: tuple[tuple[str, str], ...] = ()  # (file name, source) of every plug-in file

    @property
    def plugins_key(self) -> str:
        digest = hashlib.sha256()
        for name, source in self.plugins:
            digest.update(f"{name}\0{source}\0".encode())
        return digest.hexdigest()[:16]


def plugin_folders(grid: Grid) -> list[Path]:
    """The grid's ``plugins:`` folders (relative to the grid file) and ``ALBENCH_PLUGINS``."""
    folders = []
    for folder in grid.plugins:
        path = Path(folder).expanduser()
        folders.append(path if path.is_absolute() else Path(grid.path).parent / path)
    folders += [Path(f).expanduser() for f in os.environ.get("ALBENCH_PLUGINS", "").split(os.pathsep) if f]
    return folders


def context_for(grid: Grid, timeout_s: float | None = None) -> RunContext:
    """The context of ``grid``'s runs, built where the grid was loaded (its plug-ins are loaded here)."""
    files: dict[str, str] = {}
    for i, folder in enumerate(plugin_folders(grid)):
        if folder.is_dir():
            for path in sorted(folder.glob("*.py")):
                if not path.name.startswith("_"):  # as load_plugin_folder: private files are not plug-ins
                    files[f"{i:03d}_{path.name}"] = path.read_text()
    ctx = RunContext(grid.name, timeout_s if timeout_s is not None else grid.timeout_s,
                     tuple(sorted(files.items())))
    with _lock:
        _loaded.add(ctx.plugins_key)  # load_grid imported these folders in this process already
    return ctx


def ensure_plugins(ctx: RunContext) -> None:
    """Load the context's plug-ins in this process unless already done."""
    if not ctx.plugins:
        return
    key = ctx.plugins_key
    with _lock:
        if key in _loaded:
            return
        from albench.strategy import load_plugin_folder, registry

        registry.names()  # built-ins first, as on the client
        folder = Path(tempfile.gettempdir()) / "albench-plugins" / key
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in ctx.plugins:
            target = folder / name
            if not target.exists():  # same key, same content: any writer's copy will do
                tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
                tmp.write_text(source)
                os.replace(tmp, target)
        load_plugin_folder(folder)
        _loaded.add(key)
