"""Bad inputs to a fitted model through the Python API: each is a tsauto error naming the
argument, row or method at fault; a path is accepted wherever a frame is."""

import numpy as np
import pandas as pd
import pytest

from tsauto.errors import DataError, SettingsError
from tsauto.model import load_model


@pytest.fixture(scope="module")
def forecaster(saved_models):
    return load_model(saved_models["forecast"])


@pytest.fixture(scope="module")
def regressor(saved_models):
    return load_model(saved_models["regression"])


def future_of(model):
    return model.learner.schema_.future_frame(3).drop(columns=["step"]).assign(price=2.0)


def test_forecast_reads_future_from_a_path(tmp_path, forecaster):
    future = future_of(forecaster)
    path = tmp_path / "future.parquet"
    future.to_parquet(path)
    from_path = forecaster.forecast(future=str(path))
    pd.testing.assert_frame_equal(from_path, forecaster.forecast(future=future))
    with pytest.raises(SettingsError, match="future must be a pandas DataFrame or the path"):
        forecaster.forecast(future=[1, 2])


@pytest.mark.parametrize("bad,rows", [(["next month"], "rows 4"),
                                      (["2021-13-45", "soon"], "rows 1, 7")])
def test_future_dates_that_are_not_dates_are_named(forecaster, bad, rows):
    future = future_of(forecaster)
    future["date"] = future["date"].dt.strftime("%Y-%m-%d")
    for row, text in zip([int(r) for r in rows.removeprefix("rows ").split(", ")], bad):
        future.loc[row, "date"] = text
    with pytest.raises(DataError) as info:
        forecaster.forecast(future=future)
    message = str(info.value)
    assert f"future: time column 'date' has {len(bad)} values that are not dates" in message
    assert f"at {rows}." in message and repr(bad[0]) in message


def test_future_rows_without_a_time_are_named(forecaster):
    future = future_of(forecaster)
    future.loc[2, "date"] = pd.NaT
    with pytest.raises(DataError, match="future: time column 'date' is missing in 1 rows, e.g. "
                                        "rows 2"):
        forecaster.forecast(future=future)


def test_evaluate_names_holdout_dates_that_are_not_dates(forecaster, saved_models):
    holdout = future_of(forecaster).assign(sales=1.0)
    holdout["date"] = holdout["date"].dt.strftime("%Y-%m-%d")
    holdout.loc[5, "date"] = "31/31/2023"
    with pytest.raises(DataError, match="evaluate: time column 'date' has 1 values that are not "
                                        "dates, e.g. '31/31/2023' at rows 5"):
        forecaster.evaluate(holdout, future=future_of(forecaster))


def test_evaluate_refuses_unknown_series_and_missing_actuals(forecaster):
    holdout = future_of(forecaster).assign(sales=1.0)
    holdout["series_id"] = holdout["series_id"].astype(str)
    first = holdout["series_id"].iloc[0]
    with pytest.raises(DataError, match="evaluate: the holdout has series the model was not "
                                        "fitted on: 'nowhere'; its series are "):
        forecaster.evaluate(holdout.assign(series_id=holdout["series_id"].where(
            holdout["series_id"] != first, "nowhere")), future=future_of(forecaster))
    holdout.loc[holdout["series_id"] == first, "sales"] = np.nan
    with pytest.raises(DataError, match=f"target 'sales' is missing in 3 of 9 row\\(s\\) "
                                        f"\\(series '{first}'\\)"):
        forecaster.evaluate(holdout, future=future_of(forecaster))


def test_a_series_without_history_is_named_not_left_out(forecaster, saved_models):
    """forecast(data=) forecasts the series given; one with no target value cannot be, and is
    named rather than missing from the result.  A backtest drops it as the fit did."""
    panel = saved_models["panel"].copy()
    last = panel["store"].unique()[-1]
    panel.loc[panel["store"] == last, "sales"] = np.nan
    future = future_of(forecaster)
    with pytest.raises(DataError, match=f"data: series '{last}' have no value of 'sales'"):
        forecaster.forecast(data=panel, future=future)
    result = forecaster.backtest(panel, n_windows=1)
    assert last not in set(result.by_series["series_id"].astype(str))


