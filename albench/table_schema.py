"""The storage schema: every documented column of ``runs`` and ``curves``, typed, per grid kind.

Each part file a grid writes holds all of these columns, typed, even when a
column is empty in every row of its batch (a folder with no failure still has
``error``, so ``WHERE error IS NULL`` works). Columns not declared here (a
strategy's extra metric, an estimator added by a plug-in) are stored with the
type pyarrow infers. The store applies a schema it is given and knows nothing
of AL; this module is where the kinds' columns are written down (their
hyperparameters read off each kind's params model), next to the README's
"Results" and "Active testing" sections that document them.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import pyarrow as pa

TEXT, INT, FLOAT = pa.string(), pa.int64(), pa.float64()
TIME = pa.timestamp("us", tz="UTC")

# columns of every runs row, whatever its kind (albench.execute writes them)
COMMON_RUNS = {
    "run_id": TEXT, "grid": TEXT, "kind": TEXT, "status": TEXT, "error": TEXT, "error_traceback": TEXT,
    "total_s": FLOAT, "started_at": TIME, "finished_at": TIME,
    **{f"{lib}_version": TEXT for lib in ("python", "albench", "numpy", "scikit_learn", "pandas",
                                           "modal_python", "torch")},
}

_AL_METRICS = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
_AL_SUMMARIES = ("auc", "final", "auc_no_start", "first5", "last5")  # of each metric's learning curve
_PHASES = ("fit", "query", "eval")

def _leaf_types(annotation: Any) -> set:
    """The plain types an annotation allows (Annotated, Optional, Union and Literal unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return {type(v) for v in typing.get_args(annotation)}
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaf_types(a) for a in typing.get_args(annotation)))
    return {annotation}


def hyperparameter_columns(kind: str) -> dict[str, pa.DataType]:
    """A kind's hyperparameter columns, read off its params model as ``RunSpec.columns`` flattens them.

    A component is its name and ``<key>_params`` (JSON text); a value that may
    be a word (``initial_size``: a number or ``per_class``) is text; otherwise
    the column is float, integer or boolean as the annotation says.
    """
    from albench.kinds import KINDS, Component

    out: dict[str, pa.DataType] = {}
    for key, info in KINDS[kind].params.model_fields.items():
        leaves = _leaf_types(info.annotation) - {type(None)}
        if Component in leaves:
            out[key], out[f"{key}_params"] = TEXT, TEXT
        elif str in leaves:
            out[key] = TEXT
        elif float in leaves:
            out[key] = FLOAT
        elif bool in leaves:
            out[key] = pa.bool_()
        elif int in leaves:
            out[key] = INT
    return out


RESULTS = {
    "al": {**{f"{s}_{m}": FLOAT for s in _AL_SUMMARIES for m in _AL_METRICS},
           **{name: INT for name in ("n_queries", "n_labelled_start", "n_labelled_final", "n_pool", "n_test",
                                     "n_classes", "n_features")},
           **{f"{phase}_s": FLOAT for phase in ("prepare", *_PHASES)}, **{f"{p}_cpu_s": FLOAT for p in _PHASES}},
    "at": {"true_risk": FLOAT, "pool_loss_variance": FLOAT,
           **{name: INT for name in ("n_labelled", "n_pool", "n_train", "n_classes", "n_surrogate_fits")},
           **{name: FLOAT for name in ("model_pool_accuracy", "min_q", "model_fit_s", "surrogate_fit_s",
                                       "acquire_s", "step_s", "estimate_s", "cs_low", "cs_high")},
           "drawn": pa.list_(INT),  # the draws in order, so that every estimate can be recomputed
           **{name: pa.list_(FLOAT) for name in ("drawn_q", "drawn_loss", "drawn_rival_loss")},
           # several models under test (``albench.active_testing.selection``); curve columns are inferred
           **{name: FLOAT for name in ("rival_true_risk", "true_difference", "difference_cs_low",
                                       "difference_cs_high")},
           "models": pa.list_(TEXT), "pairs": pa.list_(TEXT), "model_true_risks": pa.list_(FLOAT),
           "pair_true_difference": pa.list_(FLOAT), "drawn_rivals_losses": pa.list_(pa.list_(FLOAT))},
}

CURVES = {
    "al": {"run_id": TEXT, "cycle": INT, "n_labelled": INT, **{m: FLOAT for m in _AL_METRICS},
           **{f"{p}_s": FLOAT for p in _PHASES}, **{f"{p}_cpu_s": FLOAT for p in _PHASES}, "queried": pa.list_(INT),
           "n_tied": INT},
    "at": {"run_id": TEXT, "m": INT, "estimator": TEXT, "estimate": FLOAT, "true_risk": FLOAT,
           "squared_error": FLOAT, "q": FLOAT, "weight": FLOAT, "observed_loss": FLOAT, "cs_low": FLOAT,
           "cs_high": FLOAT},
}


def _schema(columns: dict[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in columns.items()])


def run_metrics(kind: str) -> list[str]:
    """The float columns of a kind's runs rows (its summary metrics and times), in declared order."""
    return [name for name, kind_type in {**COMMON_RUNS, **RESULTS.get(kind, {})}.items() if kind_type == FLOAT]


def schemas_for(kind: str) -> dict[str, pa.Schema]:
    """The declared ``runs`` and ``curves`` schemas of a grid kind (empty for a kind not listed here)."""
    if kind not in RESULTS:
        return {}
    from albench.kinds import KINDS

    impl = {f"{key}_impl": TEXT for key in KINDS[kind].components}  # which code made each component
    runs = {**dict(list(COMMON_RUNS.items())[:3]), **hyperparameter_columns(kind), **impl, **COMMON_RUNS,
            **RESULTS[kind]}
    return {"runs": _schema(runs), "curves": _schema(CURVES[kind])}

