"""The whole flow on bundled real data with real learners."""

import pandas as pd
import pytest

from tests.conftest import ACCOMMODATION_CUT, accommodation_settings
from tsauto import AutoML, datasets, load_model


@pytest.fixture(scope="module")
def accommodation():
    return datasets.load_frame("aus_accommodation")


def test_fit_leaderboard_forecast_save_load(accommodation, accommodation_run, tmp_path):
    # the shared budgeted fit of accommodation_settings() on the data before the cut
    run = accommodation_run[0]
    future = accommodation[accommodation["Date"] >= ACCOMMODATION_CUT]
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


def test_same_seed_same_leaderboard(accommodation, accommodation_run):
    # a second budgeted fit of the same settings on the same data, in this process
    cols = ["trial", "learner", "params", "status", "mase", "smape", "pinball"]
    train = accommodation[accommodation["Date"] < ACCOMMODATION_CUT]
    again = AutoML(accommodation_settings()).fit(train).leaderboard()[cols]
    pd.testing.assert_frame_equal(accommodation_run[0].leaderboard()[cols], again)
