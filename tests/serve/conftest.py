"""Small fitted models for the serving tests, fitted once per session."""

import pytest

from tests.conftest import make_panel
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of

ROLES = {"time_column": "date", "target_column": "sales", "grain_columns": ["store"]}
QUANTILES = (0.1, 0.5, 0.9)


def fitted_model(panel, name: str, **params) -> ForecastModel:
    """``name`` fitted on the panel up to mid-2023 and prepared as the final refit leaves it."""
    ds = TimeSeriesDataset(panel[panel.date < "2023-07-01"], **ROLES)
    learner = registry.create(name, quantiles=QUANTILES, **params).fit(ds)
    learner.prepare(6)
    return ForecastModel(learner, ds.schema(), history_of(ds), 6, QUANTILES)


@pytest.fixture(scope="session")
def panel():
    return make_panel(n_series=3, length=48)


@pytest.fixture(scope="session")
def statistical(panel):
    return fitted_model(panel, "auto_ets")
