"""The ensemble trials' shared pieces: which trials may join an ensemble, and which trials are
ensembles.  Each task builds its own ensemble trials (``tsauto.tasks``) from the arithmetic in
``tsauto.ensemble``."""

from __future__ import annotations

import numpy as np

from tsauto.evaluation.metrics import METRICS
from tsauto.search.trial import TrialResult

MAX_MEMBERS = 20
# The forecasting task's equal-weight mean of the statistical family (tsauto.tasks.forecasting)
COMBINATION = "statistical_combination"


def ensemble_candidates(trials: list[TrialResult], metric: str) -> list[TrialResult]:
    """The best completed trials with out-of-fold predictions, best first (at most
    ``MAX_MEMBERS``)."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    return sorted([t for t in trials if t.status == "completed" and t.oof is not None
                   and np.isfinite(t.metrics.get(metric, np.nan))],
                  key=lambda t: sign * t.metrics[metric])[:MAX_MEMBERS]


def ensemble_params(ranked: list[TrialResult], weights: np.ndarray) -> dict:
    """An ensemble trial's parameters: its members (those with a positive weight) and their
    weights."""
    keep = weights > 0
    return {"members": [ranked[i].trial_id for i in np.flatnonzero(keep)],
            "weights": [round(float(w), 6) for w in weights[keep]]}


def is_ensemble(trial: TrialResult) -> bool:
    return trial.learner in ("voting_ensemble", "stack_ensemble", COMBINATION)
