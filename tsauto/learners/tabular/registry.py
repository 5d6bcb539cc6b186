"""Registry of the tabular learners: a name maps to its class.

Kept apart from the forecasting registry, so a name here may repeat a forecaster's name.
"""

from __future__ import annotations

from typing import Any

from tsauto.errors import SettingsError, closest_hint
from tsauto.learners.tabular.base import TASKS, TabularLearner
from tsauto.learners.tabular.learners import ALL

_REGISTRY: dict[str, type[TabularLearner]] = {cls.name: cls for cls in ALL}

# Cheap, strong first trials for the search.
BASELINES = {"classification": ("lightgbm", "logistic_regression", "random_forest"),
             "regression": ("lightgbm", "elastic_net", "random_forest")}


def names(task: str | None = None) -> list[str]:
    """Learner names, all or those that support ``task``."""
    if task is not None and task not in TASKS:
        raise SettingsError(f"unknown task {task!r}{closest_hint(task, TASKS)}; valid tasks: "
                            f"{', '.join(TASKS)}.")
    return sorted(n for n, cls in _REGISTRY.items() if task is None or task in cls.tasks)


def get(name: str) -> type[TabularLearner]:
    if name not in _REGISTRY:
        raise SettingsError(f"unknown tabular learner {name!r}.{closest_hint(name, _REGISTRY)} "
                            f"Known learners: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def create(name: str, task: str, **params: Any) -> TabularLearner:
    """An unfitted learner; ``params`` are ``random_state`` and its hyper-parameters."""
    cls = get(name)
    cls.check_task(task)
    learner = cls(task, **params)
    learner.resolved_params()  # unknown parameter names fail here, not at fit
    return learner


class TaskLearners:
    """The learners of one task, with the registry interface the search uses (``names()``,
    ``get(name)``, ``search_space(name)``), as the forecasting registry module has it."""

    def __init__(self, task: str) -> None:
        self.task = task

    def names(self) -> list[str]:
        return names(self.task)

    def get(self, name: str) -> type[TabularLearner]:
        cls = get(name)
        cls.check_task(self.task)
        return cls

    def search_space(self, name: str) -> dict:
        return self.get(name).search_space(self.task)

    def onnx_search_space(self, name: str) -> dict:
        """Every value of the space exports (the scalers included): the whole space."""
        return self.search_space(name)
