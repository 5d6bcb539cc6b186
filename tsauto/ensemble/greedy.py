"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold forecasts.

Start from up to ``init_size`` of the best single models that score within ``init_tolerance``
of the best, then repeatedly add (with replacement) the model that most improves the blend's
validation score, until none does.  Weights are the selection counts; the same weights blend the
point forecast and every quantile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def greedy_selection(predictions: np.ndarray, score: Callable[[np.ndarray], float],
                     init_size: int = 5, init_tolerance: float = 0.05, max_rounds: int = 50
                     ) -> np.ndarray:
    """Weights (summing to 1) over the models in ``predictions`` (models x rows), chosen to
    minimise ``score`` (lower is better) of the weighted mean."""
    n_models = predictions.shape[0]
    singles = np.array([score(p) for p in predictions])
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
        trials = [score((blend_sum + predictions[i]) / total) for i in range(n_models)]
        pick = int(np.nanargmin(trials))
        if not trials[pick] < current:
            break
        counts[pick] += 1
        blend_sum = blend_sum + predictions[pick]
        current = trials[pick]
    return counts / counts.sum()
