"""``albench analyze``, ``report`` and ``export`` on real results of small AL and active-testing grids."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.image import imread

import albench.results
from albench.analysis import plots, tables
from albench.analysis.export import budgets, method_colours, save_figure, static_figures
from albench.analysis.palette import colours
from albench.analysis.report import fingerprint, write_report
from albench.analysis.summary import analyze
from albench.execute import run_grid
from albench.provenance import provenance, version
from albench.spec import grid_from_dict
from albench.store import Store
from conftest import invoke

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RANKED_LABEL = re.compile(r"^\([0-9.e+-]+\) (.+)$|^(.+) \([0-9.e+-]+\)$")  # "(2.5) name" or "name (2.5)"
EMBEDDED = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
AL_FIGURES = {"leaderboard", "critical_difference", "learning_curves", "influence", "minimal_design"}
AT_FIGURES = {"leaderboard", "critical_difference", "squared_error_vs_m", "influence", "minimal_design"}


def quick_grid_shrunk() -> dict:
    """grids/quick.yaml with every axis kept but fewer values and a short budget."""
    doc = yaml.safe_load((Path(__file__).parents[1] / "grids" / "quick.yaml").read_text())
    doc["params"].update(dataset=["iris", "wine"], learner=["logreg", "gnb"], budget=3, seed={"range": [0, 2]})
    return doc


AT_GRID = {"name": "at-small", "kind": "at", "params": {
    "dataset": "iris", "model": "logreg", "train_size": 30, "loss": ["cross_entropy", "zero_one"],
    "proposal": ["uniform", "surrogate_loss"], "budget": 12, "seed": {"range": [0, 3]}}}


@pytest.fixture(scope="module")
def al_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("al") / "quick"
    summary = run_grid(grid_from_dict(quick_grid_shrunk()), Store(root))
    assert summary.failed == 0
    return root


@pytest.fixture(scope="module")
def at_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("at") / "at-small"
    run_grid(grid_from_dict(AT_GRID), Store(root))
    return root


@pytest.fixture(scope="module")
def al_analysis(al_results):
    res = albench.results.open(al_results)
    return analyze(res.runs, res.curves, n_resamples=50), res


def check_figure_files(files: dict[str, Path]) -> None:
    """PNG decodes, SVG parses as SVG, PDF has its header and trailer."""
    assert set(files) == {"png", "svg", "pdf"}
    png = imread(files["png"])
    assert png.shape[0] > 100 and png.shape[1] > 100
    assert ET.parse(files["svg"]).getroot().tag.endswith("svg")
    pdf = files["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]


def test_al_report_from_the_quick_grid(al_results, tmp_path):
    out = invoke("report", al_results, "--out", tmp_path / "rep", "--resamples", 100, "--json")
    assert out.exit_code == 0, out.output
    paths = json.loads(out.output)
    html = Path(paths["html"]).read_text()
    stems = {Path(p).stem for p in paths["plots"]}
    assert AL_FIGURES <= stems and all(Path(p).read_bytes().startswith(PNG_SIGNATURE) for p in paths["plots"])
    for stem in stems:
        check_figure_files({fmt: tmp_path / "rep" / "plots" / f"{stem}.{fmt}" for fmt in ("png", "svg", "pdf")})
        assert f'href="plots/{stem}.svg"' in html and f'href="plots/{stem}.pdf"' in html
    for strategy in ("random", "least_confident", "margin", "entropy"):
        assert strategy in html
    # interactive and offline: plotly.js inside the page, no script or style fetched from anywhere
    assert not re.search(r"<script[^>]*\ssrc=|<link\s|<img[^>]*\ssrc=\"http", html)
    assert "Plotly.newPlot" in html and 'id="learning-curves"' in html and 'class="sortable"' in html
    for name in ("leaderboard", "influence", "minimal_design"):
        assert (tmp_path / "rep" / "tables" / f"{name}.tex").is_file()
        assert (tmp_path / "rep" / "tables" / f"{name}.md").is_file()
    prov = json.loads((tmp_path / "rep" / "provenance.json").read_text())
    assert prov["albench_version"] == version("albench") and prov["libraries"]["numpy"] == np.__version__
    assert prov["grid_sha256"] is None and "grid SHA-256" in html and "not known" in html


def test_static_report_embeds_the_png_files(at_results, tmp_path):
    report = write_report(albench.results.open(at_results), tmp_path / "rep", n_resamples=20,
                          interactive_page=False)
    html = report.html.read_text()
    assert "<script" not in html
    embedded = [base64.b64decode(data) for data in EMBEDDED.findall(html)]
    assert AT_FIGURES <= {p.stem for p in report.plots}
    assert embedded == [p.read_bytes() for p in report.plots]  # the page holds the same images, in order
    frame = report.analysis.frame
    estimators = set(frame.runs["estimator"])
    assert {"iid", "lure", "pure"} <= estimators
    assert set(report.analysis.comparison.table["method"]) == {
        f"{p} / {e}" for p in ("uniform", "surrogate_loss") for e in estimators}
    assert frame.kind == "at" and "Friedman" in html
    # the table `grid run` ends with, on the page and as LaTeX and Markdown: the same numbers
    from albench.active_testing.report import final_errors

    expected = final_errors(albench.results.open(at_results).runs)
    assert 'id="final-errors"' in html and "Error of the final estimate" in html
    markdown = (tmp_path / "rep" / "tables" / "final_errors.md").read_text().splitlines()
    assert len(markdown) == 2 + len(expected) and (tmp_path / "rep" / "tables" / "final_errors.tex").is_file()
    assert markdown[0].startswith("| " + " | ".join(expected.columns[:3]))
    assert f"{expected['mse'].iloc[0]:.4g}" in markdown[2]


def test_report_defaults_to_a_folder_inside_the_results_and_is_not_redrawn_unchanged(al_results):
    parts = Store(al_results).parts("runs")
    out = invoke("report", al_results, "--resamples", 50)
    assert out.exit_code == 0, out.output
    html = al_results / "report" / "report.html"
    assert html.is_file()
    assert Store(al_results).parts("runs") == parts  # the report is not mistaken for results
    written = html.stat().st_mtime_ns
    again = invoke("report", al_results, "--resamples", 50)
    assert again.exit_code == 0 and again.output == out.output and html.stat().st_mtime_ns == written
    res = albench.results.open(al_results)
    options = {"metric": None, "kind": None, "n_resamples": 50, "interactive": True, "grid_file": None}
    stamp = fingerprint(res, **options)
    assert fingerprint(res, **{**options, "n_resamples": 100}) != stamp  # other options: drawn again
    part = next((al_results / "runs").glob("*.parquet"))
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 1_000_000))  # a part file rewritten
    assert fingerprint(res, **options) != stamp


def test_influence_table_on_the_page_keeps_its_sort_column_in_front(al_analysis, tmp_path):
    analysis, res = al_analysis
    page = tables.to_html(analysis.influence[[c for c in analysis.influence if not c.endswith("_units")]],
                          ("hyperparameter", "influence_rank", "values"))
    header = re.findall(r"<th[^>]*>([^<]+)</th>", page)
    assert header[:3] == ["hyperparameter", "influence_rank", "values"]
    assert not any(h.endswith(("_low", "_high")) for h in header)  # intervals sit inside their estimate's cell
    assert "[" in page  # ... as "value [low, high]"


def test_one_colour_per_method_in_every_figure(al_analysis):
    analysis, res = al_analysis
    expected = method_colours(analysis)
    figures = {f.name: f.figure for f in static_figures(analysis, res.runs, res.curves)}
    bars = figures["leaderboard"].axes[0].patches
    names = analysis.comparison.table[analysis.comparison.method].astype(str).tolist()
    assert [to_hex(b.get_facecolor()) for b in bars] == [expected[n] for n in names]
    curves = {line.get_label(): to_hex(line.get_color()) for ax in figures["learning_curves"].axes
              for line in ax.get_lines()}
    assert {n: curves[n] for n in names} == {n: expected[n] for n in names}
    cd_labels = {next(g for g in m.groups() if g): to_hex(t.get_color())
                 for t in figures["critical_difference"].axes[0].texts if (m := RANKED_LABEL.match(t.get_text()))}
    assert cd_labels == {n: expected[n] for n in names}


def test_figure_files_are_the_same_bytes_for_the_same_rows(al_analysis, tmp_path):
    analysis, res = al_analysis
    written = []
    for attempt in ("first", "second"):  # drawn afresh each time, as by two report runs
        figure, _ = plots.learning_curves(analysis.frame, res.curves, analysis.metric)
        written.append(save_figure(figure, tmp_path / attempt, "learning_curves", ("svg", "pdf")))
    for fmt in ("svg", "pdf"):  # no date and no random element ids inside
        assert written[0][fmt].read_bytes() == written[1][fmt].read_bytes()


def test_palette_is_deterministic_and_distinct():
    methods = [f"m{i}" for i in range(40)]
    assert colours(methods) == colours(list(methods))
    for n in (3, 12, 40):
        assert len(set(colours(methods[:n]).values())) == n
    assert colours(["a", "b"]) == {"a": "#1f77b4", "b": "#ff7f0e"}  # matplotlib's tab10, in order


def test_cd_diagram_ties_never_overlap_and_the_axis_ends_at_the_last_rank(at_results):
    res = albench.results.open(at_results)
    analysis = analyze(res.runs, res.curves, n_resamples=20)
    ranks = analysis.comparison.table["mean_rank"]
    assert ranks.duplicated().any()  # the case that used to overlap
    fig = plots.cd_diagram(analysis.comparison)
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    k = len(ranks)
    methods = set(analysis.comparison.table[analysis.frame.method].astype(str))
    labels = [t for t in ax.texts if (m := RANKED_LABEL.match(t.get_text()))
              and (m.group(1) or m.group(2)) in methods]  # not the "CD = ... (longer than the axis)" note
    assert len(labels) == k
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i in range(k):
        for j in range(i + 1, k):
            assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())
    page = fig.bbox
    for box in boxes:  # inside the figure: no label is cut
        assert box.x0 >= page.x0 and box.x1 <= page.x1 and box.y0 >= page.y0 and box.y1 <= page.y1
    ticks = sorted(int(t.get_text()) for t in ax.texts if t.get_text().isdigit())
    assert ticks == list(range(1, k + 1))
    axis_line = ax.get_lines()[0]
    assert list(axis_line.get_xdata()) == [1, k]


def test_nemenyi_cliques_by_hand():
    ranks = pd.Series({"a": 1.0, "b": 1.5, "c": 3.0, "d": 3.5})
    p = pd.DataFrame(1.0, index=ranks.index, columns=ranks.index)
    for x, y in (("a", "c"), ("a", "d"), ("b", "d")):
        p.loc[x, y] = p.loc[y, x] = 0.01
    # a~b, b~c, c~d: runs [a, b], [b, c], [c, d]; a-c and b-d separate
    assert plots.nemenyi_cliques(ranks, p, 0.05) == [["a", "b"], ["b", "c"], ["c", "d"]]
    p.loc["b", "d"] = p.loc["d", "b"] = 0.5
    assert plots.nemenyi_cliques(ranks, p, 0.05) == [["a", "b"], ["b", "c", "d"]]


def test_influence_figure_stays_within_zero_and_one():
    influence = pd.DataFrame({"hyperparameter": ["x", "y"], "fanova": [0.7, 0.3], "ped_anova": [0.5, 0.5],
                              "kendall_tau": [-1.0, 0.5], "kendall_tau_low": [-1.0, -0.2],
                              "kendall_tau_high": [-0.6, 0.9], "pearson_r": [-0.5, 1.0], "jaccard": [0.2, np.nan]})
    scores = plots.influence_scores(influence)
    values, err = scores["kendall_tau"]
    assert values.tolist() == pytest.approx([1.0, 0.25])  # (1 - tau) / 2
    assert (values - err[0]).tolist() == pytest.approx([0.8, 0.05]) and (values + err[1]).tolist() == pytest.approx(
        [1.0, 0.6])
    assert scores["pearson_r"][0].tolist() == pytest.approx([0.75, 0.0])
    fig = plots.influence_bars(influence)
    assert fig.axes[0].get_xlim() == (0, 1)
    assert max(p.get_width() for p in fig.axes[0].patches) <= 1


def test_at_error_curves_legend_is_outside_the_panels(at_results):
    from albench.active_testing.report import errors_by_budget

    res = albench.results.open(at_results)
    fig = plots.at_error_curves(errors_by_budget(res.runs, res.curves, budgets(res.curves)))
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    assert box.y0 >= fig.bbox.y0 and box.x0 >= fig.bbox.x0 and box.x1 <= fig.bbox.x1
    for ax in fig.axes:
        if ax.get_visible():
            assert not box.overlaps(ax.get_window_extent(renderer))
            title = ax.title.get_window_extent(renderer)
            assert title.x0 >= fig.bbox.x0 and title.x1 <= fig.bbox.x1


def test_numbers_use_significant_digits_and_intervals_share_a_cell():
    assert tables.number(1.234567e-5) == "1.235e-05" and tables.number(0.78398) == "0.784"
    assert tables.number(float("nan")) == "-" and tables.number(None) == "-" and tables.number(3) == "3"
    df = pd.DataFrame({"name": ["a_b", "c|d"], "x": [0.5, np.nan], "x_low": [0.25, np.nan], "x_high": [0.75, 1.0]})
    shown = tables.display(df)
    assert shown.columns.tolist() == ["name", "x"] and shown["x"].tolist() == ["0.5 [0.25, 0.75]", "-"]
    md = tables.to_markdown(df).splitlines()
    assert md[0] == "| name | x |" and md[1] == "| :--- | ---: |" and md[3] == "| c\\|d | - |"
    tex = tables.to_latex(df, caption="50% of it")
    assert r"a\_b & 0.5 [0.25, 0.75] \\" in tex and r"\caption{50\% of it}" in tex and r"\begin{tabular}{lr}" in tex


def test_export_command_writes_figures_and_tables(al_results, tmp_path):
    out = invoke("export", al_results, "--out", tmp_path / "paper", "--resamples", 50, "--no-png", "--json")
    assert out.exit_code == 0, out.output
    written = json.loads(out.output)
    assert AL_FIGURES <= set(written["figures"])
    for formats in written["figures"].values():
        assert set(formats) == {"svg", "pdf"}
    md = Path(written["tables"]["leaderboard"]["md"]).read_text().splitlines()
    assert len(md) == 2 + 4 and md[0].startswith("| strategy |")
    nothing = invoke("export", al_results, "--no-latex", "--no-markdown", "--no-pdf", "--no-svg", "--no-png")
    assert nothing.exit_code == 2 and "nothing to export" in nothing.output


def test_provenance_hashes_the_grid_file_and_names_the_command(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("name: x\nkind: al\nparams: {dataset: iris}\n")
    prov = provenance(results_root=tmp_path, argv=["/usr/bin/albench", "report", "results/x y"])
    assert prov["grid_sha256"] == hashlib.sha256(grid.read_bytes()).hexdigest()
    assert prov["command"] == "albench report 'results/x y'"
    assert provenance(argv=["/venv/lib/python3.11/site-packages/pytest/__main__.py", "-q"])["command"] == (
        "python -m pytest -q")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", prov["date_utc"])
    assert prov["machine"]["cpus"] >= 1 and prov["libraries"]["pandas"] == pd.__version__
    json.dumps(prov)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        provenance(grid_file=tmp_path / "missing.yaml")


def test_version_option_prints_the_installed_version():
    out = invoke("--version")
    assert out.exit_code == 0 and out.output.strip() == f"albench {version('albench')}"


def test_analyze_json_matches_the_printed_tables(al_results):
    out = invoke("analyze", al_results, "--json", "--resamples", 100)
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["kind"] == "al" and data["metric"] == "auc_accuracy" and data["ok_runs"] == 64
    board = data["leaderboard"]
    assert {row["strategy"] for row in board} == {"random", "least_confident", "margin", "entropy"}
    assert [row["mean_rank"] for row in board] == sorted(row["mean_rank"] for row in board)
    assert sum(row["mean_rank"] for row in board) == pytest.approx(1 + 2 + 3 + 4)
    assert {row["hyperparameter"] for row in data["influence"]} == set(data["hyperparameters"]) == {
        "dataset", "learner", "strategy", "batch_size", "seed"}
    assert {row["factor"] for row in data["design"]["minimal"]} == {"dataset", "seed"}
    text = invoke("analyze", al_results, "--metric", "auc_macro_f1", "--resamples", 100)
    assert text.exit_code == 0, text.output
    assert "leaderboard" in text.output and "minimal study design" in text.output and "Friedman" in text.output


def test_analyze_unknown_metric_is_a_clean_error(al_results):
    out = invoke("analyze", al_results, "--metric", "auc_nope")
    assert out.exit_code == 2
    assert "unknown metric 'auc_nope'" in out.output and "auc_accuracy" in out.output
    assert "Traceback" not in out.output
    misspelt = invoke("analyze", al_results, "--metric", "auc_acuracy")
    assert "unknown metric 'auc_acuracy' for kind 'al'; did you mean 'auc_accuracy'? available: " in misspelt.output


def test_results_without_successful_runs_are_a_clean_error(tmp_path):
    Store(tmp_path).write([{"run_id": "a", "kind": "al", "status": "error", "dataset": "iris", "strategy": "x",
                            "error": "ValueError: boom"}], [])
    for command in ("analyze", "report", "export"):
        out = invoke(command, tmp_path)
        assert out.exit_code == 2
        assert out.output.strip() == "error: no successful runs to analyse (1 error)"


def test_a_heatmap_of_many_values_shows_the_most_compared_ones_at_a_bounded_size():
    from albench.analysis.export import MAX_HEATMAP_VALUES, pairwise_caption, shown_values

    n = 3 * MAX_HEATMAP_VALUES
    values = np.full((n, n), np.nan)
    np.fill_diagonal(values, 1.0)
    rng = np.random.default_rng(0)
    compared = rng.choice(n, size=MAX_HEATMAP_VALUES, replace=False)  # these take part in many pairs
    for a in compared:
        for b in rng.choice(n, size=20, replace=False):
            if a != b:
                values[a, b] = values[b, a] = rng.uniform(-1, 1)
    labels = pd.Index([f"d{i}" for i in range(n)], name="value")
    matrix = pd.DataFrame(values, index=labels, columns=labels)
    shown = shown_values(matrix)
    counts = np.isfinite(values).sum(axis=1) - 1
    expected = np.sort(np.argsort(-counts, kind="stable")[:MAX_HEATMAP_VALUES])
    assert list(shown.index) == [f"d{i}" for i in expected] == list(shown.columns)
    assert counts[expected].min() >= np.sort(counts)[-MAX_HEATMAP_VALUES]  # no value left out was compared more
    pd.testing.assert_frame_equal(shown, matrix.iloc[expected, expected], check_flags=False)
    assert shown.attrs["values_total"] == n and f"{MAX_HEATMAP_VALUES} of {n} values" in pairwise_caption("x", shown)
    small = matrix.iloc[:5, :5]
    assert shown_values(small) is small and "Shown" not in pairwise_caption("x", small)
    fig = plots.pairwise_heatmap("dataset", shown)
    width, height = fig.get_size_inches()
    assert width < 25 and height < 20  # the full 90 values would draw 56 x 46 inches


def test_a_heatmap_of_long_values_leaves_room_for_its_labels():
    """Two values with a long label (a rival list as a component): the matrix must keep its size (it shrank
    to 0.6 inch, and with a longer label matplotlib's constrained layout gave up with a warning)."""
    import io
    import warnings

    from albench.analysis import plots

    for long in ("gnb+rf(n_estimators=30)", "gnb+rf(n_estimators=30)+knn(n_neighbors=15)"):
        labels = pd.Index(["-", long], name="rival")
        fig = plots.pairwise_heatmap("rival", pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=labels, columns=labels))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig.savefig(io.BytesIO(), format="png", dpi=150)
        box, (width, height) = fig.axes[0].get_position(), fig.get_size_inches()
        assert box.width * width >= 1.0 and box.height * height >= 1.0, long  # inches, for two cells
