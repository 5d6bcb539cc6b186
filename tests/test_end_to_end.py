"""The whole flow on bundled real data with real learners."""

import pandas as pd
import pytest

from tsauto import AutoML, ForecastSettings, datasets, load_model


@pytest.fixture(scope="module")
def accommodation():
    return datasets.load_frame("aus_accommodation")


def settings(**kw):
    roles = datasets.roles("aus_accommodation")
    roles.pop("freq", None)
    base = dict(**roles, horizon=4, allowed_models=["seasonal_naive", "auto_ets", "lightgbm"],
                max_trials=4, time_budget=180, verbosity=0, seed=7)
    return ForecastSettings(**{**base, **kw})


def test_fit_leaderboard_forecast_save_load(accommodation, tmp_path):
    train = accommodation[accommodation["Date"] < "2015-07-01"]
    future = accommodation[accommodation["Date"] >= "2015-07-01"]
    run = AutoML(settings()).fit(train, output_dir=tmp_path)
    board = run.leaderboard()
    assert {"seasonal_naive", "auto_ets", "lightgbm"} <= set(board.learner)
    assert (board[board.learner != "stack_ensemble"].status == "completed").all()
    model = run.best_model
    covariates = future[["State", "Date", "CPI"]]
    forecast = model.forecast(future=covariates)
    assert len(forecast) == 8 * 4 and not forecast.isna().any().any()
    assert (forecast["q0.1"] <= forecast["q0.9"]).all()
    model.save(tmp_path / "m.pkl")
    pd.testing.assert_frame_equal(load_model(tmp_path / "m.pkl").forecast(future=covariates),
                                  forecast)
    scores = model.evaluate(future.head(8 * 4), future=covariates)
    assert scores["mase"] > 0 and 0 <= scores["coverage"] <= 1


def test_same_seed_same_leaderboard(accommodation):
    cols = ["trial", "learner", "params", "status", "mase", "smape", "pinball"]
    first = AutoML(settings(max_trials=3)).fit(accommodation).leaderboard()[cols]
    second = AutoML(settings(max_trials=3)).fit(accommodation).leaderboard()[cols]
    pd.testing.assert_frame_equal(first, second)
