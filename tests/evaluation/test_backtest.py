import numpy as np
import pandas as pd
import pytest

import tests.search.learners_for_tests  # noqa: F401
from tests.conftest import make_panel
from tests.search.learners_for_tests import WindowMean
from tsauto import TimeSeriesDataset
from tsauto.automl import AutoML
from tsauto.evaluation.backtest import backtest
from tsauto.settings import ForecastSettings


def test_backtest_agrees_with_hand_computed_errors():
    # One series 1..12 plus a bump; a window-1 mean is the naive forecast: last value repeated.
    y = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 12], dtype=float)
    frame = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=12, freq="D"), "y": y})
    ds = TimeSeriesDataset(frame, time_column="t", target_column="y")
    result = backtest(WindowMean(window=1), ds, horizon=2, n_windows=2, step=2)
    # cutoffs after 8 and 10 points: forecasts 8 and 10 for the next two days
    first, second = result.by_cutoff.iloc[0], result.by_cutoff.iloc[1]
    assert first["mae"] == pytest.approx((abs(9 - 8) + abs(10 - 8)) / 2)
    assert second["mae"] == pytest.approx((abs(20 - 10) + abs(12 - 10)) / 2)
    assert first["rmse"] == pytest.approx(np.sqrt((1 + 4) / 2))
    # daily data shorter than 7+1 points would fall back to season 1; 8 points: seasonal diffs
    scale1 = np.mean(np.abs(y[7:8] - y[0:1]))
    assert first["mase"] == pytest.approx(1.5 / scale1)
    by_step = result.by_step.set_index("step")
    assert by_step.loc[1, "mae"] == pytest.approx((1 + 10) / 2)
    assert by_step.loc[2, "mae"] == pytest.approx((2 + 2) / 2)
    series = result.by_series.iloc[0]
    assert series["mae"] == pytest.approx((1 + 2 + 10 + 2) / 4) and series["points"] == 4
    assert result.overall["mae"] == pytest.approx((1.5 + 6) / 2)


def test_backtest_coverage_and_shape():
    frame = make_panel(n_series=3, length=40)
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales", grain_columns="store")
    result = backtest(WindowMean(quantiles=[0.1, 0.9], window=6), ds, horizon=4, n_windows=3)
    assert len(result.forecasts) == 3 * 3 * 4
    assert set(result.by_step["step"]) == {1, 2, 3, 4}
    assert 0 <= result.overall["coverage"] <= 1
    assert len(result.by_series) == 3


def test_a_series_too_short_for_a_cutoff_is_forecast_there_by_the_fallback():
    days = pd.date_range("2020-01-01", periods=20, freq="D")
    frame = pd.concat([pd.DataFrame({"t": days, "id": "long", "y": np.arange(20.0)}),
                       pd.DataFrame({"t": days[-6:], "id": "short", "y": 10.0 + np.arange(6)})])
    ds = TimeSeriesDataset(frame, time_column="t", target_column="y", grain_columns="id")
    learner = WindowMean(window=3)
    plain = backtest(learner, ds, horizon=2, n_windows=3, step=2)
    result = backtest(learner, ds, horizon=2, n_windows=3, step=2, fallback=WindowMean(window=1))
    # "short" has 0, 2 and 4 periods before the three cutoffs: none, the fallback, the learner
    assert plain.fallbacks.empty
    assert result.fallbacks[["series_id", "periods"]].values.tolist() == [["short", 2]]
    cutoffs = sorted(result.forecasts["cutoff"].unique())
    rows = result.forecasts[(result.forecasts["series_id"] == "short")
                            & (result.forecasts["cutoff"] == cutoffs[1])]
    # the fallback's forecast from [10, 11]: its last value, against 12 and 13
    assert rows["forecast"].tolist() == [11.0, 11.0] and rows["actual"].tolist() == [12.0, 13.0]
    assert len(result.forecasts) == len(plain.forecasts) + 2
    by_series = result.by_series.set_index("series_id")
    assert by_series.loc["short", "points"] == 4  # 2 by the fallback, 2 by the learner
    assert result.by_cutoff["mae"].iloc[1] == pytest.approx(
        (plain.forecasts.loc[plain.forecasts["cutoff"] == cutoffs[1], "forecast"]
         .sub(plain.forecasts.loc[plain.forecasts["cutoff"] == cutoffs[1], "actual"])
         .abs().sum() + 1 + 2) / 4)


def test_model_backtest_explain_and_best_by_metric(tmp_path):
    frame = make_panel(n_series=3, length=50)
    settings = ForecastSettings(time_column="date", target_column="sales", grain_columns=["store"],
                                horizon=4, allowed_models=["test_window_mean"], max_trials=4,
                                time_budget=120, verbosity=0, enable_stack_ensemble=False)
    run = AutoML(settings).fit(frame)
    model = run.best_model
    result = model.backtest(frame, n_windows=2)
    assert len(result.by_cutoff) == 2 and np.isfinite(result.overall["mase"])
    assert result.fallbacks.empty
    # a store with 10 periods has 2 before the first cutoff: the fallback forecasts it there
    first = frame["store"] == frame["store"].iloc[0]
    cut = pd.concat([frame[first].tail(10), frame[~first]])
    short = model.backtest(cut, n_windows=2)
    assert short.fallbacks["periods"].tolist() == [2]
    assert len(short.forecasts) == len(result.forecasts)
    assert "1 series forecast(s) by the fallback" in short.to_html(tmp_path / "bt.html").read_text()
    # data with a missing value and a missing period, as fit accepts it, backtests
    holey = frame.drop(index=frame.index[7]).assign(
        sales=lambda f: f["sales"].mask(f.index == f.index[20]))
    assert np.isfinite(model.backtest(holey, n_windows=2).overall["mae"])
    explained = model.explain()
    assert explained["learner"] in ("test_window_mean", "voting_ensemble")
    by_rmse = run.best_model_by("rmse")
    board = run.leaderboard()
    best_rmse = board.loc[board["rmse"].idxmin()]
    assert by_rmse.description.startswith(best_rmse["learner"])
    with pytest.raises(Exception, match="unknown metric"):
        run.best_model_by("accuracy")
