"""What every task hands the shared flow (``AutoML``), and what the tasks share.

A task module (``forecasting``, ``tabular``) provides ``make_dataset(settings, frame)`` and
``prepare(settings, dataset, validation_data, reporter, windows) -> Prepared`` (``windows``: the
validation windows a stored experiment was scored on, or None); the engine sees only the
``SearchTask`` inside and the worker-run functions it names (``run_trial``, ``refit_learner``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from tsauto.data.guardrails import GuardrailReport
from tsauto.progress import members_summary
from tsauto.search.engine import SearchTask
from tsauto.search.ensembles import is_ensemble
from tsauto.search.trial import TrialResult


@dataclass
class Prepared:
    """What one task hands the shared flow: the cleaned data, its report, the validation folds,
    what every trial is given, and how the winner is refitted and wrapped as the artifact."""

    dataset: object                                  # TimeSeriesDataset | TabularDataset
    report: GuardrailReport
    folds: list                                      # empty: nothing to search on
    context: object                                  # the task's typed trial context
    task: SearchTask
    validation: str                                  # the validation scheme, in words
    refit_job: Callable                              # (spec, *refit_args) -> fitted learner
    refit_args: Callable                             # (member trials) -> args, None: no data
    make_model: Callable                             # (trial, fitted members) -> artifact
    # How the search was planned, as stored with the experiment, so that a resume or a load
    # searches as planned then (forecasting: forecasting_plan.SearchPlan; tabular: nothing)
    plan: dict = field(default_factory=dict)


def describe(trial: TrialResult, fitted: list) -> str:
    """The model in words; an ensemble by its members' learner names and weights."""
    if is_ensemble(trial):
        names = {i: getattr(f, "name", type(f).__name__)
                 for i, f in zip(trial.params["members"], fitted)}
        return f"{trial.learner} of {members_summary(trial.params, names)}"
    return f"{trial.learner} {json.dumps(trial.params, default=str)}"
