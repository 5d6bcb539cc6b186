"""Forecasting, as the engine sees it: the dataset and its guardrails, rolling-origin folds,
the trial (fit each fold's train part, forecast its horizon, score), the ensembles over the
out-of-fold forecasts, the refit on the series the winner can fit, and the ``ForecastModel``
(with the fallback for the series it cannot).

``run_trial`` and ``refit_learner`` run in worker processes: module-level functions.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID, TimeSeriesDataset
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.data.guardrails import (
    FALLBACK_CHAIN,
    MIN_TRAIN,
    GuardrailReport,
    GuardrailResult,
    constant_series,
    run_guardrails,
    validation_windows,
    windows_filled,
)
from tsauto.ensemble import cross_fitted, cross_fitted_voting, shrunk_to_equal, stack_weights
from tsauto.ensemble.oof import aligned, forecast_fold_scorer, stacked_forecast, weight_groups
from tsauto.ensemble.weighted import WeightedEnsemble
from tsauto.evaluation.calibration import MIN_PATHS, fit_calibration
from tsauto.evaluation.metrics import METRICS, evaluate, point_metric
from tsauto.evaluation.scoring import join_actuals, mean_metrics, score_forecast, with_steps
from tsauto.evaluation.splits import Fold, rolling_origin, windows_before
from tsauto.errors import DataError
from tsauto.features.spec import FeaturizationSpec
from tsauto.learners import registry
from tsauto.learners._stat_common import seasonal_naive_fits
from tsauto.learners.base import Forecaster
from tsauto.model import ForecastModel, history_of
from tsauto.progress import Reporter
from tsauto.search.engine import SearchTask
from tsauto.search.ensembles import (
    COMBINATION,
    ensemble_candidates,
    ensemble_params,
    is_ensemble,
)
from tsauto.search.executor import concurrent_jobs
from tsauto.search.trial import (
    TrialResult,
    TrialSpec,
    build_ensembles,
    build_learner,
)
from tsauto.tasks.base import Prepared, describe
from tsauto.tasks.forecasting_plan import (GLOBAL, SearchPlan, in_worker, plan_search,
                                           unsuited_learners)

# Cheap, strong first trials, in this order, when allowed (and affordable on this data): the
# statistical four also give the ensembles the classic combination to start from.
BASELINES = ("seasonal_naive", "auto_theta", "auto_ets", "auto_ces", "lightgbm", "auto_arima")
# CPU-seconds per series per fold by declared cost (measured here on monthly series of ~120
# points: AutoTheta 0.025, AutoETS 0.15, AutoARIMA 1.6; the naive family ~0.002, docs/learners.md),
# to keep costly learners out of short budgets.  "trivial" keeps seasonal naive, the first
# baseline, in the search of a large panel (at "low", 1,000 series at 16 s skipped it).
COST_SECONDS = {"trivial": 0.002, "low": 0.02, "medium": 0.15, "high": 1.5}
# The calibration windows (``calibrate``): the winner is refitted at origins before the
# search's windows in what is left of the time budget after the refit, but at least this share
# of it, which the search keeps back for them (so that a search that used its whole budget
# still calibrates on a few more periods), and at most this many windows.
CALIBRATION_SHARE = 0.05
MAX_CALIBRATION_WINDOWS = 12
# With few series a window adds few forecast paths, and a calibration needs ``MIN_PATHS`` of
# them: such data takes windows up to twice that many paths in all (one series: 40 windows, two:
# 20, three: 14), at most this many (vic_elec's one daily series: 13 windows cannot calibrate,
# 20-41 do, with a lower WQL).
MAX_FEW_SERIES_WINDOWS = 40


@dataclass(frozen=True)
class ForecastContext:
    """What every forecasting trial is given besides its own parameters.  A learner family says
    which of these fields its constructor takes (``context_fields`` and ``from_context`` on the
    learner bases); a trial's tuned parameters override them."""

    horizon: int
    quantiles: tuple[float, ...]
    season_length: int
    featurization: FeaturizationSpec     # the pivoted learners' design, from the settings
    seed: int
    # Learners whose single-window trial keeps its fitted forms for the refit to reuse
    # (forecasting_plan.reused_forms: a costly order search runs once, not twice)
    reuse_forms: tuple[str, ...] = ()

    # Holidays are the featurization's; Prophet takes them too.
    @property
    def country_or_region(self) -> str | None:
        return self.featurization.country_or_region

    @property
    def subdivision(self) -> str | None:
        return self.featurization.subdivision


