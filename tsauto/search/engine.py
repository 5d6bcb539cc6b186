"""The AutoML loop: baselines first, then a seeded optuna search across learners, inside the
budgets (time, trials, per-trial timeout, exit score, early stopping).

Trials run in worker processes (``Executor``); a trial that fails or times out is recorded with
its error and the search goes on.  Time for the final refit is reserved up front so that the
whole experiment ends within its ``time_budget``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from tsauto.evaluation.metrics import METRICS, fallback_metric
from tsauto.learners.space import Choice, FloatRange, IntRange
from tsauto.search.executor import Executor, concurrent_jobs
from tsauto.search.trial import TrialResult, TrialSpec

# Refit takes about one fold's fit; keep a margin for start-up and pickling.
_REFIT_MARGIN = 1.5
_WORKER_START = 1.0  # seconds to start a worker, import its learner and load its inputs
# A refit that re-filters the fitted forms of a trial (TrialResult.fitted) costs about this
# share of the trial (us_employment, AutoARIMA: the state filter against the order search)
_REUSED_REFIT = 0.1


@dataclass(frozen=True)
class SearchTask:
    """What the engine searches over (forecasting, classification or regression); the engine
    itself knows nothing of series or rows.

    ``run_trial(spec, folds, context) -> TrialResult`` runs in worker processes, so it must be
    a module-level function (``context``: the task's typed context, see ``tsauto.tasks``);
    ``ensembles(trials, folds, context, metric, next_id, voting, stacking) -> [TrialResult]``
    builds the ensemble trials from the finished ones."""

    registry: Any                   # names(), get(name) -> class, search_space(name)
    baselines: tuple[str, ...]      # cheap, strong first trials, in order, when allowed
    run_trial: Callable
    ensembles: Callable
    size: float                     # units of work in one fold's fit: series, 1,000s of rows
    cost_seconds: dict[str, float]  # seconds per unit per fold, by a learner's declared cost
    # learner name -> why it does not fit the data (skipped unless named in allowed_models)
    unsuited: dict[str, str] = field(default_factory=dict)
    # learner name -> measured seconds per unit per fold (tsauto.tasks.forecasting_plan), over the
    # declared cost
    measured: dict[str, float] = field(default_factory=dict)
    # learner name -> parameters of the one trial the task's plan affords it (e.g. AutoARIMA's
    # approximate order search): not priced out again by candidate_learners, run with these
    # parameters among the baselines, and never proposed (another trial would not fit)
    planned: dict[str, dict] = field(default_factory=dict)
    # share of the time budget the task spends making the model after the refit (forecasting's
    # calibration windows): kept back from the search like the refit itself
    after_refit_share: float = 0.0
    # a learner whose trial stands unless beaten on most validation windows (``consistent``):
    # forecasting's statistical combination
    reference: str | None = None


@dataclass
class SearchResult:
    trials: list[TrialResult]
    primary_metric: str
    stopped_because: str
    elapsed: float
    skipped_learners: dict = field(default_factory=dict)
    refit_reserve: float = 0.0  # seconds the search kept back for the final refit
    reference: str | None = None  # SearchTask.reference

    @property
    def ranking_metric(self) -> str | None:
        """The metric trials are ranked by: the primary one, or, when it is undefined (NaN) for
        every completed trial, ``fallback_metric`` of it (see ``ranking_note``); None when no
        completed trial has a score on either."""
        done = [t for t in self.trials if t.status == "completed"]
        for metric in (self.primary_metric, fallback_metric(self.primary_metric)):
            if metric and any(np.isfinite(t.metrics.get(metric, np.nan)) for t in done):
                return metric
        return None

    @property
    def ranking_note(self) -> str:
        """Why trials are not ranked by their mean primary metric alone ('' when they are)."""
        metric = self.ranking_metric
        notes = [] if metric is None or metric == self.primary_metric else [
            f"ranked by {metric}: {self.primary_metric} is undefined for every completed trial "
            f"(e.g. MASE on series whose training part is all zeros)"]
        by_mean = self.by_mean(metric)
        ranked = consistent(by_mean, self.reference, metric)
        if ranked and by_mean[0] is not ranked[0]:
            t = by_mean[0]
            ref = next(r for r in ranked if r.learner == self.reference)
            notes.append(f"{t.learner} (trial {t.trial_id}) has the best mean {metric} but "
                         f"beats {ref.learner} on {windows_won(t, ref, metric)} of "
                         f"{len(ref.fold_metrics)} validation windows only, so it ranks "
                         f"below it")
        return "; ".join(notes)

    @property
    def completed(self) -> list[TrialResult]:
        metric = self.ranking_metric
        return [t for t in self.trials if t.status == "completed" and metric is not None
                and np.isfinite(t.metrics.get(metric, np.nan))]

    def ranked(self, metric: str | None = None) -> list[TrialResult]:
        """Completed trials scored on ``metric`` (default: ``ranking_metric``), best first; ties
        (accuracy on small data ties often) go to the better ``TIE_BREAKER`` score, then to the
        earlier trial."""
        metric = metric or self.ranking_metric
        return consistent(self.by_mean(metric), self.reference, metric)

    def by_mean(self, metric: str | None) -> list[TrialResult]:
        """Completed trials scored on ``metric``, best first on their mean over the windows
        alone (``ranked`` before ``consistent``)."""
        if metric is None:
            return []
        scored = [t for t in self.trials if t.status == "completed"
                  and np.isfinite(t.metrics.get(metric, np.nan))]
        return sorted(scored, key=lambda t: ranking_key(t.metrics, metric, t.trial_id))

    def best(self, metric: str | None = None) -> TrialResult | None:
        ranked = self.ranked(metric)
        return ranked[0] if ranked else None


def windows_won(trial: TrialResult, reference: TrialResult, metric: str) -> int:
    """On how many validation windows ``trial`` scores better than ``reference``."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    return sum(bool(sign * a.get(metric, np.nan) < sign * b.get(metric, np.nan))
               for a, b in zip(trial.fold_metrics, reference.fold_metrics))


