"""One module per task: everything the engine needs from it (the dataset, validation folds,
how a trial runs in a worker, its ensembles, the refit and the model it returns).

    forecasting.py   ForecastSettings -> ForecastModel
    tabular.py       ClassificationSettings, RegressionSettings -> TabularModel

A new task is one module with ``make_dataset(settings, frame)`` and ``prepare(settings,
dataset, validation_data, reporter, windows) -> Prepared`` (``base.py``), named in ``TASKS``.  Task
modules are imported on first use: a worker imports only the module of its job.
"""

from __future__ import annotations

import importlib
from types import ModuleType

TASKS = {"forecasting": "tsauto.tasks.forecasting", "classification": "tsauto.tasks.tabular",
         "regression": "tsauto.tasks.tabular"}


def task_module(task: str) -> ModuleType:
    return importlib.import_module(TASKS[task])


__all__ = ["TASKS", "task_module"]
