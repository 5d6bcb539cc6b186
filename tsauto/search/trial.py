"""One trial: a learner with its parameters, fitted and scored on every validation fold.

``run_trial`` is what a worker process executes; it never raises: an error becomes a failed
``TrialResult`` carrying the error text, so one bad trial cannot stop an experiment.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from tsauto.errors import DataError
from tsauto.evaluation.scoring import join_actuals, mean_metrics, score_forecast
from tsauto.evaluation.splits import Fold
from tsauto.learners import registry
from tsauto.learners.base import Forecaster
from tsauto.search.context import ForecastContext, TabularContext


@dataclass
class TrialSpec:
    trial_id: int
    learner: str
    params: dict
    # The class travels with the spec (pickled by reference), so a worker can run learners
    # registered outside tsauto's families, e.g. a user's own or a test's.
    cls: type[Forecaster] | None = None


@dataclass
class TrialResult:
    trial_id: int
    learner: str
    params: dict
    status: str                     # completed | failed | timeout
    metrics: dict = field(default_factory=dict)       # mean over folds
    fold_metrics: list = field(default_factory=list)  # one dict per fold
    duration: float = 0.0
    error: str | None = None
    oof: pd.DataFrame | None = None  # out-of-fold forecasts with actuals, for ensembles


def build_learner(spec: TrialSpec, context: ForecastContext | TabularContext) -> Forecaster:
    """The learner with its own parameters over what its family takes from the context
    (``from_context``: quantiles, season length, featurization...)."""
    cls = spec.cls or registry.get(spec.learner)
    return cls.from_context(context, spec.params)


def score_fold(learner: Forecaster, fold: Fold, horizon: int, season_length: int,
               quantiles) -> tuple[dict, pd.DataFrame]:
    """Fit on the fold's train part, forecast its validation part, compute every metric."""
    learner.fit(fold.train)
    valid = fold.valid
    joined = join_actuals(learner.predict(horizon, future=valid.frame), valid.frame,
                          valid.time_column, valid.target_column)
    metrics = score_forecast(joined, fold.train.frame, valid.target_column, season_length,
                             quantiles)
    return metrics, joined.assign(fold=fold.index)


def run_trial(spec: TrialSpec, folds: list[Fold], context: ForecastContext) -> TrialResult:
    start = time.perf_counter()
    try:
        fold_metrics, oof = [], []
        for fold in folds:
            learner = build_learner(spec, context)
            metrics, predictions = score_fold(learner, fold, context.horizon,
                                              context.season_length, context.quantiles)
            fold_metrics.append(metrics)
            oof.append(predictions)
        mean = mean_metrics(fold_metrics)
        return TrialResult(spec.trial_id, spec.learner, spec.params, "completed", mean,
                           fold_metrics, time.perf_counter() - start,
                           oof=pd.concat(oof, ignore_index=True))
    except Exception as exc:  # noqa: BLE001 - a trial's failure is data, not a crash
        text = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc(limit=-3)
        return TrialResult(spec.trial_id, spec.learner, spec.params, "failed",
                           duration=time.perf_counter() - start, error=f"{text}\n{tb}")


def build_ensembles(ranked: list[TrialResult], next_id: int, n_rows: int,
                    builders: list[tuple[str, Callable[[int], TrialResult | None], bool]]
                    ) -> list[TrialResult]:
    """The ensemble trials of the enabled ``(name, build, enabled)`` builders, numbered from
    ``next_id``.  ``build(trial_id)`` returns its trial, or None when the ensemble would add
    nothing (e.g. a stacker with no positive weight).  An ensemble that cannot be built (no
    shared validation rows, every score NaN) becomes a failed trial with the reason, like any
    trial: it never stops the experiment."""
    made = []
    for name, build, enabled in builders:
        if not enabled:
            continue
        start = time.perf_counter()
        try:
            if n_rows == 0:
                raise DataError("the candidates share no validation row on which all of them "
                                "have a forecast")
            trial = build(next_id)
        except Exception as exc:  # noqa: BLE001 - a failed ensemble is data, not a crash
            params = {"members": [t.trial_id for t in ranked]}
            trial = TrialResult(next_id, name, params, "failed",
                                duration=time.perf_counter() - start,
                                error=f"{type(exc).__name__}: {exc}")
        if trial is not None:
            trial.duration = time.perf_counter() - start  # its real time, not 0
            made.append(trial)
            next_id += 1
    return made