def consistent(ranked: list[TrialResult], reference: str | None, metric: str
               ) -> list[TrialResult]:
    """``ranked`` (best first on the mean over the validation windows), with the trials ranked
    above the ``reference`` learner's best trial that beat it on half of the windows or fewer
    moved to just below it.

    Why: a mean over a few windows is carried by the hardest of them.  At tsauto fit's default
    budget on global_economy's yearly GDP, LightGBM (differenced) beat the statistical
    combination on the mean of three windows by winning the 2006-11 crisis alone (6.67 against
    9.44) and losing both calm ones; it shipped, and scored 7.17 on the calm 2012-17 holdout
    against the combination's 4.87.  The forecasting competitions' lesson is the same: what
    beats a combination must do so consistently.  With one window the rule is the mean's."""
    ref = next((t for t in ranked if t.learner == reference), None)
    if ref is None or len(ref.fold_metrics) < 2:
        return ranked
    above = ranked[:ranked.index(ref)]
    half = len(ref.fold_metrics) / 2
    kept = [t for t in above if windows_won(t, ref, metric) > half]
    return [*kept, ref, *[t for t in above if t not in kept], *ranked[len(above) + 1:]]


# The second metric that orders trials tied on the first one.
TIE_BREAKER = {"accuracy": "log_loss", "balanced_accuracy": "log_loss", "f1_macro": "log_loss",
               "f1_weighted": "log_loss"}


def ranking_key(metrics: dict, metric: str, trial_id: int) -> tuple:
    """Sort key, smallest best: the metric, its tie-breaker (if any), the trial id."""
    def lowest_best(name: str) -> float:
        value = metrics.get(name, np.nan)
        value = np.inf if value is None or np.isnan(value) else value
        return -value if METRICS[name].greater_is_better and np.isfinite(value) else value

    second = TIE_BREAKER.get(metric)
    return (lowest_best(metric), lowest_best(second) if second else 0.0, trial_id)


