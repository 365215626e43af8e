"""``albench compact DIR``: merge a results folder's small part files into a few large ones."""

from __future__ import annotations

from pathlib import Path

import typer

from albench.cli.common import console, fail

LOCKED_EXIT = 3  # the folder is being written: try again once that process has finished


def compact(
    results: Path = typer.Argument(..., help="Results folder of a grid, e.g. results/quick.", show_default=False),
    max_runs_rows: int = typer.Option(1_000_000, "--max-runs-rows", min=2,
                                      help="Runs rows per compacted file at most."),
    max_curves_mb: int = typer.Option(512, "--max-curves-mb", min=1,
                                      help="Curves part bytes (MiB, as stored) merged into one file at most."),
) -> None:
    """Merge small part files into a few large ones, atomically (every row stays stored once). The parts of
    RESULTS/runs and RESULTS/curves are merged into files of up to --max-runs-rows runs rows,
    in row groups of 131,072 rows. An interrupted compaction never shows a row twice; the next `grid run`,
    `compact` or `fsck` finishes or undoes it. Takes the folder's writer lock: if another process (a
    running grid) holds it, nothing changes and the exit status is 3; compact once it has finished (a
    `grid run` that leaves more than 100 parts compacts by itself)."""
    from albench.compaction import compact as run_compaction
    from albench.store import StoreError, StoreLocked

    if not (results / "runs").is_dir():
        fail(f"{results}: not a results folder (no runs/ in it)")
    try:
        summary = run_compaction(results, max_runs_rows=max_runs_rows, max_curves_bytes=max_curves_mb * 1024 ** 2)
    except StoreLocked as exc:
        fail(f"{exc}; nothing compacted", code=LOCKED_EXIT)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"{results}: {summary.line()}", markup=False, highlight=False, soft_wrap=True)


def install(app: typer.Typer) -> None:
    app.command("compact")(compact)