def make_dataset(settings, frame: pd.DataFrame) -> TimeSeriesDataset:
    return TimeSeriesDataset(frame, **settings.dataset_roles())


def search_task(dataset: TimeSeriesDataset, measured: dict | None = None,
                planned: dict | None = None, workers: int = 1, first: tuple[str, ...] = (),
                left_out: dict[str, str] | None = None, horizon: int = 0) -> SearchTask:
    """``measured``: seconds per series per fold by learner, ``planned``: the costly learners
    spent once, with their trial's parameters, ``first``: the baselines the plan runs right
    after seasonal naive, ``left_out``: learners the plan skips, with why
    (``forecasting_plan.plan_search``); ``workers``: trials at once; ``horizon``: the
    validation windows' (what a series' training part lacks at the last one)."""
    planned = dict(planned or {})
    unsuited = {**unsuited_learners(dataset, registry, horizon), **(left_out or {})}
    first_baselines = (BASELINES if "seasonal_naive" not in unsuited
                       else ("naive", *BASELINES[1:]))
    # The plan counted on a planned learner's time: with several workers it starts at once
    # (after seasonal naive, instant) and the core runs beside it; with one, right after
    # AutoTheta and LightGBM (cheap on the one window), before the costlier members: the plan's
    # sums leave out the probe and the refit's reserve, and on us_employment at 99 s AutoARIMA,
    # run after AutoCES, was stopped by the budget after 39 s.  LightGBM goes before it because
    # a planned fit can still overrun its estimate (the demo at load 4: AutoARIMA ran the 88 s
    # left after AutoTheta and was stopped, and AutoTheta with seasonal naive shipped, 0.672).
    ahead = first_baselines[:1] if workers > 1 else (*first_baselines[:2], GLOBAL)
    baselines = (tuple(sorted(first_baselines, key=lambda n: (n not in ahead, n not in planned)))
                 if planned else first_baselines)
    if first:  # the global plan: its learners before the rest, in its order
        baselines = tuple(sorted(baselines, key=lambda n: (
            n != first_baselines[0], first.index(n) if n in first else len(first))))
    return SearchTask(registry, baselines, run_trial,
                      partial(ensembles, target=dataset.target_column,
                              time_column=dataset.time_column),
                      dataset.n_series, COST_SECONDS, unsuited,
                      dict(measured or {}), planned, after_refit_share=CALIBRATION_SHARE,
                      reference=COMBINATION)


