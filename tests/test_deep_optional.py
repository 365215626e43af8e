"""Without the `deep` extra albench imports and runs, and naming a deep entry says how to install it.

The missing extra is simulated in a fresh interpreter: a finder placed first on
``sys.meta_path`` refuses torch and torchvision, so ``import torch`` raises
``ModuleNotFoundError`` and ``importlib.util.find_spec`` finds nothing, as on an
installation without them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HINT = "pip install 'albench[deep]'"
BLOCK_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "torchvision"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
"""


def run_python(code: str) -> str:
    """Run ``code``; the line ``# BLOCK TORCH`` is where torch stops being importable."""
    code = textwrap.dedent(code).replace("# BLOCK TORCH", BLOCK_TORCH)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_albench_works_without_torch():
    out = run_python(f"""
        # BLOCK TORCH
        import tempfile
        import albench.cli, albench.al_loop
        from albench import datasets, learners
        from albench.execute import run_grid
        from albench.registry import UnavailableName
        from albench.spec import GridError, grid_from_dict
        from albench.store import Store

        assert "torch_mlp" not in learners.registry.names() and "logreg" in learners.registry.names()
        for registry, name in [(learners.registry, "torch_cnn"), (datasets.registry, "mnist"),
                               (datasets.registry, "cifar100")]:
            try:
                registry.get(name)
            except UnavailableName as exc:
                assert {HINT!r} in str(exc), exc
            else:
                raise AssertionError(name + " should be unavailable")
        grid = {{"name": "g", "kind": "al", "params": {{"dataset": "iris", "learner": "torch_cnn",
                                                       "strategy": "random", "budget": 2}}}}
        try:
            grid_from_dict(grid)
        except GridError as exc:
            assert "learner 'torch_cnn' is unavailable" in str(exc) and {HINT!r} in str(exc), exc
        else:
            raise AssertionError("the grid should not validate")
        grid["params"]["learner"] = "logreg"
        summary = run_grid(grid_from_dict(grid), Store(tempfile.mkdtemp()))
        assert summary.done == 1 and summary.failed == 0, summary

        # the command line: a short error with the hint intact (brackets included), exit status 2
        import contextlib, io
        for argv in (["grid", "show", "grids/deep.yaml"], ["check-strategy", "bald", "--learner", "torch_mlp"]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    albench.cli.app(argv, prog_name="albench")
                except SystemExit as exc:
                    code = exc.code
            assert code == 2 and {HINT!r} in err.getvalue() and "Traceback" not in err.getvalue(), err.getvalue()
        print("ok")
    """)
    assert out.strip() == "ok"


def test_importing_albench_does_not_import_torch():
    out = run_python("""
        import sys
        import albench.cli, albench.al_loop, albench.learners, albench.datasets, albench.deep
        print("torch" in sys.modules, "torchvision" in sys.modules)
    """)
    assert out.split() == ["False", "False"]


def test_a_factory_whose_import_fails_names_the_extra():
    # torch was found when the registries were filled, but does not import when a learner is made
    out = run_python(f"""
        from albench import datasets, learners
        from albench.deep import MissingExtra
        assert "torch_mlp" in learners.registry.names()
        # BLOCK TORCH
        for make in (lambda: learners.make_learner("torch_mlp"), lambda: datasets.load("fashion_mnist")):
            try:
                make()
            except MissingExtra as exc:
                assert {HINT!r} in str(exc), exc
            else:
                raise AssertionError("MissingExtra expected")
        print("ok")
    """)
    assert out.strip() == "ok"
