"""One estimator library for every finite-population question albench asks.

The test points of a pool (active testing: ``strategies/at_estimators.py``
wraps these functions for the ``at`` kind) and the blocks of a grid (active
benchmarking: ``albench.active_bench``) are both finite populations sampled
with known probabilities; the same functions, with the same tests, serve
both. Every function is a plain function of arrays.

- ``sequential``: one unit at a time without replacement from a proposal that
  may depend on the history: LURE's weights, Des Raj's terms (PURE and the
  difference estimators), their martingale variance, every estimator's value
  after every prefix m = 1..M over leading batch axes.
- ``stratified``: rounds of stratified simple random sampling, the
  difference estimator of a total with K quantities per unit and its
  covariance, and the fixed-weight combination of rounds.
- ``intervals``: normal and Student-t intervals (t with Satterthwaite's degrees of freedom for
  stratified rounds), contrast variances.
- ``confidence_sequence``: an anytime-valid confidence sequence for values in
  [0, 1] (valid under optional stopping), on Des Raj's per-step estimates,
  and for the mean difference of two such values on the same draws.

Everything is re-exported here: ``from albench import finite_population as fp``.
"""

from albench.finite_population.confidence_sequence import betting_confidence_sequence, difference_confidence_sequence
from albench.finite_population.intervals import (contrast_variances, interval, normal_interval, student_interval,
                                                 t_quantile)
from albench.finite_population.sequential import (Estimate, des_raj_terms, difference_lure, difference_pure,
                                                  effective_sample_size, importance_ratios, importance_sampling,
                                                  lure, lure_weights, martingale_covariance, martingale_variance,
                                                  pure, sample_mean, surrogate_estimate)
from albench.finite_population.stratified import (TotalEstimate, combine_rounds, round_weights, satterthwaite_df,
                                                  stratified_difference_total)

__all__ = ["Estimate", "TotalEstimate", "betting_confidence_sequence", "combine_rounds", "contrast_variances",
           "difference_confidence_sequence",
           "des_raj_terms", "difference_lure", "difference_pure", "effective_sample_size", "importance_ratios",
           "importance_sampling", "interval", "lure", "lure_weights", "martingale_covariance", "martingale_variance",
           "normal_interval", "pure", "round_weights", "sample_mean", "satterthwaite_df", "stratified_difference_total",
           "student_interval", "surrogate_estimate", "t_quantile"]