# -- the preparation --------------------------------------------------------------------------
def prepare(settings, dataset: TimeSeriesDataset, valid, reporter: Reporter,
            stored_plan: dict | None = None) -> Prepared:
    """Guardrails, rolling-origin folds, the trial context, and how the winner is refitted
    and becomes a ``ForecastModel`` (``valid`` is for the tabular tasks: always None here).
    ``stored_plan``: the plan a stored experiment was searched by (resume, load), kept rather
    than planned again from a new measurement of the learners' cost, which could choose
    other windows, learners and order than its trials had."""
    s = settings
    prepared_at = time.monotonic()  # the budget's clock, near enough, for the calibration
    n_cv, step = validation_windows(dataset, s.horizon, s.n_cross_validations, s.cv_step_size)
    dataset, report = run_guardrails(dataset, horizon=s.horizon, n_cross_validations=n_cv,
                                     cv_step_size=step,
                                     short_series_handling=s.short_series_handling,
                                     max_filled_share=s.max_filled_share)
    reporter.guardrails(report)
    report.raise_if_failed()
    featurization = FeaturizationSpec(
        target_lags=s.target_lags, target_rolling_window_size=s.target_rolling_window_size,
        feature_lags=s.feature_lags, country_or_region=s.country_or_region,
        subdivision=s.subdivision, featurization=s.featurization)
    context = ForecastContext(s.horizon, tuple(s.quantiles), dataset.season_length,
                              featurization, s.seed)
    # the validation depth the budget affords, from the family's measured cost
    plan = (plan_search(dataset, context, s, n_cv) if stored_plan is None
            else SearchPlan.restored(stored_plan))
    n_cv, planned = plan.windows, plan.planned
    context = replace(context, reuse_forms=tuple(planned))
    filled = windows_filled(dataset.lengths, s.horizon, n_cv, step)
    task = search_task(dataset, plan.measured, planned, concurrent_jobs(s.max_concurrent_trials),
                       plan.first, plan.skipped, s.horizon)

    def refit_args(members: list[TrialResult]):
        """The learner is refitted on the series it forecasts: not the fallback's."""
        need, name = _min_history([task.registry.get(t.learner) for t in members])
        away = _fallback_reasons(dataset, filled, s.horizon, need, name)
        keep = ~np.isin(dataset.series_ids, list(away))
        if not keep.any():
            return None
        return dataset.only(keep), context

    def make_model(trial: TrialResult | None, fitted: list) -> ForecastModel:
        if trial is None:  # nothing could be validated: the fallback is the model
            away = _fallback_reasons(dataset, filled, s.horizon, 0, "")
            learner, series = fallback(dataset, away, context)
            checked = _with_fallback_check(report, dataset, series, "a searched model")
            return ForecastModel(learner, dataset.schema(), history_of(dataset), s.horizon,
                                 s.quantiles, checked, s.model_dump(),
                                 f"fallback: {FALLBACK_CHAIN} (no series is long enough to "
                                 f"validate a model)", None, series)
        learner = (WeightedEnsemble.of_fitted(fitted, trial.params["weights"], trial.learner)
                   if is_ensemble(trial) else fitted[0])
        away = _fallback_reasons(dataset, filled, s.horizon,
                                 *_min_history([type(m) for m in fitted]))
        fallback_learner, series = (fallback(dataset, away, context) if away else (None, {}))
        checked = _with_fallback_check(report, dataset, series, trial.learner)
        seconds = None if s.time_budget is None else max(
            s.time_budget - (time.monotonic() - prepared_at), CALIBRATION_SHARE * s.time_budget)
        calibration = calibrate(trial, learner, dataset.only(~np.isin(dataset.series_ids,
                                                                      list(away))),
                                folds, context, step, seconds)
        return ForecastModel(learner, dataset.schema(), history_of(dataset), s.horizon,
                             s.quantiles, checked, s.model_dump(), describe(trial, fitted),
                             fallback_learner, series, calibration)

    folds = (rolling_origin(dataset, s.horizon, n_cv, step) if filled.any() else [])
    validation = f"{n_cv} rolling-origin window(s) of {s.horizon} periods, {step} apart"
    if planned:  # why one window, and why that learner's row is unlike the others'
        validation += (f"; {', '.join(planned)} spent once (its validation on every window did "
                       f"not fit the time budget): every learner is validated on the last "
                       f"window, it runs with {planned}, and its refit reuses the forms it "
                       f"fitted there")
    if plan.note:
        validation += f"; {plan.note}"
    if not folds:
        validation = f"none: no series can fill one window of {s.horizon} periods"
    return Prepared(dataset, report, folds, context, task, validation, refit_learner,
                    refit_args, make_model, plan._asdict())


