"""The built-in strategies are the package ``albench.strategies`` (the repository's ``strategies/``
folder), so no other ``strategies`` folder on ``sys.path`` can shadow them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import albench.strategies

ROOT = Path(__file__).resolve().parents[1]


def test_the_builtin_package_is_the_strategies_folder():
    assert [Path(p).resolve() for p in albench.strategies.__path__] == [ROOT / "strategies"]


def test_a_decoy_strategies_package_first_on_the_path_does_not_empty_the_registry(tmp_path):
    decoy = tmp_path / "strategies"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("")  # an unrelated, empty package called strategies
    (decoy / "margin.py").write_text("raise RuntimeError('the decoy was imported')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
           "COLUMNS": "250", "PYTHONWARNINGS": "ignore"}
    code = ("import strategies, sys; assert strategies.__file__.startswith(sys.argv[1]), strategies.__file__; "
            "from albench.strategy import registry; print(len(registry.names()), 'margin' in registry)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    count, has_margin = out.stdout.split()
    assert int(count) > 20 and has_margin == "True"
    # the command line from a folder that holds a strategies/ package (python -m puts the cwd first)
    listed = subprocess.run([sys.executable, "-m", "albench", "strategies"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "margin" in listed.stdout and "coreset" in listed.stdout
    assert "decoy" not in listed.stdout + listed.stderr


def test_pyproject_lists_every_albench_package():
    """setuptools cannot discover albench.strategies (mapped to another folder), so packages are listed:
    a new subpackage of albench/ must be added there or a wheel would miss it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.relative_to(ROOT).parent.parts) for p in (ROOT / "albench").rglob("__init__.py")}
    on_disk |= {"albench.templates", "albench.strategies"}
    assert set(config["packages"]) == on_disk
    assert config["package-dir"] == {"albench.strategies": "strategies"}
