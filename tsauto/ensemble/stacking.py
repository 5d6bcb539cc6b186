"""Stacking: a meta-model over the base models' out-of-fold predictions.

Forecasts are stacked by a convex combination (``convex_weights``): non-negative weights that
sum to one, fitted by least squares.  Tabular predictions are stacked by a non-negative
ElasticNet (``fit_stacker``), whose coefficients need not sum to one.

The meta-model is validated across folds: for each fold it is fitted on the other folds'
out-of-fold predictions and scored on this fold, so it is never fitted on predictions it is
scored on.  The final meta-model is fitted on all folds.
"""

from __future__ import annotations

import warnings

import numpy as np


def _meta(seed: int):
    # scikit-learn is imported here, not with the module: a forecasting trial's worker imports
    # its task's module, which ensembles, and most learners never need scikit-learn.
    from sklearn.linear_model import ElasticNetCV

    # Non-negative weights keep the blend interpretable and stop wild extrapolation.
    # 20 penalties per path (not 100): the fit runs once per fold and again in full, inside
    # the time budget, and a finer grid does not change the blend.
    return ElasticNetCV(l1_ratio=[0.1, 0.5, 0.9, 1.0], alphas=20, positive=True, cv=3,
                        random_state=seed, fit_intercept=False, max_iter=5000)


def fit_stacker(predictions: np.ndarray, actual: np.ndarray, seed: int = 0):
    """Meta-model over models x rows predictions; without an intercept and with non-negative
    coefficients it is a weighted sum, so rows of any scale share it."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # near-collinear members: a converged-enough fit is fine
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _meta(seed).fit(predictions.T, actual)


def convex_weights(predictions: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """The least-squares weights of models x rows predictions, non-negative and summing to one.

    Why not a free weighted sum for forecasts: on a few validation windows of trending series
    (yearly GDP) the members under-forecast the growth, and free weights learn to inflate
    every forecast (they summed to 1.05-1.08), a level bias that then costs on every series.
    """
    from scipy.optimize import nnls

    # Scaled to unit size (the solution is unchanged) so that the sum-to-one constraint, one
    # heavily weighted extra row, holds to ~1e-6 at any level of the data.
    size = float(np.sqrt(np.mean(actual ** 2))) or 1.0
    n_models, n_rows = predictions.shape
    penalty = 1e3 * np.sqrt(n_rows)
    design = np.vstack([predictions.T / size, np.full(n_models, penalty)])
    weights, _ = nnls(design, np.append(actual / size, penalty), maxiter=50 * n_models)
    weights[weights < 1e-6] = 0.0  # the constraint's slack, not a member's share
    return weights / weights.sum()


def cross_fitted(predictions: np.ndarray, actual: np.ndarray, folds: np.ndarray, seed: int = 0,
                 convex: bool = False) -> np.ndarray:
    """Out-of-fold meta predictions: each fold's rows predicted by a meta-model (``convex``:
    ``convex_weights``, else ``fit_stacker``) fitted on the other folds.  With a single fold
    there is nothing to hold out, so NaN is returned."""
    out = np.full(actual.shape, np.nan)
    for fold in np.unique(folds):
        test = folds == fold
        if test.all():
            return out
        weights = (convex_weights(predictions[:, ~test], actual[~test]) if convex
                   else fit_stacker(predictions[:, ~test], actual[~test], seed).coef_)
        out[test] = weights @ predictions[:, test]
    return out
