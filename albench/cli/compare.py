"""``albench compare``: two results folders, or two groups of one, paired on their common cells."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from albench.cli.common import console, fail, print_frame

HELP_GROUPS = "Two values of --by, joined by a comma (e.g. logreg,rf): compare them within folder A."


def compare(
    a: Path = typer.Argument(..., help="Results folder A (the reference).", show_default=False),
    b: Path = typer.Argument(None, help="Results folder B; leave out with --by/--groups.", show_default=False),
    metric: str = typer.Option(None, "--metric", "-m", help="Metric to compare.",
                               show_default="auc_accuracy for AL, squared_error for active testing"),
    by: str = typer.Option(None, "--by", help="A hyperparameter whose two --groups are compared within A."),
    groups: str = typer.Option(None, "--groups", help=HELP_GROUPS),
    rope: float = typer.Option(None, "--rope", min=0.0, help="Differences within +-ROPE count as ties.",
                               show_default="0.01 for AL, 0 for active testing"),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="Bootstrap resamples for the intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and of the Bayesian test."),
    kind: str = typer.Option(None, "--kind", help="al or at, when a folder holds runs of both kinds."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """Paired statistics of B against A on their common cells: the same run_id in two folders (a new version,
    another machine), or, with --by and --groups, two values of one hyperparameter matched on all the others.
    A positive difference means B (the second group) is better."""
    from albench.analysis.compare import compare_groups, compare_runs
    from albench.analysis.frame import AnalysisError
    from albench.results import ResultsError, open as open_results

    if (by is None) != (groups is None):
        fail("--by and --groups go together: e.g. --by learner --groups logreg,rf")
    if (b is None) == (by is None):
        fail("give a second results folder B, or --by and --groups to compare two groups of A")
    try:
        if b is not None:
            result = compare_runs(open_results(a).runs, open_results(b).runs, metric, rope, resamples, seed,
                                  labels=(str(a), str(b)), kind=kind)
        else:
            names = [g.strip() for g in groups.split(",")]
            if len(names) != 2 or not all(names):
                fail(f"--groups takes two values joined by a comma, got {groups!r}")
            result = compare_groups(open_results(a).runs, by, names[0], names[1], metric, rope, resamples, seed,
                                    kind=kind)
    except (AnalysisError, ResultsError) as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    columns = {"method": "method", "pairs": "pairs", "mean_a": "A", "mean_b": "B", "effect": "B - A",
               "effect_low": "low", "effect_high": "high", "wins": "W", "ties": "T", "losses": "L",
               "p_better": "P(B better)", "p_equivalent": "P(equiv)", "p_worse": "P(B worse)",
               "wilcoxon_p": "Wilcoxon p"}
    console.print(f"A = {result.label_a}\nB = {result.label_b}\npaired on: {result.paired_on}; without a "
                  f"partner: {result.unpaired[0]} of A, {result.unpaired[1]} of B", highlight=False, markup=False)
    print_frame(result.table[list(columns)].rename(columns=columns), floatfmt="{:.3g}",
                title=f"{result.metric}: B - A (> 0: B better), 95 % bootstrap interval over pairs, W/T/L beyond "
                      f"the ROPE, Bayesian signed-rank test, Wilcoxon signed-rank test")


def install(app: typer.Typer) -> None:
    app.command("compare")(compare)