def candidate_learners(settings, task: SearchTask, n_folds: int, budget: float | None):
    """Learners allowed by the settings, minus those whose expected trial cost alone would eat
    more than half the budget (reported as skipped, with the reason)."""
    names = settings.allowed_models or task.registry.names()
    names = [n for n in names if n not in settings.blocked_models]
    chosen, skipped = [], {}
    for name in names:
        cls = task.registry.get(name)
        caps = cls.capabilities
        if getattr(caps, "needs_gpu", False):
            skipped[name] = "needs a GPU"
            continue
        if getattr(settings, "enable_onnx_compatible_models", False) and not \
                cls.exports_onnx(onnx_defaults(cls), settings):
            skipped[name] = "does not export to ONNX (enable_onnx_compatible_models)"
            continue
        if name in task.unsuited and settings.allowed_models is None:
            skipped[name] = task.unsuited[name]
            continue
        if name in task.planned:
            chosen.append(name)
            continue
        measured = name in task.measured
        expected = task.measured.get(name, task.cost_seconds[caps.cost]) * task.size * n_folds
        if budget is not None and expected > budget / 2 and settings.allowed_models is None:
            skipped[name] = (f"{'measured' if measured else 'expected'} ~{expected:.0f}s per "
                             f"trial, over half the time budget ({budget:.0f}s)")
            continue
        chosen.append(name)
    return chosen, skipped


def preloads(registry, learners: list[str]) -> tuple[str, ...]:
    """The heavy modules the learners import (their ``preload``), for the workers' fork server
    to import once rather than every trial."""
    return tuple(sorted({m for name in learners
                         for m in getattr(registry.get(name), "preload", ())}))


def onnx_defaults(cls) -> dict:
    """The parameters that make a learner's trials export (tabular learners have none)."""
    return getattr(cls, "onnx_defaults", dict)()


def _portfolio(cls, planned: bool, onnx_settings) -> list[tuple[str, dict]]:
    """The baseline trials a learner's ``portfolio`` adds after its defaults: none for a learner
    the plan affords one trial; under ``enable_onnx_compatible_models`` (``onnx_settings``
    given) only those that export."""
    if planned:
        return []
    out = [(cls.name, {**(onnx_defaults(cls) if onnx_settings else {}), **params})
           for params in getattr(cls, "portfolio", tuple)()]
    return [(name, params) for name, params in out
            if onnx_settings is None or cls.exports_onnx(params, onnx_settings)]


def _suggest(trial: optuna.Trial, learners: list[str], registry,
             onnx_only: bool = False) -> tuple[str, dict]:
    name = trial.suggest_categorical("learner", learners)
    params = onnx_defaults(registry.get(name)) if onnx_only else {}
    spaces = (registry.onnx_search_space(name) if onnx_only
              else registry.search_space(name))
    for param, space in spaces.items():
        key = f"{name}.{param}"
        if isinstance(space, IntRange):
            params[param] = trial.suggest_int(key, space.low, space.high, log=space.log)
        elif isinstance(space, FloatRange):
            params[param] = trial.suggest_float(key, space.low, space.high, log=space.log)
        elif isinstance(space, Choice):
            options = list(space.options)
            index = trial.suggest_categorical(key, list(range(len(options))))
            params[param] = options[index]
    return name, params


def _refit_reserve(trials, metric, sign, n_folds, settings, after_share: float = 0.0) -> float:
    """Seconds kept back for the final refit: one fold's fit of the best trial, or of every
    likely ensemble member when ensembles are on, plus a worker's start for each, and the
    ``after_share`` of the budget the task spends on the model after it."""
    done = sorted([t for t in trials if t.status == "completed"],
                  key=lambda t: sign * t.metrics.get(metric, np.inf))
    members = 5 if (settings.enable_voting_ensemble or settings.enable_stack_ensemble) else 1
    # a trial that kept its fitted forms is refitted by re-filtering them, not by a new search;
    # several workers refit the members side by side
    fits = [t.duration * (_REUSED_REFIT if t.fitted is not None else 1.0) / max(n_folds, 1)
            for t in done[:members]]
    per_fold = max(sum(fits) / concurrent_jobs(settings.max_concurrent_trials),
                   max(fits, default=0.0))
    return (_REFIT_MARGIN * per_fold + _WORKER_START * min(members, len(done)) + 1.0
            + after_share * (settings.time_budget or 0.0))


# Once a model exists, one proposed trial may take at most this share of the budget left: a
# trial that would eat the rest (a costly learner on a big panel) is stopped and the search goes
# on.  The baselines are exempt: candidate_learners priced them, and a killed trial is time lost.
TRIAL_SHARE = 0.5


def trial_cap(timeout: float | None, deadline: float | None, reserve: float,
              capped: bool) -> float | None:
    """Seconds the next trial may run: ``timeout`` (the user's ``trial_timeout``) and, under a
    time budget when ``capped`` (a proposal, once some trial has completed), ``TRIAL_SHARE`` of
    the time left after the refit reserve."""
    if deadline is None or not capped:
        return timeout
    cap = TRIAL_SHARE * max(deadline - time.monotonic() - reserve, 1.0)
    return cap if timeout is None else min(timeout, cap)


