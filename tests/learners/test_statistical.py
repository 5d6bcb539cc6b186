"""Statistical learners (statsforecast): forecasts, quantiles, fallbacks, pickling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsauto
from tests.learners.learner_checks import check_forecast, roundtrip, series_frame
from tsauto.errors import DataError, MissingFutureError, SettingsError
from tsauto.learners import _stat_common, create, get
from tsauto.learners._stat_common import level_of, levels_for, quantile_key, resolve_jobs

STATISTICAL = ["auto_arima", "auto_ets", "auto_theta", "auto_ces", "seasonal_naive", "naive",
               "historic_average", "window_average", "seasonal_window_average",
               "croston_optimized", "adida", "imapa", "mstl"]
QUANTILES = (0.1, 0.5, 0.9)


@pytest.mark.parametrize("name", STATISTICAL)
def test_forecasts_every_series_and_survives_pickle(name, accommodation, accommodation_plain,
                                                    tmp_path):
    learner = create(name, quantiles=QUANTILES)
    if learner.capabilities.known_covariates:
        train, _, future = accommodation
    else:
        (train, _), future = accommodation_plain, None
    frame = learner.fit(train).predict(8, future)
    check_forecast(frame, train, 8, QUANTILES)
    assert frame.attrs["fallbacks"] == {}
    # q0.5 is the point forecast (the median of the symmetric intervals).
    np.testing.assert_allclose(frame["q0.5"], frame["forecast"])
    loaded = roundtrip(learner, tmp_path)
    pd.testing.assert_frame_equal(loaded.predict(8, future), frame)  
    loaded._cache = None  # and the loaded model really forecasts again, to the same numbers
    pd.testing.assert_frame_equal(loaded.predict(8, future), frame)


@pytest.mark.parametrize("name", STATISTICAL)
def test_short_constant_and_zero_series_fall_back_and_are_recorded(name, awkward):
    learner = create(name, quantiles=(0.05, 0.5, 0.95)).fit(awkward)
    frame = learner.predict(6)
    check_forecast(frame, awkward, 6, (0.05, 0.5, 0.95))
    if name not in ("naive", "historic_average"):
        assert "one" in frame.attrs["fallbacks"]
        assert frame.attrs["fallbacks"]["one"].startswith("too short")
        assert frame.attrs["fallbacks"]["one"].endswith("forecast with naive")
    assert "normal" not in frame.attrs["fallbacks"]
    # A fallen-back series gets the naive forecast: its last value.
    one = frame[frame["series_id"] == "one"]
    if "one" in frame.attrs["fallbacks"]:
        assert (one["forecast"] == 4.0).all()


@pytest.mark.parametrize("name", STATISTICAL)
def test_gaps_are_a_data_error_naming_the_series(name, gappy):
    with pytest.raises(DataError, match="holey"):
        create(name).fit(gappy)


def test_failure_on_one_series_falls_back_for_that_series_only():
    rng = np.random.default_rng(1)
    t = np.arange(48)
    frame = series_frame({"positive": 50 + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, 48),
                          "with_zero": np.r_[0.0, 20 + rng.normal(0, 1, 47)]})
    ds = tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                  grain_columns="id", freq="MS")
    # Multiplicative errors are undefined at zero: statsforecast raises on that series alone.
    learner = create("auto_ets", quantiles=(0.1, 0.9), model="MNN").fit(ds)
    out = learner.predict(12)
    check_forecast(out, ds, 12, (0.1, 0.9))
    assert list(out.attrs["fallbacks"]) == ["with_zero"]
    assert "raised an error" in out.attrs["fallbacks"]["with_zero"]
    assert out.attrs["fallbacks"]["with_zero"].endswith("forecast with seasonal_naive")
    # The failed series gets exactly seasonal naive; the other keeps ETS.
    fallback = create("seasonal_naive", quantiles=(0.1, 0.9)).fit(ds).predict(12)
    rows = out["series_id"] == "with_zero"
    np.testing.assert_allclose(out.loc[rows, "forecast"], fallback.loc[rows, "forecast"])
    assert not np.allclose(out.loc[~rows, "forecast"], fallback.loc[~rows, "forecast"])


def test_quantiles_are_statsforecast_interval_bounds(accommodation_plain):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    train, _ = accommodation_plain
    ours = create("auto_ets", quantiles=(0.05, 0.1, 0.5, 0.9)).fit(train).predict(4)
    df = train.frame.rename(columns={"series_id": "unique_id", "Date": "ds", "Takings": "y"})
    df["unique_id"] = df["unique_id"].astype(str)
    direct = StatsForecast([AutoETS(season_length=4)], freq="QS").forecast(
        h=4, df=df[["unique_id", "ds", "y"]], level=[80, 90])
    np.testing.assert_allclose(ours["forecast"], direct["AutoETS"])
    np.testing.assert_allclose(ours["q0.05"], direct["AutoETS-lo-90"])
    np.testing.assert_allclose(ours["q0.1"], direct["AutoETS-lo-80"])
    np.testing.assert_allclose(ours["q0.9"], direct["AutoETS-hi-80"])


def test_level_mapping():
    assert level_of(0.1) == 80 and level_of(0.9) == 80
    assert level_of(0.025) == 95 and level_of(0.975) == 95
    assert level_of(0.001) == pytest.approx(99.8)
    assert levels_for([0.1, 0.5, 0.9, 0.05]) == [80, 90]
    assert quantile_key(0.1) == "lo-80" and quantile_key(0.9) == "hi-80"
    assert quantile_key(0.5) == "mean"


def test_auto_arima_takes_known_covariates_and_needs_their_future(accommodation):
    train, test, future = accommodation
    learner = create("auto_arima", quantiles=(0.1, 0.9))
    assert learner.capabilities.known_covariates
    learner.fit(train)
    with pytest.raises(MissingFutureError, match="CPI"):
        learner.predict(8, future.drop(columns="CPI"))
    with pytest.raises(MissingFutureError):
        learner.predict(8)
    gap = future.copy()
    gap.loc[gap.index[3], "CPI"] = np.nan  # a row without its value: ARIMA reads it raw
    with pytest.raises(DataError, match="covariate 'CPI' has 1 missing values.*interpolate"):
        learner.predict(8, gap)


def test_mstl_takes_the_periods_each_series_can_afford():
    rng = np.random.default_rng(2)
    t = np.arange(800)
    y = 100 + 10 * np.sin(2 * np.pi * t / 7) + 20 * np.sin(2 * np.pi * t / 365.25)
    frame = series_frame({"long": y + rng.normal(0, 1, 800), "weeks": y[:60],
                          "days": y[:10]}, freq="D")
    ds = tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                  grain_columns="id", freq="D")
    learner = create("mstl", quantiles=(0.1, 0.9)).fit(ds)
    assert learner.periods_ == [7, 365]
    assert create("mstl", season_lengths=[7]).fit(ds).periods_ == [7]
    out = learner.predict(14)
    check_forecast(out, ds, 14, (0.1, 0.9))
    # 'weeks' holds two weekly cycles but not two years; 'days' holds no cycle: trend alone.
    assert out.attrs["fallbacks"] == {"days": "no seasonal period fits twice in the series; "
                                          "trend model alone"}
    weekly = out[out["series_id"] == "weeks"]["forecast"].to_numpy()
    assert np.ptp(weekly) > 5  # the weekly pattern is forecast


def test_prepared_learner_serves_without_searching_again(accommodation_plain, monkeypatch):
    train, _ = accommodation_plain
    learner = create("auto_theta", quantiles=(0.1, 0.9)).fit(train)
    first = learner.predict(6)
    learner.prepare(6)  # the final refit keeps the fitted models and this forecast
    calls = []
    monkeypatch.setattr("tsauto.learners.statistical.forecast_grouped",
                        lambda *a, **k: calls.append(1))
    pd.testing.assert_frame_equal(learner.predict(6), first)
    # Another horizon runs the kept models (statsforecast forward), never a new search.
    longer = learner.predict(9)
    assert calls == []
    np.testing.assert_allclose(longer.groupby("series_id", observed=True).head(6)["forecast"],
                               first["forecast"])


def test_a_prepared_learner_refitted_learns_again(accommodation_plain):
    """A copy of the final model refitted on other data (a backtest's cutoff, a calibration
    window) fits its own models: it neither reuses the kept ones nor fails on fewer series."""
    import copy

    train, _ = accommodation_plain
    fitted = create("auto_theta", quantiles=(0.1, 0.9)).fit(train)
    fitted.prepare(6)
    part = train.only(np.arange(train.n_series) < train.n_series - 1)
    part = part._replace(part.frame.groupby("series_id", observed=True).head(40))
    fresh = create("auto_theta", quantiles=(0.1, 0.9)).fit(part).predict(6)
    pd.testing.assert_frame_equal(copy.deepcopy(fitted).fit(part).predict(6), fresh)


def test_process_pool_gives_the_serial_forecasts(accommodation_plain, monkeypatch):
    train, _ = accommodation_plain
    serial = create("auto_theta", quantiles=(0.1, 0.9), n_jobs=1).fit(train).predict(6)
    monkeypatch.setattr(_stat_common, "PARALLEL_MIN_SECONDS", 0.0)
    pooled = create("auto_theta", quantiles=(0.1, 0.9), n_jobs=2).fit(train).predict(6)
    pd.testing.assert_frame_equal(pooled, serial)


def test_resolve_jobs():
    assert resolve_jobs(-1, 100, 0.1) == 1  # too little work for a pool
    assert resolve_jobs(4, 100, 60.0) == 4
    assert resolve_jobs(4, 3, 60.0) == 3    # never more workers than series
    assert resolve_jobs(-1, 100, 60.0) == _stat_common.cpu_count()
    with pytest.raises(SettingsError, match="n_jobs"):
        resolve_jobs(0, 10, 60.0)


def _jobs_in_child(queue):
    queue.put(resolve_jobs(-1, 100, 60.0))


def test_a_daemonic_worker_does_not_start_a_pool():
    # Search trials run in daemonic processes, which may not have children.
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_jobs_in_child, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=30) == 1
    child.join()


@pytest.mark.parametrize("name, params, message", [
    ("auto_ets", {"season_length": 0}, "season_length"),
    ("window_average", {"window_size": 0}, "window_size"),
    ("croston_optimized", {"conformal_windows": 1}, "conformal_windows"),
    ("mstl", {"trend_forecaster": "prophet"}, "trend_forecaster"),
    ("mstl", {"season_lengths": [7, 1]}, "season_lengths"),
])
def test_bad_parameters_are_settings_errors(name, params, message, accommodation_plain):
    train, _ = accommodation_plain
    with pytest.raises(SettingsError, match=message):
        create(name, **params).fit(train)


def test_infinite_target_is_a_data_error_naming_the_series():
    frame = series_frame({"fine": np.arange(20.0), "bad": np.r_[np.arange(19.0), np.inf]})
    ds = tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                  grain_columns="id", freq="MS")
    with pytest.raises(DataError, match="'bad'"):
        create("naive").fit(ds)


def test_search_spaces_name_constructor_parameters():
    import inspect

    for name in STATISTICAL:
        cls = get(name)
        params = inspect.signature(cls.__init__).parameters
        assert set(cls.search_space()) <= set(params), name


def test_forecasts_inside_a_fugue_transform_are_the_same_float64():
    """A many-models partition runs in a Fugue transform, where statsforecast's public class
    would hand the frame to its Fugue backend and come back in float32 (33.8 as 33.79999...)."""
    import fugue

    from tsauto.learners._stat_common import forecast_grouped
    from statsforecast.models import SeasonalNaive

    values = np.tile([33.8, 37.2, 44.3, 40.6], 12)
    indptr = np.array([0, 24, 48])

    def run(_: pd.DataFrame) -> pd.DataFrame:
        out = forecast_grouped(SeasonalNaive(season_length=4), values, indptr, 4, [80])
        return pd.DataFrame({"mean": out["mean"].ravel()})

    inside = fugue.transform(pd.DataFrame({"a": [1.0]}), run, schema="mean:double")
    np.testing.assert_array_equal(inside["mean"].to_numpy(), np.tile([33.8, 37.2, 44.3, 40.6], 2))
