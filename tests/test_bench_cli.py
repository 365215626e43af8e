"""``benchmarks/bench_cli.py``: the start-up figures are measured CPU seconds, and ratios to half a second."""

from __future__ import annotations

import sys

from benchmarks import __main__ as runner
from benchmarks import bench_cli


def test_cpu_seconds_measures_the_child_process():
    idle = bench_cli.cpu_seconds([sys.executable, "-c", "pass"])
    busy = bench_cli.cpu_seconds([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"])
    assert 0 < idle < busy


def test_the_figures_are_ratios_of_their_medians_to_half_a_second(monkeypatch):
    times = iter([0.9, 0.2, 0.3, 0.1, 0.25, 0.2, 0.3, 0.6, 0.4, 0.5])  # warm-up, then 3 repeats a command
    monkeypatch.setattr(bench_cli, "cpu_seconds", lambda args: next(times))
    figures = runner.normalise("cli", bench_cli.run(quick=True), quick=True)
    assert figures["cli_help_cpu_s"]["value"] == 0.2  # median of 0.2, 0.3, 0.1
    assert figures["cli_version_cpu_s"]["value"] == 0.25
    assert figures["cli_grid_help_cpu_s"]["value"] == 0.5
    assert figures["cli_help_cpu_ratio_to_half_second"]["value"] == 0.4
    assert figures["cli_help_cpu_ratio_to_half_second"]["met"] is True
    assert figures["cli_grid_help_cpu_ratio_to_half_second"]["met"] is False  # 1.0 is not below 1
    assert "cli" in runner.discover()
