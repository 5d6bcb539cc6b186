import atexit
import os
import shutil
import tempfile

import numpy as np
import pandas as pd
import pytest

# onnxruntime and matplotlib write caches under $HOME on import: keep them out of the real one.
_home = tempfile.mkdtemp(prefix="tsauto-home-")
for var in ("HOME", "XDG_CACHE_HOME", "MPLCONFIGDIR"):
    os.environ[var] = _home
# Removed when the session that made it ends (not by a worker process forked from it).
_owner = os.getpid()
atexit.register(lambda: os.getpid() == _owner and shutil.rmtree(_home, ignore_errors=True))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_panel(n_series=3, length=48, freq="MS", start="2020-01-01", seed=0, season=12):
    """Seeded synthetic long frame: level + trend + seasonality + noise per series."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=length, freq=freq)
    frames = []
    for i in range(n_series):
        t = np.arange(length)
        y = 50 + 10 * i + 0.5 * t + 5 * np.sin(2 * np.pi * t / season) + rng.normal(0, 1, length)
        frames.append(pd.DataFrame({"store": f"s{i}", "date": times, "sales": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def panel():
    return make_panel()


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory):
    """Two small fitted models saved to disk, shared by the tests of bad inputs to them: a
    forecaster that uses a known covariate ('price') and a regressor (columns 'a', 'b')."""
    from tsauto.automl import AutoML
    from tsauto.settings import ForecastSettings, RegressionSettings

    folder = tmp_path_factory.mktemp("models")
    quick = dict(max_trials=1, enable_voting_ensemble=False, enable_stack_ensemble=False,
                 verbosity=0, time_budget=120)
    panel = make_panel(length=36).assign(price=lambda f: np.arange(len(f)) % 5)
    forecast = AutoML(ForecastSettings(
        time_column="date", target_column="sales", grain_columns=["store"],
        known_covariates=["price"], horizon=3, allowed_models=["elastic_net"],
        n_cross_validations=1, **quick)).fit(panel).best_model
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    rows["y"] = 2 * rows["a"] + rng.normal(size=60)
    regression = AutoML(RegressionSettings(target_column="y", allowed_models=["ridge"],
                                           **quick)).fit(rows).best_model
    forecast.save(folder / "forecast.pkl")
    regression.save(folder / "regression.pkl")
    return {"forecast": folder / "forecast.pkl", "regression": folder / "regression.pkl",
            "panel": panel, "rows": rows}


ACCOMMODATION_CUT = "2015-07-01"


def accommodation_settings(**kw):
    """The forecasting experiment on bundled aus_accommodation that several test files read:
    three learners (statistical, naive, LightGBM with the CPI covariate), budgeted, seeded."""
    from tsauto import ForecastSettings, datasets

    roles = datasets.roles("aus_accommodation")
    roles.pop("freq", None)
    base = dict(**roles, horizon=4, max_trials=3, time_budget=120, verbosity=0, seed=7,
                allowed_models=["seasonal_naive", "auto_ets", "lightgbm"])
    return ForecastSettings(**{**base, **kw})


@pytest.fixture(scope="session")
def accommodation_run(tmp_path_factory):
    """(run, folder): that experiment fitted once on the data before ACCOMMODATION_CUT and
    stored as `tsauto fit --out` leaves it.  Tests only read it (the end-to-end flow, the
    same-seed rerun, the reports of a stored run), so one budgeted fit serves them all."""
    from tsauto import AutoML, datasets

    frame = datasets.load_frame("aus_accommodation")
    folder = tmp_path_factory.mktemp("accommodation-run")
    run = AutoML(accommodation_settings()).fit(frame[frame["Date"] < ACCOMMODATION_CUT],
                                               output_dir=folder)
    return run, folder
