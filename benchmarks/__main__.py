"""Run the benchmark modules, print their figures, merge them into results.json."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import operator
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
GOAL_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


def discover() -> list[str]:
    """Names of the benchmark modules: ``bench_<name>.py`` gives ``<name>``."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def machine() -> dict:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu": model or platform.processor(),
            "python": platform.python_version(), "load_avg_1m": round(os.getloadavg()[0], 2)}


def goal_met(value, goal: str) -> bool | None:
    for symbol in sorted(GOAL_OPS, key=len, reverse=True):
        if goal.strip().startswith(symbol) and isinstance(value, (int, float)):
            return bool(GOAL_OPS[symbol](value, float(goal.strip()[len(symbol):])))
    return None


def normalise(name: str, figures: dict, quick: bool) -> dict:
    """Every figure as a record with a value, a reproducing command and, given a goal, ``met``."""
    out = {}
    for key, fig in figures.items():
        record = dict(fig) if isinstance(fig, dict) and "value" in fig else {"value": fig}
        record.setdefault("command", f"python -m benchmarks --only {name}")
        if quick and "--quick" not in record["command"]:
            record["command"] += " --quick"
        if "goal" in record:
            record["met"] = goal_met(record["value"], record["goal"])
        record.update(module=f"bench_{name}", quick=quick)
        out[key] = record
    return out


def _text(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else json.dumps(value)


def _leaves(value, path=()) -> list[tuple[tuple, dict]]:
    """(row path, {column: value}) of a nested dict; a flat dict is one column of rows."""
    if all(not isinstance(v, dict) for v in value.values()):
        return [((*path, k), {"value": v}) for k, v in value.items()] if not path else [(path, value)]
    return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]


def show(figures: dict) -> None:
    """Figures by strategy and pool size in one table each, then every plain figure in one table."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=max(Console().width, 120), highlight=False)
    plain = Table(title="albench benchmarks")
    for col in ("figure", "value", "goal", "met", "command"):
        plain.add_column(col, overflow="fold")
    for key, rec in figures.items():
        if not isinstance(rec["value"], dict):
            met = {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[rec.get("met")]
            plain.add_row(key, _text(rec["value"]), rec.get("goal", ""), met, rec["command"])
            continue
        leaves = _leaves(rec["value"])
        columns = list(dict.fromkeys(c for _, row in leaves for c in row))
        table = Table()
        table.add_column("")
        for col in columns:
            table.add_column(str(col), justify="right")
        for path, row in leaves:
            table.add_row(" / ".join(map(str, path)), *(_text(row[c]) if c in row else "" for c in columns))
        console.print(f"\n[bold]{escape(key)}[/]: {escape(rec.get('definition', ''))}  ({escape(rec['command'])})")
        console.print(table)
    console.print(plain)


def main(argv: list[str] | None = None) -> None:
    names = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller problems: minutes, not a quarter hour")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=f"modules to run: {names}")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file to merge into")
    parser.add_argument("--sizes", nargs="+", type=int, metavar="N",
                        help="problem sizes for the modules whose run() takes sizes (scale: numbers of runs)")
    parser.add_argument("--steps", nargs="+", metavar="STEP",
                        help="steps of the modules whose run() takes them (scale: open, analyze, report, "
                             "compacted, stored_ids, ...)")
    args = parser.parse_args(argv)

    stamp = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    merged = json.loads(args.output.read_text()) if args.output.exists() else {}
    fresh: dict = {}
    for name in args.only or names:
        t0 = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        accepted = inspect.signature(module.run).parameters
        options = {**({"sizes": args.sizes} if args.sizes and "sizes" in accepted else {}),
                   **({"only": args.steps} if args.steps and "only" in accepted else {})}
        figures = normalise(name, module.run(args.quick, **options), args.quick)
        seconds = round(time.perf_counter() - t0, 1)
        for key, record in figures.items():
            record.update(stamp, module_seconds=seconds)
            fresh[f"{name}.{key}" if key in fresh else key] = record  # names stay unique across modules
    show(fresh)
    merged.update(fresh)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, args.output)
    print(f"merged into {args.output}")


if __name__ == "__main__":
    main()
