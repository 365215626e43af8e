"""``albench fsck DIR``: find and move aside damaged parts and duplicate rows of a results folder."""

from __future__ import annotations

from pathlib import Path

import typer

from albench.cli.common import console, fail


def fsck(
    results: Path = typer.Argument(..., help="Results folder of a grid, e.g. results/quick.", show_default=False),
    dry_run: bool = typer.Option(False, "--dry-run", "-n",
                                 help="Say what is wrong and what would move; change nothing."),
) -> None:
    """Check every part file; move damaged parts (with their partner part), orphan curves parts and duplicate
    rows into RESULTS/quarantine/, and delete a crashed writer's temporary files. Runs whose rows moved are
    run again by the next `albench grid run`. Nothing is deleted but temporary files."""
    from albench.repair import QUARANTINE, check, repair
    from albench.store import StoreError

    if not (results / "runs").is_dir():
        fail(f"{results}: not a results folder (no runs/ in it)")
    try:
        found = check(results) if dry_run else repair(results)
    except StoreError as exc:  # another process is writing there
        fail(str(exc))
    for line in found.lines():
        _say(line)
    if found.clean:
        _say(f"{results}: no damaged part, orphan, duplicate row or temporary file")
    elif dry_run:
        _say("dry run: nothing changed; run without --dry-run to repair")
    else:
        _say(f"repaired: moved into {results / QUARANTINE}/; `albench grid run` runs the missing runs again")


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def install(app: typer.Typer) -> None:
    app.command("fsck")(fsck)
