"""Malformed grid files and misused commands: each one line on stderr, exit status 2, nothing run or written.

One row of ``CASES`` is one case: the grid file's content (text or bytes), the
exact message after ``error: `` (``{path}`` is the grid file, ``{tmp}`` the
test's folder) and the exit status; ``args`` is the command, ``grid show``
unless given (``{out}``: a fresh results folder). Add a row to add a case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from albench.cli import app
from albench.grid_file import MAX_BYTES, MAX_DEPTH, MAX_NODES

GOOD = "name: ok\nkind: al\nparams: {dataset: iris, learner: gnb, strategy: random, budget: 2}\n"


def _with(extra: str) -> str:
    """The good grid with ``extra`` lines appended at top level."""
    return GOOD + extra


def _laughs(levels: int, where: str) -> str:
    """A billion-laughs file: 9 ** levels strings from a few hundred bytes, in ``description`` or data-set params."""
    anchors = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    anchors += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    bomb = "{" + ", ".join(anchors) + "}"
    if where == "description":
        return GOOD + f"description: {bomb}\n"
    return f"name: ok\nkind: al\nparams: {{dataset: {{name: iris, laughs: {bomb}}}, learner: gnb, strategy: random}}\n"


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes
    message: str
    code: int = 2
    args: tuple[str, ...] = ("grid", "show", "{path}")


UTF8 = "save it as UTF-8"
CASES = [
    # reading the file: size, encoding
    Case("missing-file", b"", "{tmp}/nowhere.yaml: cannot read grid file: No such file or directory",
         args=("grid", "show", "{tmp}/nowhere.yaml")),
    Case("a-folder", b"", "{tmp}: cannot read grid file: Is a directory", args=("grid", "show", "{tmp}")),
    Case("too-large", GOOD + "description: " + "x" * MAX_BYTES + "\n",
         f"{{path}}: grid file larger than {MAX_BYTES // 1024} KiB; a grid file lists values, "
         "use {{range: [start, stop]}} for long integer axes"),
    Case("utf-16-le-bom", GOOD.encode("utf-16"),
         f"{{path}}: not a UTF-8 text file (UTF-16 or binary: it holds NUL bytes); {UTF8}"),
    Case("utf-16-be-bom", b"\xfe\xff" + GOOD.encode("utf-16-be"),
         f"{{path}}: not a UTF-8 text file (UTF-16 or binary: it holds NUL bytes); {UTF8}"),
    Case("utf-16-no-bom", GOOD.encode("utf-16-le"),
         f"{{path}}: not a UTF-8 text file (UTF-16 or binary: it holds NUL bytes); {UTF8}"),
    Case("latin-1", _with("description: caf\u00e9\n").encode("latin-1"),
         f"{{path}}: not a UTF-8 text file (byte 0xe9 at offset {len(GOOD) + 16}); {UTF8}"),
    Case("binary", b"\x89PNG\r\n\x1a\n\x00\x00", f"{{path}}: not a UTF-8 text file (UTF-16 or binary: it holds "
                                                f"NUL bytes); {UTF8}"),
    Case("not-utf8-lone-continuation", b"name: \x80\n", f"{{path}}: not a UTF-8 text file (byte 0x80 at offset 6); "
                                                         f"{UTF8}"),
    # hostile structure: aliases, nesting, tags
    Case("billion-laughs-in-description", _laughs(9, "description"),
         f"{{path}}: more than {MAX_NODES:,} values once its aliases (*name) are expanded; "
         "a grid file that large is a mistake or an alias bomb"),
    Case("billion-laughs-in-dataset-params", _laughs(9, "params"),
         f"{{path}}: more than {MAX_NODES:,} values once its aliases (*name) are expanded; "
         "a grid file that large is a mistake or an alias bomb"),
    Case("brackets-100000-deep", "[" * 100_000 + "]" * 100_000,
         f"{{path}}: nested deeper than {MAX_DEPTH} levels (line 1); a grid is a few levels of mappings and lists"),
    Case("mappings-60-deep", _with("description: " + "{a: " * 60 + "1" + "}" * 60 + "\n"),
         f"{{path}}: nested deeper than {MAX_DEPTH} levels (line 4); a grid is a few levels of mappings and lists"),
    Case("deep-only-once-aliases-expand",
         "x0: &x0 " + "[" * 30 + "1" + "]" * 30 + "\nx1: &x1 " + "[" * 30 + "*x0" + "]" * 30 + "\n" + GOOD,
         f"{{path}}: nested deeper than {MAX_DEPTH} levels once its aliases (*name) are expanded"),
    Case("recursive-alias", _with("description: &loop [1, *loop]\n"),
         "{path}: an alias (*name) refers to a mapping or list that contains it"),
    Case("python-tag", _with("description: !!python/object/apply:os.system ['echo pwned']\n"),
         "{path}: malformed YAML (line 4, column 14): could not determine a constructor for the tag "
         "'tag:yaml.org,2002:python/object/apply:os.system'"),
    Case("unknown-alias", _with("description: *nothing\n"),
         "{path}: malformed YAML (line 4, column 14): found undefined alias 'nothing'"),
    Case("unclosed-bracket", "name: ok\nparams: [1, 2\n",
         "{path}: malformed YAML (line 3, column 1): expected ',' or ']', but got '<stream end>'"),
    Case("tab-indent", "name: ok\nparams:\n\t- 1\n",
         "{path}: malformed YAML (line 3, column 1): found character '\\t' that cannot start any token"),
    # duplicate keys
    Case("duplicate-top-level-key", GOOD + "name: other\n",
         "{path}: key 'name' given twice in one mapping (lines 1 and 4); give it once"),
    Case("duplicate-hyperparameter", "name: ok\nkind: al\nparams:\n  dataset: iris\n  learner: gnb\n"
                                     "  strategy: random\n  budget: 2\n  budget: 5\n",
         "{path}: key 'budget' given twice in one mapping (lines 7 and 8); give it once"),
    Case("duplicate-component-parameter", "name: ok\nkind: al\nparams: {dataset: iris, learner: "
                                          "{name: rf, n_estimators: 5, n_estimators: 50}, strategy: random}\n",
         "{path}: key 'n_estimators' given twice in one mapping (lines 3 and 3); give it once"),
    Case("duplicate-numeric-keys", _with("description: {1: a, 1.0: b}\n"),
         "{path}: key 1.0 given twice in one mapping (lines 4 and 4); give it once"),
    # values the results columns cannot hold
    Case("seed-10-to-the-20", "name: ok\nkind: al\nparams: {dataset: iris, learner: gnb, strategy: random, "
                              "seed: 100000000000000000000}\n",
         f"{{path}}: params.seed: bad value 100000000000000000000: Input should be less than or equal to {2**63 - 1}"),
    Case("budget-10-to-the-30", "name: ok\nkind: al\nparams: {dataset: iris, learner: gnb, strategy: random, "
                                "budget: [2, 1000000000000000000000000000000]}\n",
         f"{{path}}: params.budget: bad value 1000000000000000000000000000000: Input should be less than or equal "
         f"to {2**63 - 1}"),
    # the grid's content: keys, names, values, components and their parameters, excludes (albench.spec)
    Case('unknown-top-level-key', GOOD + 'parms: {}\n',
         "{path}: unknown top-level key 'parms'; did you mean 'params'? allowed: description, exclude, kind, name, params, plugins, timeout_s"),
    Case('missing-params', 'name: ok\nkind: al\n',
         "{path}: missing key 'params'"),
    Case('unknown-kind', 'name: ok\nkind: active\nparams: {dataset: iris}\n',
         "{path}: kind: unknown kind 'active'; allowed: al, at"),
    Case('name-dot-dot', GOOD.replace('name: ok', 'name: ..'),
         "{path}: name: '..' is not a usable grid name (1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit)"),
    Case('name-dot', GOOD.replace('name: ok', "name: '.'"),
         "{path}: name: '.' is not a usable grid name (1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit)"),
    Case('name-with-nul', GOOD.replace('name: ok', 'name: "a\\0b"'),
         "{path}: name: 'a\\x00b' is not a usable grid name (1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit)"),
    Case('name-300-chars', GOOD.replace('name: ok', 'name: ' + 'n' * 300),
         "{path}: name: '" + "n" * 300 + "' is not a usable grid name (1 to 100 letters, digits, '.', '_' or '-', "
         "starting with a letter or digit)"),
    Case('name-with-slash', GOOD.replace('name: ok', 'name: a/b'),
         "{path}: name: 'a/b' is not a usable grid name (1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit)"),
    Case('plugins-a-number', _with('plugins: 5\n'),
         '{path}: plugins: expected a folder or a list of folders, got 5'),
    Case('plugins-folder-missing', _with('plugins: [nowhere]\n'),
         '{path}: plugins: plug-in folder not found: {tmp}/nowhere'),
    Case('timeout-s-nan', _with('timeout_s: .nan\n'),
         '{path}: timeout_s: nan must be a positive, finite number of seconds'),
    Case('timeout-s-inf', _with('timeout_s: .inf\n'),
         '{path}: timeout_s: inf must be a positive, finite number of seconds'),
    Case('timeout-s-true', _with('timeout_s: true\n'),
         '{path}: timeout_s: True must be a positive, finite number of seconds'),
    Case('timeout-s-negative', _with('timeout_s: -5\n'),
         '{path}: timeout_s: -5 must be a positive, finite number of seconds'),
    Case('range-step-0', GOOD.replace('budget: 2', 'budget: 2, seed: {range: [0, 5, 0]}'),
         '{path}: params.seed: range [0, 5, 0] has step 0'),
    Case('range-of-floats', GOOD.replace('budget: 2', 'budget: 2, seed: {range: [0, 2.5]}'),
         "{path}: params.seed: {{range: ...}} takes [start, stop] or [start, stop, step] of integers, got {{'range': [0, 2.5]}}"),
    Case('range-empty', GOOD.replace('budget: 2', 'budget: 2, seed: {range: [3, 3]}'),
         '{path}: params.seed: range [3, 3] is empty'),
    Case('range-too-long', GOOD.replace('budget: 2', 'budget: 2, seed: {range: [0, 1000000000]}'),
         '{path}: params.seed: range [0, 1000000000] gives 1,000,000,000 values; at most 1,000,000 per axis'),
    Case('unknown-hyperparameter', GOOD.replace('budget: 2', 'budgett: 2'),
         "{path}: params.budgett: unknown hyperparameter for kind 'al'; did you mean 'budget'? allowed: dataset, learner, strategy, batch_size, initial_size, start_point, split, test_fraction, budget, seed"),
    Case('unknown-dataset', GOOD.replace('dataset: iris', 'dataset: irs'),
         "{path}: params.dataset: bad value 'irs': unknown dataset 'irs'; did you mean 'iris', 'mnist'? allowed: blobs, breast_cancer, cifar10, cifar100, classification, digits, fashion_mnist, file, iris, mnist, moons, openml, wine"),
    Case('strategy-unknown-parameter', GOOD.replace('strategy: random', 'strategy: {name: margin, bata: 2}'),
         "{path}: params.strategy: bad value {{'name': 'margin', 'bata': 2}}: unknown parameter 'bata' for strategy 'margin'; accepted: (none)"),
    Case('learner-parameter-typo', GOOD.replace('learner: gnb', 'learner: {name: rf, n_estimatorz: 5}'),
         "{path}: params.learner: bad value {{'name': 'rf', 'n_estimatorz': 5}}: unknown parameter 'n_estimatorz' for learner 'rf'; did you mean 'n_estimators'? accepted: n_estimators, criterion, max_depth, min_samples_split, min_samples_leaf, min_weight_fraction_leaf, max_features, max_leaf_nodes, min_impurity_decrease, bootstrap, oob_score, n_jobs, random_state, verbose, warm_start, class_weight, ccp_alpha, max_samples, monotonic_cst"),
    Case('learner-parameter-bad-value', GOOD.replace('learner: gnb', 'learner: {name: logreg, C: -1}'),
         "{path}: params.learner: bad value {{'name': 'logreg', 'C': -1}}: learner 'logreg': The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]. Got -1 instead."),
    Case('strategy-parameter-wrong-type', GOOD.replace('strategy: random', 'strategy: {name: bald, n_samples: many}'),
         "{path}: params.strategy: bad value {{'name': 'bald', 'n_samples': 'many'}}: strategy 'bald': parameter 'n_samples' = 'many': input should be a valid integer"),
    Case('learner-not-a-classifier', GOOD.replace('learner: gnb', 'learner: sklearn.linear_model.LinearRegression'),
         "{path}: params.learner: bad value 'sklearn.linear_model.LinearRegression': learner 'sklearn.linear_model.LinearRegression' is not a scikit-learn classifier class"),
    Case('learner-from-the-standard-library', GOOD.replace('learner: gnb', 'learner: this.Zen'),
         "{path}: params.learner: bad value 'this.Zen': learner 'this.Zen' is not a classifier class: 'this' is a standard-library module"),
    Case('learner-needs-arguments', GOOD.replace('learner: gnb', 'learner: sklearn.multiclass.OneVsRestClassifier'),
         "{path}: params.learner: bad value 'sklearn.multiclass.OneVsRestClassifier': learner 'sklearn.multiclass.OneVsRestClassifier': missing required parameter 'estimator'"),
    Case('exclude-removes-every-run', _with('exclude: [{strategy: random}]\n'),
         '{path}: exclude: the rules remove every run of the grid'),
    Case('exclude-matches-nothing', _with('exclude: [{learner: knn}]\n'),
         "{path}: exclude[0].learner: 'knn' matches no value of the grid; its values: gnb"),
    Case('exclude-unknown-key', _with('exclude: [{strat: random}]\n'),
         "{path}: exclude[0].strat: not a hyperparameter; did you mean 'strategy'? allowed: dataset, learner, strategy, batch_size, initial_size, start_point, split, test_fraction, budget, seed"),
    Case('file-dataset-missing', GOOD.replace('dataset: iris', 'dataset: {name: file, path: nowhere.csv, target: y}'),
         "{path}: params.dataset: bad value {{'name': 'file', 'path': 'nowhere.csv', 'target': 'y'}}: dataset 'file': data file not found: nowhere.csv"),
    Case('batch-size-zero', GOOD.replace('budget: 2', 'budget: 2, batch_size: 0'),
         '{path}: params.batch_size: bad value 0: Input should be greater than 0'),
    Case('test-fraction-above-one', GOOD.replace('budget: 2', 'budget: 2, test_fraction: 1.5'),
         '{path}: params.test_fraction: bad value 1.5: Input should be less than 1'),
    Case('empty-axis', GOOD.replace('strategy: random', 'strategy: []'),
         '{path}: params.strategy: an empty list gives no runs'),
    Case('at-rival-missing', 'name: ok\nkind: at\nparams: {dataset: iris, model: gnb, proposal: [uniform, loss_difference]}\n',
         "{path}: params.proposal: 'loss_difference' needs a rival model, but params.rival is null in some of its "
         "runs; set params.rival or exclude {{proposal: loss_difference, rival: null}}"),
    Case('at-rival-list-twice', 'name: ok\nkind: at\nparams: {dataset: iris, model: gnb, rival: [[logreg, logreg]]}\n',
         "{path}: params.rival: bad value ['logreg', 'logreg']: the rival models must differ: 'logreg' is listed "
         "twice with the same parameters"),
    Case('at-estimator-axis', 'name: ok\nkind: at\nparams: {dataset: iris, model: gnb, estimator: [pure, lure]}\n',
         "{path}: params.estimator: not a hyperparameter of kind 'at': every run records every estimator (one "
         "<estimator>_* column each, listed by `albench strategies`)"),
    Case('at-rival-list-empty', 'name: ok\nkind: at\nparams: {dataset: iris, model: gnb, rival: [[]]}\n',
         "{path}: params.rival: bad value []: an empty list of rival models; give one learner or a list of two or "
         "more"),
    Case('params-not-a-mapping', 'name: ok\nkind: al\nparams: [iris]\n',
         '{path}: params: expected a mapping of hyperparameter -> value(s)'),
    # misused `grid run` options (checked before any run)
    Case("timeout-nan", GOOD, "--timeout: nan must be a positive, finite number of seconds",
         args=("grid", "run", "{path}", "--timeout", "nan", "--out", "{out}")),
    Case("timeout-inf", GOOD, "--timeout: inf must be a positive, finite number of seconds",
         args=("grid", "run", "{path}", "--timeout", "inf", "--out", "{out}")),
    Case("timeout-minus-inf", GOOD, "--timeout: -inf must be a positive, finite number of seconds",
         args=("grid", "run", "{path}", "--timeout", "-inf", "--out", "{out}")),
    Case("timeout-zero", GOOD, "--timeout: 0 must be a positive, finite number of seconds",
         args=("grid", "run", "{path}", "--timeout", "0", "--out", "{out}")),
    Case("scheduler-words", GOOD, "--scheduler: 'not an address' is not a Dask scheduler address; expected "
                                  "[tcp|tls|ws|wss|ucx://]host[:port], e.g. tcp://10.0.0.5:8786",
         args=("grid", "run", "{path}", "--scheduler", "not an address", "--out", "{out}")),
    Case("scheduler-http", GOOD, "--scheduler: 'http://10.0.0.5:8786' is not a Dask scheduler address; expected "
                                 "[tcp|tls|ws|wss|ucx://]host[:port], e.g. tcp://10.0.0.5:8786",
         args=("grid", "run", "{path}", "--scheduler", "http://10.0.0.5:8786", "--out", "{out}")),
    Case("scheduler-port-too-large", GOOD, "--scheduler: 'tcp://10.0.0.5:99999' is not a Dask scheduler address; "
                                           "expected [tcp|tls|ws|wss|ucx://]host[:port], e.g. tcp://10.0.0.5:8786",
         args=("grid", "run", "{path}", "--scheduler", "tcp://10.0.0.5:99999", "--out", "{out}")),
    Case("scheduler-empty-host", GOOD, "--scheduler: 'tcp://' is not a Dask scheduler address; expected "
                                       "[tcp|tls|ws|wss|ucx://]host[:port], e.g. tcp://10.0.0.5:8786",
         args=("grid", "run", "{path}", "--scheduler", "tcp://", "--out", "{out}")),
    Case("workers-and-scheduler", GOOD, "give either --workers (a new local cluster) or --scheduler (an existing "
                                        "one), not both",
         args=("grid", "run", "{path}", "--workers", "2", "--scheduler", "tcp://10.0.0.5:8786")),
    Case("out-is-a-file", GOOD, "--out: {path}: cannot write results there: a file of that name is in the way "
                                "(a results folder is a directory)",
         args=("grid", "run", "{path}", "--out", "{path}")),
    Case("out-below-a-file", GOOD, "--out: {path}/results: cannot write results there: a file of that name is in "
                                   "the way (a results folder is a directory)",
         args=("grid", "run", "{path}", "--out", "{path}/results")),
    Case("out-in-proc", GOOD, "--out: /proc/albench-results: cannot write results there: No such file or directory",
         args=("grid", "run", "{path}", "--out", "/proc/albench-results")),
    Case("out-name-too-long", GOOD, "--out: {tmp}/" + "r" * 300 + ": cannot write results there: File name too long",
         args=("grid", "run", "{path}", "--out", "{tmp}/" + "r" * 300)),
    Case("fsck-not-a-results-folder", GOOD, "{tmp}: not a results folder (no runs/ in it)", args=("fsck", "{tmp}")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_malformed_grid_or_misused_command_is_one_line_and_exit_2(case, tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    fill = {"path": str(path), "tmp": str(tmp_path), "out": str(tmp_path / "out")}
    result = CliRunner().invoke(app, [a.format(**fill) for a in case.args])
    assert result.exit_code == case.code, result.output
    assert result.output == f"error: {case.message.format(**fill)}\n"
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_table_has_one_row_per_id():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(GOOD)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = CliRunner().invoke(app, ["grid", "run", str(path), "--out", str(locked / "out")])
    assert result.exit_code == 2
    assert result.output == f"error: --out: {locked / 'out'}: cannot write results there: Permission denied\n"


def test_merge_keys_may_override_and_a_good_grid_still_reads(tmp_path):
    from albench.grid_file import read_grid_document

    path = tmp_path / "grid.yaml"
    path.write_text("base: &b {budget: 2, seed: 0}\n" + "x: {<<: *b, budget: 3}\n")
    assert read_grid_document(str(path)) == {"base": {"budget": 2, "seed": 0}, "x": {"budget": 3, "seed": 0}}
    path.write_text(GOOD)
    assert CliRunner().invoke(app, ["grid", "show", str(path)]).exit_code == 0


def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path):
    import time

    from albench.spec import GridError, load_grid

    path = tmp_path / "grid.yaml"
    path.write_text(_laughs(9, "description"))
    assert path.stat().st_size < 1200  # a 1 KB file...
    t0 = time.process_time()
    with pytest.raises(GridError, match="alias bomb"):
        load_grid(Path(path))
    assert time.process_time() - t0 < 1.0  # ...that would expand to 9 ** 9 strings


def test_writable_folder_refuses_a_file_in_the_way_in_one_line(tmp_path, capsys):
    import typer

    from albench.cli.common import writable_folder

    assert writable_folder(tmp_path / "new" / "report", "--out") == tmp_path / "new" / "report"
    assert (tmp_path / "new" / "report").is_dir() and not list((tmp_path / "new" / "report").iterdir())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(typer.Exit) as info:
        writable_folder(blocker, "--out")
    assert info.value.exit_code == 2
    assert capsys.readouterr().err == (f"error: --out: {blocker}: cannot write there: a file of that name is in "
                                       f"the way (it must be a folder)\n")
