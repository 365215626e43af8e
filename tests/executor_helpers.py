"""Grids, plug-ins and comparisons shared by the executor tests."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import yaml

from albench.spec import load_grid
from albench.store import Store

# columns that measure time or host, not the result
TIMING = ["fit_s", "query_s", "eval_s", "prepare_s", "total_s", "started_at", "finished_at"]


def _is_timing(column: str) -> bool:
    """Wall or CPU seconds of a phase (``*_s``), or a clock time: they differ between two runs of one spec."""
    return column in TIMING or column.endswith("_s")

# strategies that misbehave on purpose, loaded through a grid's `plugins:` key
FAULTY_PLUGIN = '''
import os, signal, time
from albench.strategy import Strategy, register


@register("test_raises", "raises on its first query")
class Raises(Strategy):
    def query(self, state, batch_size, rng):
        raise ValueError("broken on purpose")


@register("test_sleeps", "sleeps `seconds` inside every query (touching the file `touch` first, if given), "
                        "then picks like random")
class Sleeps(Strategy):
    def __init__(self, seconds: float = 0.0, touch: str | None = None):
        super().__init__(seconds=seconds, touch=touch)

    def query(self, state, batch_size, rng):
        if self.params.get("touch"):  # tells a test that the grid is under way
            open(self.params["touch"], "a").close()
        time.sleep(float(self.params["seconds"]))
        return rng.choice(state.unlabelled, size=min(batch_size, len(state.unlabelled)), replace=False)


@register("test_exits", "calls sys.exit(3) on its first query")
class Exits(Strategy):
    def query(self, state, batch_size, rng):
        import sys
        sys.exit(3)


@register("test_interrupts", "raises KeyboardInterrupt on its first query, as if Ctrl-C were pressed")
class Interrupts(Strategy):
    def query(self, state, batch_size, rng):
        raise KeyboardInterrupt


@register("test_kills_process", "kills the process it runs in")
class KillsProcess(Strategy):
    def query(self, state, batch_size, rng):
        os.kill(os.getpid(), signal.SIGKILL)
'''


@contextmanager
def registry_restored():
    """Forget strategies registered inside the block (the faulty plug-ins must not leak to other tests)."""
    from albench.strategy import registry

    registry.names()
    entries, unavailable = dict(registry.entries), dict(registry.unavailable)
    try:
        yield
    finally:
        registry.entries.clear()
        registry.entries.update(entries)
        registry.unavailable.clear()
        registry.unavailable.update(unavailable)


def write_grid(folder: Path, doc: dict, name: str = "grid.yaml", plugin: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if plugin:
        (folder / "plugins").mkdir(exist_ok=True)
        (folder / "plugins" / "faulty.py").write_text(FAULTY_PLUGIN)
        doc = {**doc, "plugins": ["plugins"]}
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def tiny_grid_doc(name: str = "tiny", datasets=("iris", "wine"), seeds: int = 2) -> dict:
    """Fast runs: 16 per data set and seed over two learners, two strategies, two batch sizes."""
    return {"name": name, "kind": "al", "params": {
        "dataset": list(datasets), "learner": ["logreg", "gnb"], "strategy": ["random", "margin"],
        "batch_size": [1, 5], "budget": 4, "seed": {"range": [0, seeds]}}}


def sleepy_grid_doc(name: str, n_seeds: int, seconds: float, budget: int = 10, touch: Path | None = None) -> dict:
    """Runs of predictable length: `budget` queries that each sleep `seconds` (and touch `touch`)."""
    strategy = {"name": "test_sleeps", "seconds": seconds, **({"touch": str(touch)} if touch else {})}
    return {"name": name, "kind": "al", "params": {
        "dataset": "iris", "learner": "gnb", "strategy": strategy, "budget": budget, "seed": {"range": [0, n_seeds]}}}


def run_ids(grid_path: Path) -> set[str]:
    return {spec.run_id for spec in load_grid(grid_path).specs()}


def results(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and curves without timing columns, in a canonical order."""
    store = Store(root)
    runs, curves = store.read("runs"), store.read("curves")
    runs = runs.drop(columns=[c for c in runs.columns if _is_timing(c)])
    curves = curves.drop(columns=[c for c in curves.columns if _is_timing(c)])
    runs = runs.sort_values("run_id").reset_index(drop=True)
    curves = curves.sort_values(["run_id", "cycle"]).reset_index(drop=True)
    curves["queried"] = curves["queried"].map(tuple)
    return runs, curves[sorted(curves.columns)]
