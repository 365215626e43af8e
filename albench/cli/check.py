"""``albench check-strategy`` (the conformance suite) and ``albench new-strategy`` (a strategy from the template)."""

from __future__ import annotations

from pathlib import Path

import typer

from albench.cli.common import command_here, console, fail

STYLE = {"pass": "green", "fail": "bold red", "xfail": "yellow", "xpass": "yellow"}


def install(app: typer.Typer) -> None:
    @app.command("check-strategy")
    def check_strategy(
        name: str = typer.Argument(..., help="Registered strategy name, e.g. margin or modal.entropy."),
        learner: str = typer.Option("logreg", "--learner", help="Learner to fit (a registered name or module.Class)."),
        plugins: list[Path] = typer.Option([], "--plugins", help="Plug-in folder(s) to load first."),
    ) -> None:
        """Run the strategy conformance suite and print each check with pass or the reason it fails.

        Exit status: 0 when every check passes (or fails as declared), 1 when a check
        fails, 2 for an unknown or unavailable strategy or learner.
        """
        from albench import checks, learners
        from albench.registry import DuplicateName, UnavailableName, UnknownName
        from albench.strategy import load_plugin_folder, registry

        registry.names()
        for folder in plugins:
            try:
                load_plugin_folder(folder)
            except (FileNotFoundError, DuplicateName) as exc:
                fail(str(exc))
        try:
            registry.get(name)
            learners.resolve(learner)
        except (UnknownName, UnavailableName) as exc:
            fail(str(exc))
        console.print(f"checking strategy [bold]{name}[/] with learner [bold]{learner}[/]")

        def show(result: checks.CheckResult) -> None:
            reason = f": {result.reason}" if result.reason else ""
            console.print(f"  [{STYLE[result.status]}]{result.status:5}[/]  {result.check}{reason}", highlight=False)

        results = checks.check_strategy(name, learner, on_result=show)
        counts = {status: sum(r.status == status for r in results) for status in STYLE}
        known = f", {counts['xfail']} known failures" if counts["xfail"] else ""
        console.print(f"{len(results)} checks: {counts['pass'] + counts['xpass']} passed{known}, {counts['fail']} failed")
        if counts["fail"]:
            raise typer.Exit(1)

    @app.command("new-strategy")
    def new_strategy(
        name: str = typer.Argument(..., help="Strategy name: lower case, digits and underscores."),
        directory: Path = typer.Option(None, "--dir", show_default="strategies",
                                       help="Folder for the strategy module; one named here is created if missing."),
        tests: Path = typer.Option(None, "--tests", show_default="tests",
                                   help="Folder for its test; one named here is created if missing."),
    ) -> None:
        """Write DIR/NAME.py and TESTS/test_strategy_NAME.py from the template; both run as they are.

        Refuses invalid or already registered names and never overwrites a file.
        """
        from albench.scaffold import ScaffoldError
        from albench.scaffold import new_strategy as write

        try:
            paths = write(name, directory, tests)
        except ScaffoldError as exc:
            fail(str(exc))
        for path in paths:
            console.print(f"wrote {path}")
        from albench.scaffold import is_builtin_folder

        env = "" if is_builtin_folder(paths[0].parent) else f"ALBENCH_PLUGINS={paths[0].parent.resolve()} "
        albench = command_here("albench") or f"{command_here('python') or 'python'} -m albench"
        pytest = command_here("pytest")
        test = (f" and `{env}{pytest} {paths[1]}`" if pytest else
                f"; pytest, to run {paths[1]}, is not installed here: `{command_here('pip') or 'pip'} install pytest`")
        console.print(f"next: edit {paths[0]}, then `{env}{albench} check-strategy {name}`{test}",
                      markup=False, highlight=False, soft_wrap=True)  # commands stay whole for copying