def _tell(study: optuna.Study, trial: optuna.Trial, value: float) -> None:
    if np.isfinite(value):
        study.tell(trial, value)
    else:  # failed, timed out, or still running: optuna learns nothing from it
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


@dataclass
class Hooks:
    """How the caller follows and steers a search: every callback is optional."""

    # (candidate learners, skipped learners -> why), once, before the first trial
    on_start: Callable[[list[str], dict[str, str]], None] | None = None
    on_submit: Callable[[TrialSpec], None] | None = None
    on_trial: Callable[[TrialResult], None] | None = None
    # a trial of the interrupted run, taken from ``finished`` instead of run again
    on_replayed: Callable[[TrialResult], None] | None = None
    # () -> (cancel the whole search?, trial ids to cancel); polled about twice a second
    poll_cancel: Callable[[], tuple[bool, set]] | None = None
    # results of an earlier, interrupted run of the same search, by configuration key
    finished: dict[str, TrialResult] = field(default_factory=dict)


def config_key(learner: str, params: dict) -> str:
    return json.dumps([learner, params], sort_keys=True, default=str)


def search(task: SearchTask, folds: list, settings, context,
           workdir: Path, started: float, hooks: Hooks | None = None) -> SearchResult:
    """Run trials until a budget ends; ``started`` is the experiment's monotonic start time
    (earlier for a resumed experiment, so that its budget counts the time already spent).

    A resumed search replays the same seeded proposals: configurations found in
    ``hooks.finished`` take their recorded result instead of running again.  Recorded trials
    are replayed whatever the clock says (the budget limits new work only, and the time already
    spent may exceed it), so a resumed search with one worker ends where the uninterrupted one
    would have; recorded trials the proposals never reach are kept too."""
    hooks = hooks or Hooks()
    metric = settings.primary_metric
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    budget = settings.time_budget
    deadline = None if budget is None else started + budget
    learners, skipped = candidate_learners(settings, task, len(folds), budget)
    if not learners:
        from tsauto.errors import SettingsError, preview
        from tsauto.settings import no_learner_left

        if not skipped:  # nothing was left to try before any cost was considered
            raise SettingsError(no_learner_left(settings, task.registry.names()) + ".")
        reasons = "; ".join(f"{name} ({why})" for name, why in list(skipped.items())[:3])
        more = len(skipped) - 3
        reasons += f"; and {more} more ({preview(list(skipped)[3:], 10)})" if more > 0 else ""
        raise SettingsError(f"no allowed learner can run here: {reasons}. Raise time_budget or "
                            f"name learners in allowed_models.")
    if hooks.on_start is not None:
        hooks.on_start(learners, skipped)
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=settings.seed))
    onnx_only = getattr(settings, "enable_onnx_compatible_models", False)
    queue = [(name, task.planned.get(name) or
              (onnx_defaults(task.registry.get(name)) if onnx_only else {}))
             for name in task.baselines if name in learners]
    queue = [entry for name, params in queue for entry in
             [(name, params), *_portfolio(task.registry.get(name), name in task.planned,
                                          settings if onnx_only else None)]]
    proposable = [name for name in learners if name not in task.planned]
    executor = Executor(workdir, task.run_trial, (folds, context), settings.max_concurrent_trials,
                        preloads(task.registry, learners))
    trials: list[TrialResult] = []
    seen: dict[str, float] = {}
    pending: dict[int, tuple[optuna.Trial | None, str]] = {}
    state = {"best": np.inf, "since_best": 0, "reserve": 0.0}
    stopped, duplicates, proposed = "", 0, 0
    next_id = max((t.trial_id for t in hooks.finished.values()), default=-1) + 1
    last_poll = 0.0

    replaying = dict(hooks.finished)  # recorded results not replayed yet, by configuration

    def stop_reason(clock: bool = True) -> str:
        if settings.max_trials is not None and proposed >= settings.max_trials:
            return "max_trials reached"
        if settings.exit_score is not None and np.isfinite(state["best"]) and \
                state["best"] <= sign * settings.exit_score:
            return "exit_score reached"
        if settings.early_stopping_trials is not None and \
                state["since_best"] >= settings.early_stopping_trials:
            return f"no improvement in {settings.early_stopping_trials} trials"
        if duplicates >= 50:
            return "search space exhausted"
        if clock and deadline is not None and \
                deadline - time.monotonic() - state["reserve"] <= 0:
            return "time budget reached"
        return ""

    def record(result: TrialResult, otrial, key: str, fresh: bool) -> None:
        trials.append(result)
        value = (sign * result.metrics[metric] if result.status == "completed"
                 and not np.isnan(result.metrics.get(metric, np.nan)) else np.inf)
        seen[key] = value
        if otrial is not None:
            _tell(study, otrial, value)
        if value < state["best"]:
            state["best"], state["since_best"] = value, 0
        elif result.status != "canceled":
            state["since_best"] += 1
        state["reserve"] = _refit_reserve(trials, metric, sign, len(folds), settings,
                                          task.after_refit_share)
        if fresh and hooks.on_trial is not None:
            hooks.on_trial(result)
        elif not fresh and hooks.on_replayed is not None:
            hooks.on_replayed(result)

    try:
        while True:
            # While recorded trials remain, only the deterministic budgets apply: the replay
            # must reach the same point as the interrupted run did.
            while executor.free > 0 and not (stopped := stopped or
                                             stop_reason(clock=not replaying)):
                if queue:
                    (name, params), otrial = queue.pop(0), None
                elif not proposable:
                    stopped = "all trials done"
                    break
                else:
                    otrial = study.ask()
                    name, params = _suggest(otrial, proposable, task.registry, onnx_only)
                key = config_key(name, params)
                if key in seen:  # same configuration again: answer from memory
                    duplicates += 1
                    if otrial is not None:
                        _tell(study, otrial, seen[key])
                    continue
                if key in replaying:
                    duplicates, proposed = 0, proposed + 1
                    record(replaying.pop(key), otrial, key, fresh=False)
                    continue
                if replaying and (stopped := stop_reason()):
                    break  # a new trial, and the clock says no
                duplicates, proposed = 0, proposed + 1
                seen[key] = np.inf
                spec = TrialSpec(next_id, name, params, task.registry.get(name))
                if hooks.on_submit is not None:
                    hooks.on_submit(spec)
                # the baselines were priced by candidate_learners; proposals get the cap
                executor.submit(next_id, spec, trial_cap(settings.trial_timeout, deadline,
                                                         state["reserve"], otrial is not None
                                                         and np.isfinite(state["best"])))
                pending[next_id] = (otrial, key)
                next_id += 1
            if not executor.running:
                break
            if hooks.poll_cancel is not None and time.monotonic() - last_poll > 0.5:
                last_poll = time.monotonic()
                whole, some = hooks.poll_cancel()
                if whole:
                    stopped = "canceled"
                for trial_id in (set(executor.running) if whole else some & set(executor.running)):
                    elapsed = executor.kill(trial_id)
                    otrial, key = pending.pop(trial_id)
                    name, params = json.loads(key)
                    record(TrialResult(trial_id, name, params, "canceled", duration=elapsed,
                                       error="canceled by request"), otrial, key, fresh=True)
            hard_deadline = None if deadline is None else deadline - state["reserve"]
            for trial_id, status, payload, elapsed in executor.wait_any(hard_deadline, 0.5):
                otrial, key = pending.pop(trial_id)
                name, params = json.loads(key)
                result = payload if status == "ok" else TrialResult(
                    trial_id, name, params, "timeout" if status == "timeout" else "failed",
                    duration=elapsed, error=payload)
                record(result, otrial, key, fresh=True)
    finally:
        executor.shutdown()
    # Recorded trials the proposals did not reach (trials run in parallel finish in another
    # order, so the replay can diverge) are results all the same.
    trials += replaying.values()
    trials.sort(key=lambda t: t.trial_id)
    reserve = _refit_reserve(trials, metric, sign, len(folds), settings,
                             task.after_refit_share)
    if stopped != "canceled":
        trials += task.ensembles(trials, folds, context, metric, next_id,
                                 settings.enable_voting_ensemble, settings.enable_stack_ensemble)
    return SearchResult(trials, metric, stopped or "all trials done",
                        time.monotonic() - started, skipped, reserve, task.reference)
