"""The final refit: the best trial (every member of an ensemble) fitted on all the data, in
worker processes like the trials, inside what is left of the budget.

The search schedules it; the task says what to fit on (``refit_args``), how one learner is
fitted in a worker (``refit_job``, a module-level function of the task's module) and what
model the fitted members make (``make_model``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tsauto.errors import NoModelError
from tsauto.search.engine import SearchResult, SearchTask
from tsauto.search.ensembles import is_ensemble
from tsauto.search.executor import Executor
from tsauto.search.trial import TrialSpec


class Refittable(Protocol):
    """What the refit needs from a task's preparation."""

    task: SearchTask
    refit_job: Callable      # (spec, *refit_args) -> fitted learner, run in a worker
    refit_args: Callable     # (member trials) -> args, None: no data to fit them on
    make_model: Callable     # (trial, fitted members) -> the model


def refit_best(result: SearchResult, prepared: Refittable, settings, workdir, started,
               metric: str | None = None, floor: float = 1.0,
               on_fitted: Callable[[], None] | None = None):
    """Refit the best trial (every member of an ensemble) on all the data in workers, so
    that it honours the budget; if that fails, the next best trial is tried.  Returns the
    model (None if no trial could be refitted) and the refit errors.  ``on_fitted`` is called
    after each member is fitted."""
    ranked = result.ranked(metric)
    by_id = {t.trial_id: t for t in result.trials}
    errors: list[str] = []
    # The last resort, as a model past the budget beats no model: the best single trial,
    # refitted without a time limit.  When it comes up in turn it gets no limit either: a
    # refit stopped at the budget would only be run again from the start.
    single = next((t for t in ranked if not is_ensemble(t)), None)
    for trial in ranked:
        members = ([by_id[i] for i in trial.params["members"]] if is_ensemble(trial)
                   else [trial])
        fitted = fit_members(prepared, settings, workdir, members,
                             None if trial is single else started, errors, floor, on_fitted)
        if fitted is not None:
            return _made(prepared, trial, fitted), errors
        if trial is single:
            single = None  # it failed untimed: nothing to try again
        if started is not None and settings.time_budget is not None and \
                time.monotonic() - started > settings.time_budget:
            break
    if single is not None and started is not None:
        fitted = fit_members(prepared, settings, workdir, [single], None, errors,
                             on_fitted=on_fitted)
        if fitted is not None:
            return _made(prepared, single, fitted), errors
    return None, errors


def _made(prepared: Refittable, trial, fitted: list):
    """The model of ``trial``'s fitted members, knowing its trial (``Run.refit_note``)."""
    model = prepared.make_model(trial, fitted)
    model.trial_id = trial.trial_id
    return model


def refit_best_by(result: SearchResult, prepared: Refittable, settings, metric: str):
    """The best trial by ``metric``, refitted on all the data without a time limit."""
    with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
        model, errors = refit_best(result, prepared, settings, Path(tmp), None, metric)
    if model is None:
        raise NoModelError(f"no trial scored on {metric} could be refitted"
                           + (f": {errors[0]}" if errors else "") + ".")
    return model


def refit_each(result: SearchResult, prepared: Refittable, settings) -> list:
    """Every completed trial refitted on all the data, best first, as (trial, model or
    None, error), each as the final refit would fit it (an ensemble's members together,
    on the series they can fit)."""
    by_id = {t.trial_id: t for t in result.trials}
    out = []
    with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
        for trial in result.ranked():
            members = ([by_id[i] for i in trial.params["members"]] if is_ensemble(trial)
                       else [trial])
            errors: list[str] = []
            fitted = fit_members(prepared, settings, Path(tmp) / str(trial.trial_id), members,
                                 None, errors)
            out.append((trial, None, "; ".join(errors) or "not refitted") if fitted is None
                       else (trial, _made(prepared, trial, fitted), None))
    return out


def fit_members(prepared: Refittable, settings, workdir, members, started, errors: list,
                floor: float = 1.0, on_fitted: Callable[[], None] | None = None):
    """Fitted learners of the members in order, or None if one fails or runs out of time
    (why is appended to ``errors``); each member gets what is left of the budget, at least
    ``floor`` seconds."""
    args = prepared.refit_args(members)
    if args is None:
        errors.append(f"{members[0].learner}: no series long enough for it")
        return None
    remaining = None if settings.time_budget is None or started is None else \
        max(settings.time_budget - (time.monotonic() - started), floor)
    registry = prepared.task.registry
    executor = Executor(workdir, prepared.refit_job, args, settings.max_concurrent_trials)
    fitted, queue = {}, list(members)
    try:
        while queue or executor.running:
            while queue and executor.free:
                t = queue.pop(0)
                executor.submit(t.trial_id, TrialSpec(t.trial_id, t.learner, t.params,
                                                      registry.get(t.learner), t.fitted),
                                remaining)
            for key, status, payload, _ in executor.wait_any():
                if status != "ok":
                    errors.append(f"refit of trial {key}: {str(payload).splitlines()[0]}")
                    return None
                fitted[key] = payload
                if on_fitted is not None:
                    on_fitted()
    finally:
        executor.shutdown()
    return [fitted[t.trial_id] for t in members]
