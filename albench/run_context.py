"""What a process running someone else's grid needs besides the RunSpecs.

Workers share no filesystem with the client, so the strategy plug-ins a grid
names (its ``plugins:`` folders and ``ALBENCH_PLUGINS``) travel as source text
with the context and are loaded on the worker from a local copy in a private
directory of the worker process, once per process (see ``ensure_plugins``).
Data sets do not travel: workers load them from the registry.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from albench import stale_plugin_dirs
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
    """Load the context's plug-ins in this process unless already done.

    The sources are written to a folder of this process's own private
    directory (mode 0700, created fresh by ``tempfile.mkdtemp``, removed at
    exit), each file read back and checked against the hash of the source the
    client sent, and exactly those files are loaded: nothing another user or
    process left in a shared temporary folder can take their place.
    """
    if not ctx.plugins:
        return
    key = ctx.plugins_key
    with _lock:
        if key in _loaded:
            return
        from albench.strategy import load_plugin_folder, registry

        registry.names()  # built-ins first, as on the client
        folder = _private_dir() / key
        folder.mkdir(mode=0o700)  # new in a new private directory: nothing else is in it
        for name, source in ctx.plugins:
            if Path(name).name != name or not name.endswith(".py") or name.startswith(("_", ".")):
                raise PluginBundleError(f"plug-in bundle {key}: {name!r} is not a plug-in file name")
            (folder / name).write_text(source)
        expected = {name: _digest(source.encode()) for name, source in ctx.plugins}
        found = {path.name: _digest(path.read_bytes()) for path in folder.iterdir()}
        if found != expected:
            raise PluginBundleError(f"plug-in bundle {key}: the files in {folder} differ from those the client "
                                    f"sent ({', '.join(sorted(set(found) ^ set(expected)) or sorted(found))})")
        load_plugin_folder(folder)
        _loaded.add(key)


class PluginBundleError(RuntimeError):
    """The plug-in files written on a worker are not exactly the ones its client sent."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_private: dict[int, Path] = {}  # process id -> its private plug-in directory (a forked child makes its own)


def _private_dir() -> Path:
    pid = os.getpid()
    if pid not in _private:
        stale_plugin_dirs.remove_stale_once()  # folders of killed processes (SIGKILL skips their atexit)
        path = Path(tempfile.mkdtemp(prefix=f"{stale_plugin_dirs.PREFIX}{pid}-"))  # 0700, owned by us, new
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _private[pid] = path
    return _private[pid]
