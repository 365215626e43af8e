"""Active benchmarking: the full grid's leaderboard from a fraction of its runs, unbiased, with intervals.

A grid is a finite population of blocks (``population``: one setting of
everything except the method; all methods of a sampled block are run).
Rounds (``rounds``) draw blocks by stratified sampling with a surrogate-guided
allocation (``design``, ``surrogate``), record which round chose each run and
with what probability (``records``: the ``design/`` table), and estimate each
method's mean over the whole grid, the leaderboard and the pairwise
differences with intervals (``estimate``; the result and its tables:
``full_grid``), using the shared finite-population estimators
(``albench.finite_population``). Exclude rules may drop methods from some
blocks, and sampled runs may fail: both are handled there. ``sampler`` runs
the rounds on a results folder with albench's executors; ``is_budgeted(root)``
and ``estimate_folder(root, metric)`` are the hooks for ``albench analyze``,
and ``report_section`` is the section ``albench report`` adds.
"""

from albench.active_bench.sampler import estimate_folder, is_budgeted

__all__ = ["estimate_folder", "is_budgeted"]
