"""Active testing: label-efficient, unbiased estimates of a model's risk on a test pool.

A run of grid kind ``at`` trains the model under test, then labels ``budget``
(M) points of a test pool of N points one at a time, without replacement: at
step m a *proposal* gives a distribution q_m over the N - m + 1 unlabelled
points, kept away from 0 by a safeguard, and one point is drawn from it.
*Estimators* turn the labelled losses and their q into estimates of the pool
risk (the mean loss over all N points) after every step.

Kossen et al., "Active Testing: Sample-Efficient Model Evaluation" (ICML 2021);
Farquhar et al., "On Statistical Bias In Active Learning: How and When to Fix
It" (ICLR 2021); Kossen et al., "Active Surrogate Estimators: An Active
Learning Approach to Label-Efficient Model Evaluation" (NeurIPS 2022).

With a ``rival`` (another model under test, or a list of them) the same
draws also estimate every pairwise difference of their risks, and the model
with the smallest estimated risk is chosen after every label.

Modules, one job each:

- ``losses``: per-point losses and their expectation under a predictive distribution.
- ``proposals``: the proposal contract, its registry, the safeguard turning scores into q.
- ``sampling``: the sequential draw without replacement.
- ``estimators``: the estimator contract (a ``Trace`` in, an ``Estimate`` out) and registry.
- ``surrogates``: the surrogate model (the model itself, a learner, a bootstrap ensemble).
- ``selection``: several models on one acquisition: pairwise differences, the chosen model.
- ``runner``: ``run(spec) -> RunResult`` for the executor.
- ``report``: tables from stored runs, grouped by every varying hyperparameter (errors,
  coverage, labelling efficiency, model-selection accuracy, reliability warnings).

The estimators' mathematics (every prefix m, batch axes, standard errors,
intervals, the anytime-valid confidence sequence) is the finite-population
library ``albench.finite_population``, shared with active benchmarking.
The implementations live with the other plug-ins: ``strategies/at_proposals.py``
and ``strategies/at_estimators.py``.
"""
