"""What the engine searches for each kind of problem: forecasting, classification, regression.

Each builder returns a ``SearchTask``: the learners and their registry, the first trials, how a
trial runs in a worker and how the ensembles are built.  The engine is the same for all three.
"""

from __future__ import annotations

from functools import partial

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.learners import registry
from tsauto.learners.tabular.registry import BASELINES as TABULAR_BASELINES
from tsauto.search.engine import SearchTask
from tsauto.search.ensembles import ensemble_trials
from tsauto.search.suitability import unsuited_learners
from tsauto.search.tabular import TaskRegistry, run_tabular_trial, tabular_ensembles
from tsauto.search.trial import run_trial

# Cheap, strong first trials, in this order, when allowed (and affordable on this data): the
# proven statistical family first (cheapest first), so that a short budget still scores the
# statistical combination (tsauto.search.combination); ARIMA, the costliest, last.
FORECASTING_BASELINES = ("seasonal_naive", "auto_theta", "auto_ets", "auto_ces", "lightgbm",
                         "auto_arima")
# CPU-seconds per series per fold by declared cost (measured here on monthly series of ~120
# points: AutoTheta 0.025, AutoETS 0.15, AutoARIMA 1.6), to keep costly learners out of short
# budgets.
FORECASTING_COST_SECONDS = {"low": 0.02, "medium": 0.15, "high": 1.5}
# CPU-seconds per 1,000 rows per fold by declared cost (a few dozen columns).
TABULAR_COST_SECONDS = {"low": 0.05, "medium": 0.3, "high": 2.0}


def forecasting_task(dataset: TimeSeriesDataset, measured: dict | None = None) -> SearchTask:
    """``measured``: seconds per series per fold by learner (``tsauto.search.planning``)."""
    return SearchTask(registry, FORECASTING_BASELINES, run_trial,
                      partial(ensemble_trials, target=dataset.target_column,
                              time_column=dataset.time_column),
                      dataset.n_series, FORECASTING_COST_SECONDS,
                      unsuited_learners(dataset, registry), dict(measured or {}))


def tabular_task(task: str, n_rows: int) -> SearchTask:
    return SearchTask(TaskRegistry(task), TABULAR_BASELINES[task], run_tabular_trial,
                      tabular_ensembles, n_rows / 1000, TABULAR_COST_SECONDS)
