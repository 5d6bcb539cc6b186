"""The trial record every task shares: what a trial is asked to fit (``TrialSpec``), what it
returns (``TrialResult``), and the helpers the tasks' trials and ensembles are built from.

Each task's ``run_trial`` (``tsauto.tasks``) is what a worker process executes; it never raises:
an error becomes a failed ``TrialResult`` carrying the error text, so one bad trial cannot stop
an experiment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tsauto.errors import DataError


@dataclass
class TrialSpec:
    trial_id: int
    learner: str
    params: dict
    # The class travels with the spec (pickled by reference), so a worker can run learners
    # registered outside tsauto's families, e.g. a user's own or a test's; the task's registry
    # names it, the search does not know any registry.
    cls: type
    # At refit only: the learner its validation fitted, whose learned forms (a costly learner's
    # per-series orders, see TrialResult.fitted) are reused instead of searched again.
    fitted: Any = None


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
    # The learner fitted on the (single) validation window's training part, kept only when the
    # task asks its refit to reuse what that fit learned (in memory: not stored with the run)
    fitted: Any = None


def build_learner(spec: TrialSpec, context):
    """The learner with its own parameters over what its family takes from the context
    (``from_context``: quantiles, season length, featurization...; ``context``: the task's
    typed context, e.g. ``tsauto.tasks.forecasting.ForecastContext``)."""
    return spec.cls.from_context(context, spec.params)


def build_ensembles(ranked: list[TrialResult], next_id: int, n_rows: int,
                    builders: list[tuple[str, Callable[[int], TrialResult | None], bool]]
                    ) -> list[TrialResult]:
    """The ensemble trials of the enabled ``(name, build, enabled)`` builders, numbered from
    ``next_id``.  ``build(trial_id)`` returns its trial, or None when the ensemble would add
    nothing (e.g. a stacker with no positive weight).  One that keeps a single member is left
    out too: it is that member, already on the board, under another name and with the
    cross-fitted score of other choices on other folds.  An ensemble that cannot be built (no
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
        if trial is not None and trial.status == "completed" and \
                len(trial.params["members"]) < 2:
            trial = None
        if trial is not None:
            trial.duration = time.perf_counter() - start  # its real time, not 0
            made.append(trial)
            next_id += 1
    return made
