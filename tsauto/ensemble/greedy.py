"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold forecasts.

Start from up to ``init_size`` of the best single models that score within ``init_tolerance``
of the best, then repeatedly add (with replacement) the model that most improves the blend's
validation score, until none does.  Weights are the selection counts; the same weights blend the
point forecast and every quantile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tsauto.errors import DataError


def greedy_selection(predictions: np.ndarray, score: Callable[[np.ndarray], float],
                     init_size: int = 5, init_tolerance: float = 0.05, max_rounds: int = 50
                     ) -> np.ndarray:
    """Weights (summing to 1) over the models in ``predictions`` (models x rows), chosen to
    minimise ``score`` (lower is better) of the weighted mean."""
    n_models = predictions.shape[0]
    singles = np.array([score(p) for p in predictions])
    if not np.isfinite(singles).any():
        raise DataError("every candidate's validation score is NaN on the rows the weights "
                        "would be chosen on, so there is nothing to choose weights by")
    order = np.argsort(singles, kind="stable")
    best = singles[order[0]]
    tolerance = abs(best) * init_tolerance
    counts = np.zeros(n_models, dtype=np.int64)
    for i in order[:init_size]:
        if singles[i] <= best + tolerance:
            counts[i] += 1
    blend_sum = (counts[:, None] * predictions).sum(axis=0)
    current = score(blend_sum / counts.sum())
    for _ in range(max_rounds):
        total = counts.sum() + 1
        trials = np.array([score((blend_sum + predictions[i]) / total) for i in range(n_models)])
        if np.isnan(trials).all():  # no addition can be scored: keep the blend so far
            break
        pick = int(np.nanargmin(trials))
        if not trials[pick] < current:
            break
        counts[pick] += 1
        blend_sum = blend_sum + predictions[pick]
        current = trials[pick]
    return counts / counts.sum()


def shrunk_to_equal(weights: np.ndarray, predictions: np.ndarray, actual: np.ndarray,
                    groups: np.ndarray) -> np.ndarray:
    """``weights``, or equal weights over the models they chose when the learned weights do not
    beat those by more than one standard error (the one-standard-error rule): the mean over
    ``groups`` (series) of the difference in absolute error, each group's relative to its mean
    absolute actual value.  Few validation series make the standard error wide, so learned
    weights must earn their place; equal weights cannot overfit."""
    chosen = weights > 0
    if chosen.sum() < 2:
        return weights
    equal = chosen / chosen.sum()
    diff = (np.abs(actual - weights @ predictions) - np.abs(actual - equal @ predictions))
    codes, groups = np.unique(groups, return_inverse=True)
    count = np.bincount(groups, minlength=len(codes))
    scale = np.bincount(groups, weights=np.abs(actual), minlength=len(codes)) / count
    per_group = np.bincount(groups, weights=diff, minlength=len(codes)) / count
    per_group = per_group[scale > 0] / scale[scale > 0]
    if len(per_group) < 2:
        return equal
    se = per_group.std(ddof=1) / np.sqrt(len(per_group))
    return weights if per_group.mean() < -se else equal


def cross_fitted_voting(predictions: np.ndarray, fold_ids: np.ndarray,
                        scorer_for: Callable[[object], Callable[[np.ndarray], float]],
                        blend_inputs: np.ndarray | None = None,
                        shrink: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy weights over ``predictions`` (models x rows) chosen on every fold, and the blend
    of ``blend_inputs`` (models x rows x ..., default the predictions) whose rows of each fold
    use weights chosen on the other folds only: an honest validation forecast of the ensemble.
    ``scorer_for(fold)`` scores every fold but the one given (``None``: every fold).
    ``shrink(weights, rows)``, if given, revises weights chosen on ``rows`` (a mask), e.g.
    ``shrunk_to_equal``."""
    blend_inputs = predictions if blend_inputs is None else blend_inputs
    shrink = shrink or (lambda weights, rows: weights)
    weights = shrink(greedy_selection(predictions, scorer_for(None)),
                     np.ones(predictions.shape[1], dtype=bool))
    blend = np.tensordot(weights, blend_inputs, axes=1)
    folds = np.unique(fold_ids)
    for fold in folds if len(folds) > 1 else []:
        rows = fold_ids == fold
        try:
            fold_weights = shrink(greedy_selection(predictions, scorer_for(fold)), ~rows)
        except DataError:
            # The other folds cannot score any candidate (MAPE where all their series are
            # zero): nothing to choose by there, so this fold is blended with equal weights
            fold_weights = np.full(len(predictions), 1.0 / len(predictions))
        blend[rows] = np.tensordot(fold_weights, blend_inputs[:, rows], axes=1)
    return weights, blend
