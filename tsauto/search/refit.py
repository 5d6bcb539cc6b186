"""The final refit jobs, run in a worker process like the trials.

Kept in a light module: a worker imports the module of its job, and the refit runs in the
time kept back at the end of the budget.
"""

from __future__ import annotations

import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.search.context import ForecastContext, TabularContext
from tsauto.search.trial import TrialSpec, build_learner


def refit_forecaster(spec: TrialSpec, dataset: TimeSeriesDataset, context: ForecastContext):
    learner = build_learner(spec, context).fit(dataset)
    # Local statistical models fit their per-series models here, and keep them and the
    # forecast, inside the budget: the user's first forecast is immediate and serving from new
    # data never searches.
    learner.prepare(context.horizon)
    return learner


def refit_tabular(spec: TrialSpec, X: pd.DataFrame, y: pd.Series, context: TabularContext):
    return build_learner(spec, context).fit(X, y)
