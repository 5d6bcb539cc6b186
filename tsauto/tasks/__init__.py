"""One module per task: everything the engine needs from it (the dataset, validation folds,
how a trial runs in a worker, its ensembles, the refit and the model it returns).

    forecasting.py   ForecastSettings -> ForecastModel
    tabular.py       ClassificationSettings, RegressionSettings -> TabularModel

A new task is one module with ``make_dataset(settings, frame)`` and ``prepare(settings,
dataset, validation_data, reporter) -> Prepared`` (``base.py``), named in ``TASKS``.
"""

from __future__ import annotations

from types import ModuleType

from tsauto.tasks import forecasting, tabular
from tsauto.tasks.base import Prepared

TASKS: dict[str, ModuleType] = {"forecasting": forecasting, "classification": tabular,
                                "regression": tabular}


def task_module(task: str) -> ModuleType:
    return TASKS[task]


__all__ = ["TASKS", "Prepared", "task_module"]
