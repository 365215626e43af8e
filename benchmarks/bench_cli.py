"""Start-up cost of the command line: CPU seconds of ``albench --help``, ``--version`` and ``grid --help``.

Each command runs in a fresh process (the installed ``albench`` script of this
environment, or ``python -m albench`` without one); its CPU time (user +
system, from the children's resource usage) is the median over the repeats.
The goal is "well under half a second" (issue 18): each figure is also given
as a ratio to 0.5 s, which must stay below 1.

    python -m benchmarks.bench_cli [--quick]
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

from benchmarks import figure

COMMANDS = {"help": ["--help"], "version": ["--version"], "grid_help": ["grid", "--help"]}
GOAL_S = 0.5
COMMAND = "python -m benchmarks --only cli"


def albench_command() -> list[str]:
    """This environment's ``albench`` script (what a user types), or ``python -m albench``."""
    script = Path(sysconfig.get_path("scripts")) / "albench"
    return [str(script)] if script.exists() else [sys.executable, "-m", "albench"]


def cpu_seconds(args: list[str]) -> float:
    """User + system CPU seconds of one run of ``args`` in a child process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(quick: bool) -> dict:
    """Figures for ``python -m benchmarks``: median CPU seconds of each command, and its ratio to 0.5 s."""
    repeats = 3 if quick else 7
    base = albench_command()
    cpu_seconds([*base, "--version"])  # the first start also compiles bytecode: not what a user waits for
    figures = {}
    for name, args in COMMANDS.items():
        median = statistics.median(cpu_seconds([*base, *args]) for _ in range(repeats))
        shown = "albench " + " ".join(args)
        figures[f"cli_{name}_cpu_s"] = figure(round(median, 3), COMMAND, unit="s", repeats=repeats,
                                              definition=f"median CPU seconds (user + system) of `{shown}`")
        figures[f"cli_{name}_cpu_ratio_to_half_second"] = figure(
            round(median / GOAL_S, 3), COMMAND, goal="< 1", repeats=repeats,
            definition=f"median CPU seconds of `{shown}` / 0.5 s (the goal: well under half a second)")
    return figures


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
