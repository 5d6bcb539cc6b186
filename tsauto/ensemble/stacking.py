"""Stacking: a meta-model (ElasticNet for forecasts) over the base models' out-of-fold forecasts.

The meta-model is validated across folds: for each fold it is fitted on the other folds'
out-of-fold forecasts and scored on this fold, so it is never fitted on predictions it is
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
    coefficients it is a weighted sum, so series of any scale share it."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # near-collinear members: a converged-enough fit is fine
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _meta(seed).fit(predictions.T, actual)


def cross_fitted(predictions: np.ndarray, actual: np.ndarray, folds: np.ndarray, seed: int = 0
                 ) -> np.ndarray:
    """Out-of-fold meta predictions: each fold's rows predicted by a meta-model fitted on the
    other folds.  With a single fold there is nothing to hold out, so NaN is returned."""
    out = np.full(actual.shape, np.nan)
    for fold in np.unique(folds):
        test = folds == fold
        if test.all():
            return out
        model = fit_stacker(predictions[:, ~test], actual[~test], seed)
        out[test] = model.predict(predictions[:, test].T)
    return out
