"""``print_frame`` fits an 80-column terminal: no header, number or strategy name is cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console

from albench.cli.common import print_frame

NAMES = ["skactiveml.uncertainty_margin(method=margin_sampling)", "modal.uncertainty_sampling",
         "badge(embedding=penultimate_layer)", "random"]


def _wide_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    columns = ["mean_auc_accuracy", "mean_rank", "ci95_low", "ci95_high", "p_vs_best", "runs", "failures",
               "normalized_auc_accuracy", "wins_against_random", "median_final_accuracy"]
    df = pd.DataFrame({"strategy": NAMES, **{c: rng.random(len(NAMES)) for c in columns}})
    df["runs"] = [120, 120, 118, 120]
    df["ci95_low"] = [1.25e-5, 0.5, 0.25, 0.125]  # small numbers keep their significant digits
    df["note"] = ["one implementation of the margin, as in scikit-activeml's own documentation"] * len(NAMES)
    return df


def _render(df: pd.DataFrame, width: int = 80) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    print_frame(df, title="leaderboard: strategy by mean rank within 4 blocks (dataset)", out=console)
    return console.export_text()


def test_a_wide_table_with_long_names_fits_80_columns_with_every_header_name_and_number_whole():
    df = _wide_table()
    text = _render(df)
    assert max(len(line) for line in text.splitlines()) <= 80
    for header in df.columns:
        assert header in text, header
    for i, name in enumerate(NAMES):  # too wide for two parts: transposed, after a key naming every row
        assert f"#{i + 1}  {name}" in text, name
    assert "1.25e-05" in text and "118" in text
    for word in "one implementation of the margin, as in scikit-activeml's own documentation".split():
        assert word in text  # prose wraps between words


def test_a_table_a_little_too_wide_is_printed_in_two_parts_each_with_the_method_column():
    df = _wide_table().drop(columns="note").assign(strategy=["margin", "entropy", "badge", "random"])
    df = df[["strategy", *df.columns[1:8]]]
    df.insert(0, "rank", [1, 2, 3, 4])  # the leading columns reach up to the method: rank, strategy
    text = _render(df)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "part 1 of 2" in text and "part 2 of 2" in text
    for header in df.columns:
        assert header in text, header
    assert text.count("strategy") == 3  # the title and each part's header
    for name in df["strategy"]:
        assert text.count(name) == 2, name
    assert text.count("rank") == 2 + 2 * text.count("mean_rank")  # "rank" leads each part too


def test_a_table_that_fits_is_one_table():
    df = _wide_table()[["strategy", "runs", "failures"]]
    text = _render(df)
    assert "part" not in text and "#1" not in text and text.count("┏") == 1
    assert all(name in text for name in NAMES)
    assert _render(_wide_table(), width=400).count("┏") == 1


def test_many_rows_too_wide_for_two_parts_are_printed_one_record_a_row():
    """A transposed table of many rows would need many parts; each row is then one wrapped record."""
    rng = np.random.default_rng(1)
    n = 30
    df = pd.DataFrame({"dataset": ["breast_cancer"] * n, "proposal": ["loss_difference"] * n,
                       "rival": ["gnb+rf(n_estimators=30)"] * n, "estimator": [f"estimator_{i}" for i in range(n)],
                       "runs": list(range(n)), **{f"mse_{k}": rng.random(n) / 7 for k in "abcdefghij"}})
    df.loc[3, "mse_b"] = 1.25e-5
    text = _render(df)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80 and "part" not in text and "┏" not in text
    records = "\n".join(lines[1:]).split("\n#")
    assert len(records) == n
    for i, record in enumerate(records):
        words = " ".join(record.split()).split(" ")
        assert words[0].lstrip("#") == str(i + 1) and words[1] == "breast_cancer"
        expected = ["proposal=loss_difference", "rival=gnb+rf(n_estimators=30)", f"estimator=estimator_{i}",
                    f"runs={i}", *(f"mse_{k}={df[f'mse_{k}'][i]:.4g}" for k in "abcdefghij")]
        assert words[2:] == expected
    assert "mse_b=1.25e-05" in text
    assert "#1  breast_cancer  proposal=loss_difference" in text  # the key first, then the row's cells
