"""One implementation per name, and the implementation recorded: ``albench.registry`` and the plug-in
loaders of ``albench.strategy``."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import albench.strategies.uncertainty as uncertainty_module
from albench.registry import DuplicateName, Registry
from albench.strategy import load_plugin_folder, registry

ROOT = Path(__file__).resolve().parents[1]

MARGIN_AGAIN = textwrap.dedent('''
    from albench.strategy import ScoreStrategy, register


    @register("margin", "another margin"{replaces})
    class OtherMargin(ScoreStrategy):
        def scores(self, state):
            return -state.proba_unlabelled().max(axis=1)
''')


@pytest.fixture
def restored():
    registry.names()
    entries, unavailable = dict(registry.entries), dict(registry.unavailable)
    yield
    registry.entries.clear()
    registry.entries.update(entries)
    registry.unavailable.clear()
    registry.unavailable.update(unavailable)


def test_a_second_registration_of_a_name_names_both_sources():
    reg = Registry("thing")
    reg.register("a", "first")(lambda: 1)

    def other():
        return 2

    with pytest.raises(DuplicateName, match=r"thing 'a' is registered twice: by test_registry and by "
                                            r"test_registry; .*replaces=True"):
        reg.register("a", "second")(other)
    assert reg.create("a") == 1  # the first one stays
    reg.register("a", "second", replaces=True)(other)
    assert reg.create("a") == 2


def test_the_same_definition_registered_again_is_not_a_duplicate():
    reg = Registry("thing")

    def make():
        return 1

    reg.register("a")(make)
    reg.register("a")(make)  # e.g. a module reloaded
    assert reg.names() == ["a"]


def test_a_plugin_that_reuses_a_builtin_name_is_an_error(restored, tmp_path):
    (tmp_path / "my_margin.py").write_text(MARGIN_AGAIN.format(replaces=""))
    with pytest.raises(DuplicateName) as err:
        load_plugin_folder(tmp_path)
    message = str(err.value)
    assert "strategy 'margin' is registered twice: by albench.strategies.uncertainty and by plug-in " in message
    assert str(tmp_path / "my_margin.py") in message
    assert registry.get("margin").source == "albench.strategies.uncertainty"  # unchanged


def test_a_plugin_may_replace_a_builtin_when_it_says_so(restored, tmp_path):
    (tmp_path / "my_margin.py").write_text(MARGIN_AGAIN.format(replaces=", replaces=True"))
    load_plugin_folder(tmp_path)
    entry = registry.get("margin")
    assert entry.description == "another margin" and entry.source == f"plug-in {tmp_path / 'my_margin.py'}"
    digest = hashlib.sha256((tmp_path / "my_margin.py").read_bytes()).hexdigest()[:12]
    assert entry.implementation == f"my_margin@{digest}"


def test_builtin_implementation_is_the_module_and_a_hash_of_its_source():
    digest = hashlib.sha256(Path(uncertainty_module.__file__).read_bytes()).hexdigest()[:12]
    assert registry.get("margin").implementation == f"albench.strategies.uncertainty@{digest}"
    assert registry.get("coreset").implementation.startswith("albench.strategies.coreset@")


def test_changed_plugin_source_changes_the_implementation(restored, tmp_path):
    impls = []
    for version in ("1", "2"):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        text = MARGIN_AGAIN.format(replaces=", replaces=True").replace("another margin", f"margin v{version}")
        (folder / "my_margin.py").write_text(text)
        load_plugin_folder(folder)
        impls.append(registry.get("margin").implementation)
    assert impls[0] != impls[1] and all(i.startswith("my_margin@") for i in impls)


def albench(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "albench", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "COLUMNS": "250", "PYTHONWARNINGS": "ignore", **env})


def test_a_duplicate_from_albench_plugins_is_reported_and_the_name_refused(tmp_path):
    (tmp_path / "my_margin.py").write_text(MARGIN_AGAIN.format(replaces=""))
    env = {"ALBENCH_PLUGINS": str(tmp_path)}
    listed = albench("strategies", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "strategy 'margin' is registered twice" in listed.stderr  # told at load
    assert "entropy" in listed.stdout  # the rest of the registry is intact
    checked = albench("check-strategy", "margin", env=env)
    assert checked.returncode == 2
    assert "strategy 'margin' is unavailable: strategy 'margin' is registered twice" in checked.stdout + checked.stderr


def test_entry_point_implementation_names_the_distribution(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "albench_impl_ext.py").write_text(MARGIN_AGAIN.format(replaces="").replace('"margin"', '"ext_margin"'))
    dist = site / "albench_impl_ext-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: albench-impl-ext\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[albench.strategies]\next = albench_impl_ext\n")
    code = "from albench.strategy import registry; e = registry.get('ext_margin'); print(e.implementation); print(e.source)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    digest = hashlib.sha256((site / "albench_impl_ext.py").read_bytes()).hexdigest()[:12]
    impl, source = out.stdout.splitlines()
    assert impl == f"albench_impl_ext@{digest} (albench-impl-ext 0.3)"
    assert source == "albench_impl_ext (entry point ext of albench-impl-ext 0.3)"


def test_an_identical_copy_of_a_plugin_file_is_not_a_duplicate(restored, tmp_path):
    """A plug-in folder copied elsewhere (as the executors do for workers) holds the same implementation."""
    text = MARGIN_AGAIN.format(replaces="").replace('"margin"', '"copied_margin"')
    for copy in ("a", "b"):
        (tmp_path / copy).mkdir()
        (tmp_path / copy / "mine.py").write_text(text)
        load_plugin_folder(tmp_path / copy)
    assert registry.get("copied_margin").implementation.startswith("mine@")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "mine.py").write_text(text.replace("-state", "+state"))  # changed code, same name
    with pytest.raises(DuplicateName, match="strategy 'copied_margin' is registered twice"):
        load_plugin_folder(tmp_path / "c")


def test_an_unknown_name_suggests_close_names_and_names_holding_it():
    """difflib finds misspellings; a short name held whole in a dotted name's last part is suggested too."""
    reg = Registry("strategy")
    for name in ("entropy", "vote_entropy", "alipy.qbc_kl", "skactiveml.qbc_vote_entropy", "margin"):
        reg.register(name)(lambda: None)
    assert "did you mean 'entropy', 'vote_entropy'?" in reg.unknown_message("entopy")
    assert "did you mean 'alipy.qbc_kl', 'skactiveml.qbc_vote_entropy'?" in reg.unknown_message("qbc")
    assert "did you mean" not in reg.unknown_message("x")  # one letter is held by too many names to help
