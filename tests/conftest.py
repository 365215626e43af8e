"""Shared fixtures: small grids that run in seconds."""

from __future__ import annotations

import pytest
import yaml


def small_al_grid(**overrides) -> dict:
    """A grid document of a few fast AL runs on iris."""
    params = {
        "dataset": "iris",
        "learner": "logreg",
        "strategy": ["random", "margin"],
        "batch_size": 5,
        "budget": 3,
        "seed": {"range": [0, 2]},
    }
    params.update(overrides.pop("params", {}))
    return {"name": "small", "kind": "al", "params": params, **overrides}


def invoke(*args):
    """``albench ARGS`` in this process (typer's CliRunner), each argument as a string."""
    from typer.testing import CliRunner

    from albench.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def write_grid(tmp_path):
    """Write a grid document (dict or raw text) to a YAML file and return its path."""

    def write(doc, name: str = "grid.yaml"):
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
        return path

    return write
