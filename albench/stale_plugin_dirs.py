"""Private plug-in folders left behind by processes that died without cleaning up.

A process that loads a grid's plug-ins writes them to its own folder,
``<tmp>/albench-plugins-<pid>-<random>/`` (``albench.run_context``), removed
at exit by an ``atexit`` hook. A process killed with SIGKILL (a run process
stuck past its time limit, a worker killed by its nanny or the kernel's
out-of-memory killer) never runs that hook, so its folder stays.
``remove_stale`` deletes the folders of that form owned by this user whose
pid no longer exists. A live pid, another user's folder, a symlink, a plain
file or a name of another form is left alone; a dead process's pid reused by
a live one keeps its folder until that one ends too. Run processes sweep
when they start, the local executor and each Dask worker once per process
(``remove_stale_once``).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "albench-plugins-"  # as albench.run_context._private_dir names them: PREFIX<pid>-<mkdtemp's suffix>
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-\w+")
_swept = False


def remove_stale(tmp: str | os.PathLike | None = None) -> list[Path]:
    """Delete the plug-in folders in ``tmp`` (default: ``tempfile.gettempdir()``) whose process is gone.

    Returns the folders removed. Never raises: a folder that cannot be read or
    removed (another process removing it at the same moment) is skipped.
    """
    folder = Path(tmp if tmp is not None else tempfile.gettempdir())
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(Path(entry.path))
    return removed


def remove_stale_once() -> None:
    """``remove_stale()`` the first time this process calls it (a sweep per process is enough)."""
    global _swept
    if not _swept:
        _swept = True
        remove_stale()


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return True  # not an id a process could have written: leave the folder alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    except OverflowError:
        return False  # larger than any pid
    return True
