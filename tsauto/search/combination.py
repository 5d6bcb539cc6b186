"""The statistical combination: the equal-weight mean of the statistical family's forecasts
(AutoETS, AutoARIMA, AutoTheta, AutoCES; those the search ran), a candidate the search always
scores when two or more of them completed.

It is what a practitioner writes in five lines, and the forecasting competitions' lesson is
that it is hard to beat: fixed equal weights cannot overfit a few validation windows the way
learned weights or a single lucky model can.  It needs no fitting, so its validation forecast
(the mean of its members' out-of-fold forecasts) is honest as it stands; it joins the
leaderboard as an ensemble trial and is refitted like one (each member on all the data).
"""

from __future__ import annotations

import numpy as np

from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.evaluation.metrics import METRICS
from tsauto.search.context import ForecastContext
from tsauto.search.trial import TrialResult, build_ensembles

STATISTICAL_FAMILY = ("auto_ets", "auto_arima", "auto_theta", "auto_ces")
COMBINATION = "statistical_combination"


def family_members(trials: list[TrialResult], metric: str) -> list[TrialResult]:
    """The best completed trial of each statistical learner (with out-of-fold forecasts and a
    score), in ``STATISTICAL_FAMILY`` order."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    best: dict[str, TrialResult] = {}
    for t in trials:
        if (t.learner in STATISTICAL_FAMILY and t.status == "completed" and t.oof is not None
                and np.isfinite(t.metrics.get(metric, np.nan))
                and (t.learner not in best
                     or sign * t.metrics[metric] < sign * best[t.learner].metrics[metric])):
            best[t.learner] = t
    return [best[name] for name in STATISTICAL_FAMILY if name in best]


def combination_trials(trials: list[TrialResult], folds: list, context: ForecastContext,
                       metric: str, next_id: int, *, target: str, time_column: str
                       ) -> list[TrialResult]:
    """The statistical combination as an ensemble trial (none when fewer than two members)."""
    from tsauto.search.ensembles import _aligned, _trial

    members = family_members(trials, metric)
    if len(members) < 2:
        return []
    columns = [POINT, *[quantile_column(q) for q in context.quantiles]]
    keys, stack = _aligned(members, time_column, columns)
    actual = keys.pop("actual").to_numpy(dtype="float64")
    weights = np.full(len(members), 1.0 / len(members))

    def combine(trial_id: int) -> TrialResult:
        return _trial(trial_id, COMBINATION, members, weights, stack.mean(axis=0), keys, actual,
                      folds, context, target, columns)

    return build_ensembles(members, next_id, len(keys), [(COMBINATION, combine, True)])