def test_future_and_holdout_times_are_read_on_the_models_grid(forecaster, saved_models):
    """A monthly model reads 2023-01-15 as January, as forecast(data=) and the fit do; two
    different days of one series in one month, a row without its series, and weekly history
    are errors that say what to give."""
    future = future_of(forecaster)
    mid = future.assign(date=future["date"] + pd.Timedelta(days=14))
    pd.testing.assert_frame_equal(forecaster.forecast(future=mid),
                                  forecaster.forecast(future=future))
    holdout = future.assign(sales=60.0)
    assert forecaster.evaluate(holdout.assign(date=mid["date"]), future=future) == \
        forecaster.evaluate(holdout, future=future)
    twice = pd.concat([future, mid.iloc[:1]])
    first = future.iloc[0]
    with pytest.raises(DataError, match=f"future: time column: series '{first['series_id']}' "
                                        f"has 2 different times in one period of the "
                                        f"model's frequency 'MS', '{first['date']:%Y-%m-%d}', "
                                        f"'.*'; give one row per period"):
        forecaster.forecast(future=twice)
    nameless = future.assign(series_id=future["series_id"].astype(object))
    nameless.loc[nameless.index[4], "series_id"] = None
    with pytest.raises(DataError, match="future: 'series_id' is missing in 1 row\\(s\\), e.g. "
                                        "rows 4; every row needs its series"):
        forecaster.forecast(future=nameless)
    panel = saved_models["panel"]
    weekly = panel.assign(date=panel.groupby("store").cumcount().map(
        lambda k: pd.Timestamp("2020-01-05") + pd.Timedelta(weeks=k)))
    with pytest.raises(DataError, match="data: .* rows repeat a period.* The model's frequency "
                                        "is 'MS': give one row per period"):
        forecaster.forecast(data=weekly, future=future)


@pytest.mark.parametrize("n_windows", [0, -1, 1.5, True, "2"])
def test_backtest_n_windows_must_be_a_positive_integer(forecaster, saved_models, n_windows):
    with pytest.raises(SettingsError, match=f"n_windows must be a positive integer .*got "
                                            f"{n_windows!r}"):
        forecaster.backtest(saved_models["panel"], n_windows=n_windows)


@pytest.mark.parametrize("kw,words", [
    (dict(n_windows=20), "n_windows=20 is too many for this data: the longest series has 36 "
                         "periods, which hold at most 11 window(s) of horizon 3, step 3; use "
                         "n_windows=11 or less"),
    (dict(n_windows=1, horizon=40), "no window of horizon 40 after 3 periods to train on; use "
                                    "a horizon of 33 or less"),
    (dict(step=0), "step must be a positive integer"),
    (dict(horizon=0), "horizon must be a positive integer"),
])
def test_backtest_settings_the_data_cannot_hold(forecaster, saved_models, kw, words):
    with pytest.raises(SettingsError) as info:
        forecaster.backtest(saved_models["panel"], **kw)
    assert words in str(info.value)


def test_backtest_reads_data_from_a_path(tmp_path, forecaster, saved_models):
    path = tmp_path / "panel.csv"
    saved_models["panel"].to_csv(path, index=False)
    result = forecaster.backtest(path, n_windows=2)
    assert result.by_cutoff.shape[0] == 2 and np.isfinite(result.overall["mae"])


@pytest.mark.parametrize("method,use", [("predict", "use model.forecast("),
                                        ("predict_proba", "use model.forecast()")])
def test_a_forecaster_names_its_own_method(forecaster, saved_models, method, use):
    with pytest.raises(SettingsError) as info:
        getattr(forecaster, method)(saved_models["panel"])
    assert f"ForecastModel (forecasting) has no {method}(): {use}" in str(info.value)


@pytest.mark.parametrize("method,use", [("forecast", "use model.predict(rows)"),
                                        ("backtest", "use model.evaluate(")])
def test_a_tabular_model_names_its_own_method(regressor, method, use):
    with pytest.raises(SettingsError) as info:
        getattr(regressor, method)(horizon=3)
    assert f"TabularModel (regression) has no {method}(): {use}" in str(info.value)


def test_tabular_evaluate_refuses_rows_without_their_target(regressor, saved_models):
    rows = saved_models["rows"].head(6).copy()
    rows.loc[[1, 4], "y"] = np.nan
    with pytest.raises(DataError, match=r"evaluate: the target 'y' is missing in 2 of 6 "
                                        r"row\(s\) \(rows 1, 4\)"):
        regressor.evaluate(rows)


def test_predict_on_zero_rows(regressor, saved_models):
    with pytest.raises(DataError, match=r"the rows to predict are empty \(0 rows\).*'a', 'b'"):
        regressor.predict(saved_models["rows"].iloc[:0])


def test_predict_reads_rows_from_a_path(tmp_path, regressor, saved_models):
    rows = saved_models["rows"].head(4)
    path = tmp_path / "rows.json"
    rows.to_json(path, orient="records")
    np.testing.assert_allclose(regressor.predict(path), regressor.predict(rows))
    with pytest.raises(DataError, match="rows file '.*nope.csv' does not exist"):
        regressor.predict(tmp_path / "nope.csv")


@pytest.mark.parametrize("horizon", [0, True, 2.0])
def test_forecast_horizon_must_be_a_positive_integer(forecaster, horizon):
    with pytest.raises(SettingsError, match=f"horizon must be a positive integer .*got "
                                            f"{horizon!r}"):
        forecaster.forecast(horizon=horizon, future=future_of(forecaster))