# -- the trial and the refit (run in workers) -------------------------------------------------
def score_fold(learner: Forecaster, fold: Fold, horizon: int, season_length: int,
               quantiles, keep: bool = False) -> tuple[dict, pd.DataFrame]:
    """Fit on the fold's train part, forecast its validation part, compute every metric;
    ``keep``: the learner keeps its per-series fitted forms (``prepare``), for the refit."""
    learner.fit(fold.train)
    if keep:
        learner.prepare(horizon)
    valid = fold.valid
    forecast = learner.predict(horizon, future=valid.frame)
    joined = join_actuals(forecast, valid.frame, valid.time_column, valid.target_column)
    metrics = score_forecast(joined, fold.train.frame, valid.target_column, season_length,
                             quantiles)
    joined = joined.assign(fold=fold.index)
    joined.attrs = {"fallbacks": forecast.attrs.get("fallbacks", {})}  # series: why
    return metrics, joined


def run_trial(spec: TrialSpec, folds: list[Fold], context: ForecastContext) -> TrialResult:
    """Fit and score on every fold; never raises: an error becomes a failed ``TrialResult``
    carrying the error text, so one bad trial cannot stop an experiment."""
    start = time.perf_counter()
    # One window: its training part is all the data but the horizon, and the forms fitted there
    # can stand for a refit's (see forecasting_plan.reused_forms)
    keep = spec.learner in context.reuse_forms and len(folds) == 1
    try:
        fold_metrics, oof, fell_back = [], [], {}
        for fold in folds:
            learner = build_learner(spec, context)
            metrics, predictions = score_fold(learner, fold, context.horizon,
                                              context.season_length, context.quantiles, keep)
            fold_metrics.append(metrics)
            oof.append(predictions)
            fell_back.update(predictions.attrs["fallbacks"])
        if len(fell_back) and all(len(p.attrs["fallbacks"]) >= p[SERIES_ID].nunique()
                                  for p in oof):
            # every forecast was the fallback's: scored under this name it would mislead
            raise DataError(f"{spec.learner} forecast no series itself on any validation "
                            f"window: the fallback forecast all {len(fell_back)} (the first: "
                            f"{next(iter(fell_back.values()))})")
        mean = mean_metrics(fold_metrics)
        return TrialResult(spec.trial_id, spec.learner, spec.params, "completed", mean,
                           fold_metrics, time.perf_counter() - start,
                           oof=pd.concat(oof, ignore_index=True),
                           fitted=learner if keep else None)
    except Exception as exc:  # noqa: BLE001 - a trial's failure is data, not a crash
        text = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc(limit=-3)
        return TrialResult(spec.trial_id, spec.learner, spec.params, "failed",
                           duration=time.perf_counter() - start, error=f"{text}\n{tb}")


def refit_learner(spec: TrialSpec, dataset: TimeSeriesDataset, context: ForecastContext):
    if spec.fitted is not None:
        # The forms (orders, coefficients) its validation chose, their state filtered through
        # all the data: the costly search is not run a second time (forecasting_plan)
        learner = spec.fitted.with_history(dataset)
    else:
        learner = build_learner(spec, context).fit(dataset)
    # Local statistical models fit their per-series models here, and keep them and the
    # forecast, inside the budget: the user's first forecast is immediate and serving from new
    # data never searches.
    learner.prepare(context.horizon)
    return learner


