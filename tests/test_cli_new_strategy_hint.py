"""The hint after ``albench new-strategy`` names commands that exist where it runs (e.g. ``make run``'s venv)."""

from __future__ import annotations

import sysconfig

from typer.testing import CliRunner

from albench.cli import app
from albench.cli.common import command_here


def _environment(tmp_path, monkeypatch, commands):
    """A fake environment: its scripts folder holds ``commands``; PATH finds none of them."""
    scripts = tmp_path / "venv" / "bin"
    scripts.mkdir(parents=True)
    for name in commands:
        (scripts / name).write_text("#!/bin/sh\n")
        (scripts / name).chmod(0o755)
    real = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda key, *a, **k: str(scripts) if key == "scripts" else real(key))
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path)
    for folder in ("mine", "mytests"):
        (tmp_path / folder).mkdir()
    return scripts


def test_a_venv_that_is_not_activated_and_has_no_pytest(tmp_path, monkeypatch):
    _environment(tmp_path, monkeypatch, ["albench", "python", "pip"])
    result = CliRunner().invoke(app, ["new-strategy", "zz_hint", "--dir", "mine", "--tests", "mytests"])
    assert result.exit_code == 0, result.output
    plugins = f"ALBENCH_PLUGINS={tmp_path / 'mine'}"
    assert f"`{plugins} venv/bin/albench check-strategy zz_hint`" in result.output
    assert "pytest, to run mytests/test_strategy_zz_hint.py, is not installed here: `venv/bin/pip install pytest`" \
        in result.output


def test_commands_on_path_are_named_plainly(tmp_path, monkeypatch):
    scripts = _environment(tmp_path, monkeypatch, ["albench", "pytest"])
    monkeypatch.setenv("PATH", str(scripts))
    assert command_here("albench") == "albench"
    assert command_here("pytest") == "pytest"
    assert command_here("pip") is None
    result = CliRunner().invoke(app, ["new-strategy", "zz_hint", "--dir", "mine", "--tests", "mytests"])
    assert result.exit_code == 0, result.output
    assert "albench check-strategy zz_hint` and `ALBENCH_PLUGINS=" in result.output
    assert " pytest mytests/test_strategy_zz_hint.py`" in result.output
