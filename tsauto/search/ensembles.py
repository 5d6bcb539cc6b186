"""The ensemble trials: voting (greedy selection) and stacking over the search's out-of-fold
forecasts.  They join the leaderboard as its last trials and win only on validation score.

Both are scored honestly: each fold's blend uses weights chosen on the other folds only, so an
ensemble that merely fits the validation windows (a few short series are easy to overfit) does
not beat the single models on paper.  The weights it ships with are chosen on all folds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.ensemble import cross_fitted, cross_fitted_voting, fit_stacker, shrunk_to_equal
from tsauto.evaluation.metrics import METRICS, Scoring, evaluate
from tsauto.evaluation.splits import Fold
from tsauto.search.combination import COMBINATION, combination_trials
from tsauto.search.context import ForecastContext
from tsauto.search.trial import TrialResult, build_ensembles, mean_metrics

MAX_MEMBERS = 20


def ensemble_candidates(trials: list[TrialResult], metric: str) -> list[TrialResult]:
    """The best completed trials with out-of-fold predictions, best first (at most
    ``MAX_MEMBERS``)."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    return sorted([t for t in trials if t.status == "completed" and t.oof is not None
                   and np.isfinite(t.metrics.get(metric, np.nan))],
                  key=lambda t: sign * t.metrics[metric])[:MAX_MEMBERS]


def _aligned(trials: list[TrialResult], time_column: str, columns: list[str]):
    """Out-of-fold rows shared by every trial, as (keys frame, models x rows x columns array)."""
    keys = ["fold", SERIES_ID, time_column]
    base = trials[0].oof[keys + ["actual"]]
    frames = []
    for t in trials:
        frame = base[keys].merge(t.oof[keys + columns], on=keys, how="left")
        frames.append(frame[columns].to_numpy(dtype="float64"))
    stack = np.stack(frames)                            # models x rows x columns
    complete = ~np.isnan(stack).any(axis=(0, 2))
    return base[complete].reset_index(drop=True), stack[:, complete, :]


def _fold_scorer(keys: pd.DataFrame, actual: np.ndarray, folds: list[Fold], metric: str,
                 season_length: int, target: str, within: np.ndarray | None = None):
    """score(point forecasts) -> the metric averaged over folds, lower is better, on the rows
    in ``within`` (default: all).  Each fold's scales are computed once: the greedy loop calls
    this thousands of times and only the forecasts change."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    value = METRICS[metric].value
    fold_ids = keys["fold"].to_numpy()
    parts = []
    for fold in folds:
        rows = fold_ids == fold.index
        if within is not None:
            rows &= within
        if not rows.any():
            continue
        point = pd.DataFrame({POINT: np.zeros(int(rows.sum()))})
        parts.append((rows, Scoring.of(actual[rows], point, keys.loc[rows, SERIES_ID],
                                       fold.train.frame, target, season_length)))

    def scorer(yhat: np.ndarray) -> float:
        return sign * float(np.mean([value(s.with_forecast(yhat[rows])) for rows, s in parts]))

    return scorer


def ensemble_trials(trials: list[TrialResult], folds: list[Fold], context: ForecastContext, metric: str,
                    next_id: int, voting: bool = True, stacking: bool = True, *, target: str,
                    time_column: str) -> list[TrialResult]:
    """Voting and stacking trials built from the best completed trials (at least two)."""
    ranked = ensemble_candidates(trials, metric)
    if len(ranked) < 2:
        return []
    quantiles = list(context.quantiles)
    columns = [POINT, *[quantile_column(q) for q in quantiles]]
    keys, stack = _aligned(ranked, time_column, columns)
    actual = keys.pop("actual").to_numpy(dtype="float64")
    # Weights are chosen on some rows and judged on others: across windows, or, with a single
    # validation window, across two seeded halves of the series.
    groups = keys["fold"].to_numpy()
    if len(folds) == 1 and len(keys):
        codes = pd.factorize(keys[SERIES_ID].to_numpy())[0]  # in order of appearance
        groups = (np.random.default_rng(context.seed).permutation(codes.max() + 1) % 2)[codes]

    def scorer_for(left_out):
        return _fold_scorer(keys, actual, folds, metric, context.season_length, target,
                            within=None if left_out is None else groups != left_out)

    series = keys[SERIES_ID].to_numpy()

    def vote(trial_id: int) -> TrialResult:
        # Selected on the point forecast; the same weights blend every quantile.  Learned
        # weights that do not clearly beat equal ones (one standard error) become equal ones.
        weights, blend = cross_fitted_voting(
            stack[:, :, 0], groups, scorer_for, blend_inputs=stack,
            shrink=lambda w, rows: shrunk_to_equal(w, stack[:, rows, 0], actual[rows],
                                                   series[rows]))
        return _trial(trial_id, "voting_ensemble", ranked, weights, blend, keys, actual, folds,
                      context, target, columns)

    def stack_(trial_id: int) -> TrialResult | None:
        meta = cross_fitted(stack[:, :, 0], actual, groups, context.seed)
        if not np.isfinite(meta).all():
            return None
        coef = fit_stacker(stack[:, :, 0], actual, context.seed).coef_
        # One member left is not an ensemble but that member rescaled: a learned bias that a
        # trend (yearly GDP) turns into extrapolation; the member itself is on the board.
        if coef.sum() <= 0 or (coef > 0).sum() < 2:
            return None
        # Scored on the cross-fitted meta predictions; quantiles move with the point.
        blend = np.tensordot(coef, stack, axes=1)
        blend[:, 1:] += (meta - blend[:, 0])[:, None]
        blend[:, 0] = meta
        return _trial(trial_id, "stack_ensemble", ranked, coef, blend, keys, actual, folds,
                      context, target, columns)

    made = build_ensembles(ranked, next_id, len(keys), [("voting_ensemble", vote, voting),
                                                        ("stack_ensemble", stack_, stacking)])
    return made + (combination_trials(trials, folds, context, metric, next_id + len(made),
                                      target=target, time_column=time_column) if voting else [])


def _trial(trial_id, name, ranked, weights, blend, keys, actual, folds, context, target,
           columns) -> TrialResult:
    """The ensemble as a trial whose validation forecasts are ``blend`` (rows x columns)."""
    keep = weights > 0
    frame = keys.copy()
    frame[columns] = blend
    fold_metrics = []
    for fold in folds:
        rows = (frame["fold"] == fold.index).to_numpy()
        fold_metrics.append(evaluate(actual[rows], frame[rows], frame.loc[rows, SERIES_ID].to_numpy(),
                                     fold.train.frame, target, context.season_length,
                                     context.quantiles))
    mean = mean_metrics(fold_metrics)
    params = {"members": [ranked[i].trial_id for i in np.flatnonzero(keep)],
              "weights": [round(float(w), 6) for w in weights[keep]]}
    return TrialResult(trial_id, name, params, "completed", mean, fold_metrics, 0.0,
                       oof=frame.assign(actual=actual))


def is_ensemble(trial: TrialResult) -> bool:
    return trial.learner in ("voting_ensemble", "stack_ensemble", COMBINATION)