# -- the calibration windows ------------------------------------------------------------------
# The search's few validation windows share their periods' shocks across all series: three
# windows are three draws of "how hard was this period" (benchmarks/results/intervals.md), and
# conformal scores drawn from them under-cover a fourth period.  So the winner (an ensemble as
# one learner, as it is shipped) is refitted at more origins before the search's windows, a
# season apart (or the search's step, if shorter), latest first, until ``seconds`` are up
# (None: no limit but ``MAX_CALIBRATION_WINDOWS``); the conformal scores pool all of them.
def calibrate(trial: TrialResult, learner: Forecaster, dataset: TimeSeriesDataset,
              folds: list[Fold], context: ForecastContext, step: int, seconds: float | None):
    """The model's ``IntervalCalibration`` from the trial's out-of-fold forecasts on the
    search's ``folds`` and from the fitted ``learner`` refitted on ``dataset`` (the series it
    forecasts) at the extra windows that end within ``seconds``.  The windows run in one
    worker, which is stopped when the time is up: a window's cost is known only once it has
    run (prison at 600 s: two windows of a combination holding AutoARIMA, guessed from the
    search's folds at ~30 s each, took 296 s, and the fit ended 130 s past its budget)."""
    if trial.oof is None or not folds:
        return fit_calibration(trial.oof, folds, context, dataset)
    extra = calibration_folds(dataset, len(folds), step, context)
    start, parts = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix="tsauto-calibration-") as work:
        if extra:  # the worker cuts the same windows from the dataset, pickled once
            in_worker(calibration_windows, (learner, dataset, context),
                      (len(folds), step, work, seconds), seconds)
        while len(parts) < len(extra) and (Path(work) / f"window-{len(parts)}.pkl").is_file():
            parts.append(pd.read_pickle(Path(work) / f"window-{len(parts)}.pkl"))
    used = extra[:len(parts)]
    oof = (pd.concat([with_steps(trial.oof, dataset.time_column), *parts], ignore_index=True)
           if used else trial.oof)
    return fit_calibration(oof, [*reversed(used), *folds], context, dataset, len(used),
                           time.perf_counter() - start)


def calibration_folds(dataset: TimeSeriesDataset, n_folds: int, step: int,
                      context: ForecastContext) -> list[Fold]:
    """The calibration windows before the search's ``n_folds``, nearest to them first."""
    stride = max(1, min(step, context.season_length))
    most = MAX_CALIBRATION_WINDOWS and max(  # 0 turns the windows off (a benchmark's baseline)
        MAX_CALIBRATION_WINDOWS,
        min(MAX_FEW_SERIES_WINDOWS, -(-2 * MIN_PATHS // max(dataset.n_series, 1)) - n_folds))
    return windows_before(dataset, context.horizon, (n_folds - 1) * step + stride, most, stride,
                          max(MIN_TRAIN, 2 * context.season_length), n_folds)[::-1]


def calibration_windows(job: tuple, learner: Forecaster, dataset: TimeSeriesDataset,
                        context: ForecastContext) -> int:
    """In a worker: ``learner`` refitted at each calibration window in turn, each window's
    out-of-fold forecast written to ``folder`` (``window-<k>.pkl``) as soon as it is made, so
    that the windows done before a stop are kept.  It starts no window that the ones before
    say would end past ``seconds`` (where jobs run in the calling process, nothing else stops
    it), and stops at the first the learner cannot fit (that origin adds no window)."""
    n_folds, step, folder, seconds = job
    windows = calibration_folds(dataset, n_folds, step, context)
    start = time.perf_counter()
    for k, fold in enumerate(windows):
        spent = time.perf_counter() - start
        if seconds is not None and k and spent + spent / k > seconds:
            return k
        try:
            _, oof = score_fold(copy.deepcopy(learner), fold, context.horizon,
                                context.season_length, context.quantiles)
        except Exception:  # noqa: BLE001 - an origin the learner cannot fit adds no window
            return k
        tmp = Path(folder) / f".window-{k}.tmp"
        with_steps(oof, dataset.time_column).to_pickle(tmp)
        os.replace(tmp, Path(folder) / f"window-{k}.pkl")
    return len(windows)


# -- the ensembles ----------------------------------------------------------------------------
# Voting (greedy selection) and stacking over the search's out-of-fold forecasts; they join the
# leaderboard as its last trials and win only on validation score.  Both are scored honestly:
# each fold's blend uses weights chosen on the other folds only, so an ensemble that merely
# fits the validation windows (a few short series are easy to overfit) does not beat the single
# models on paper.  The weights it ships with are chosen on all folds.
def ensembles(trials: list[TrialResult], folds: list[Fold], context: ForecastContext, metric: str,
              next_id: int, voting: bool = True, stacking: bool = True, *, target: str,
              time_column: str) -> list[TrialResult]:
    """Voting and stacking trials built from the best completed trials (at least two)."""
    ranked = ensemble_candidates(trials, metric)
    if len(ranked) < 2:
        return []
    quantiles = list(context.quantiles)
    columns = [POINT, *[quantile_column(q) for q in quantiles]]
    keys, stack = aligned([t.oof for t in ranked], ["fold", SERIES_ID, time_column], columns)
    actual = keys.pop("actual").to_numpy(dtype="float64")
    # Weights are chosen on some rows and judged on others: across windows, or, with a single
    # validation window, across two seeded halves of the series.
    groups = weight_groups(keys["fold"].to_numpy(), keys[SERIES_ID].to_numpy(), len(folds),
                           context.seed)

    def scorer_for(left_out):
        return forecast_fold_scorer(keys, actual, folds, point_metric(metric),
                                    context.season_length, target,
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
        meta = cross_fitted(stack[:, :, 0], actual, groups, context.seed, sum_to_one=True)
        if not np.isfinite(meta).all():
            return None
        coef = stack_weights(stack[:, :, 0], actual, context.seed, sum_to_one=True)
        # Scored on the cross-fitted meta predictions; quantiles move with the point.
        return _trial(trial_id, "stack_ensemble", ranked, coef,
                      stacked_forecast(coef, stack, meta), keys, actual, folds,
                      context, target, columns)

    made = build_ensembles(ranked, next_id, len(keys), [("voting_ensemble", vote, voting),
                                                        ("stack_ensemble", stack_, stacking)])
    return made + (combination(trials, folds, context, metric, next_id + len(made),
                               target=target, time_column=time_column) if voting else [])


# The statistical combination: the equal-weight mean of the statistical family's forecasts
# (AutoETS, AutoARIMA, AutoTheta, AutoCES; those the search ran), a candidate the search always
# scores when two or more of them completed.  It is what a practitioner writes in five lines,
# and the forecasting competitions' lesson is that it is hard to beat: fixed equal weights
# cannot overfit a few validation windows the way learned weights or a single lucky model can.
# It needs no fitting, so its validation forecast (the mean of its members' out-of-fold
# forecasts) is honest as it stands; it joins the leaderboard as an ensemble trial and is
# refitted like one (each member on all the data).
STATISTICAL_FAMILY = ("auto_ets", "auto_arima", "auto_theta", "auto_ces")


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


def combination(trials: list[TrialResult], folds: list[Fold], context: ForecastContext,
                metric: str, next_id: int, *, target: str, time_column: str
                ) -> list[TrialResult]:
    """The statistical combination as an ensemble trial (none when fewer than two members)."""
    members = family_members(trials, metric)
    if len(members) < 2:
        return []
    columns = [POINT, *[quantile_column(q) for q in context.quantiles]]
    keys, stack = aligned([t.oof for t in members], ["fold", SERIES_ID, time_column], columns)
    actual = keys.pop("actual").to_numpy(dtype="float64")
    weights = np.full(len(members), 1.0 / len(members))

    def combine(trial_id: int) -> TrialResult:
        return _trial(trial_id, COMBINATION, members, weights, stack.mean(axis=0), keys, actual,
                      folds, context, target, columns)

    return build_ensembles(members, next_id, len(keys), [(COMBINATION, combine, True)])


def _trial(trial_id, name, ranked, weights, blend, keys, actual, folds, context, target,
           columns) -> TrialResult:
    """The ensemble as a trial whose validation forecasts are ``blend`` (rows x columns)."""
    frame = keys.copy()
    frame[columns] = blend
    fold_metrics = []
    for fold in folds:
        rows = (frame["fold"] == fold.index).to_numpy()
        fold_metrics.append(evaluate(actual[rows], frame[rows],
                                     frame.loc[rows, SERIES_ID].to_numpy(), fold.train.frame,
                                     target, context.season_length, context.quantiles))
    mean = mean_metrics(fold_metrics)
    return TrialResult(trial_id, name, ensemble_params(ranked, weights), "completed", mean,
                       fold_metrics, 0.0, oof=frame.assign(actual=actual))


# -- the fallback -----------------------------------------------------------------------------
def fallback(dataset: TimeSeriesDataset, away: dict[str, str], context: ForecastContext):
    """The fallback learner fitted on the series in ``away`` (id -> why), and those series
    with the method that forecasts each and why."""
    part = dataset.only(np.isin(dataset.series_ids, list(away)))
    spec = TrialSpec(-1, "seasonal_naive", {}, registry.get("seasonal_naive"))
    learner = build_learner(spec, context).fit(part)
    learner.prepare(context.horizon)  # forecast kept: a failure shows now, not later
    lengths = part.lengths
    methods = np.where(seasonal_naive_fits(lengths, learner.season_length_),
                       "seasonal_naive", "naive")
    series = {}
    for sid, method, n in zip(part.series_ids.tolist(), methods, lengths):
        reason = away[sid] + ("; one observation: its quantiles have no spread" if n == 1
                              else "")
        series[sid] = {"method": str(method), "reason": reason}
    return learner, series


def _min_history(classes: list) -> tuple[int, str]:
    """The most history any of these learners needs to fit a series as itself, and whose."""
    need = {cls.name: cls.capabilities.min_history for cls in classes}
    name = max(need, key=need.get)
    return need[name], name


def _fallback_reasons(dataset: TimeSeriesDataset, filled: np.ndarray, horizon: int,
                      min_history: int, learner: str) -> dict[str, str]:
    """Series the chosen learner does not forecast, id -> why: those no validation window
    could score (``filled`` 0), those shorter than the learner's ``min_history``, and those
    whose history is constant, unless no other series is left to the learner (a global
    learner forecasts a constant series close to, not at, its constant; the fallback gives
    the constant with intervals of no width)."""
    lengths = dataset.lengths
    ids = dataset.series_ids.tolist()
    def periods(n: int) -> str:
        return f"{n} period" + ("s" if n != 1 else "")

    out = {ids[i]: f"too short for any validation window: {periods(lengths[i])}, one window "
                   f"needs {MIN_TRAIN + horizon}" for i in np.flatnonzero(filled == 0)}
    out.update({ids[i]: f"{periods(lengths[i])}, fewer than the {min_history} that {learner} "
                        f"needs" for i in np.flatnonzero((filled > 0) & (lengths < min_history))})
    constant = constant_series(dataset) & ~np.isin(ids, list(out))
    if constant.any() and len(out) + constant.sum() < len(ids):
        out.update({ids[i]: "a constant history: forecast as that constant"
                    for i in np.flatnonzero(constant)})
    return out


def _with_fallback_check(report: GuardrailReport, dataset: TimeSeriesDataset,
                         series: dict[str, dict], learner: str) -> GuardrailReport:
    """The model's copy of the guardrail report, with the series it forecasts by fallback."""
    if not series:
        return GuardrailReport(list(report.results))
    ids = list(series)
    shown = "; ".join(f"{k!r}: {v['reason']}" for k, v in list(series.items())[:3])
    result = GuardrailResult(
        "fallback_series", "fixed",
        f"{len(ids)} series are forecast by the fallback, not by {learner}: {shown}"
        + (f"; and {len(ids) - 3} more" if len(ids) > 3 else ""), ids,
        int(dataset.lengths[np.isin(dataset.series_ids, ids)].sum()),
        f"forecast from their own history by {FALLBACK_CHAIN}; see model.fallback_series")
    return GuardrailReport([*report.results, result])
