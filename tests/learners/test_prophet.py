"""Prophet: per-series fits with covariates, holidays, quantiles, fallbacks, pickling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsauto
from tests.learners.learner_checks import check_forecast, roundtrip, series_frame
from tsauto.errors import DataError, MissingFutureError, SettingsError
from tsauto.learners import create
from tsauto.learners.prophet import _seasonalities

QUANTILES = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def fitted(accommodation):
    train, _, _ = accommodation
    return create("prophet", quantiles=QUANTILES, uncertainty_samples=200).fit(train)


def test_forecasts_with_a_known_covariate_and_survives_pickle(fitted, accommodation, tmp_path):
    train, test, future = accommodation
    frame = fitted.predict(8, future)
    check_forecast(frame, train, 8, QUANTILES)
    assert fitted.fallbacks_ == {}
    # The covariate is a regressor of every model.
    assert all('"CPI"' in text for text in fitted.models_)
    loaded = roundtrip(fitted, tmp_path)
    pd.testing.assert_frame_equal(loaded.predict(8, future), frame)
    # Quantile draws are seeded per series: asking again gives the same frame.
    pd.testing.assert_frame_equal(fitted.predict(8, future), frame)


def test_missing_future_covariates_raise_naming_the_column(fitted, accommodation):
    _, _, future = accommodation
    with pytest.raises(MissingFutureError, match="'CPI'"):
        fitted.predict(8, future.drop(columns="CPI"))
    with pytest.raises(MissingFutureError, match="CPI"):
        fitted.predict(8)
    with pytest.raises(MissingFutureError, match="CPI"):
        fitted.predict(8, future.groupby("State").head(6))  # two periods short


def test_short_and_constant_series_fall_back_and_are_recorded(awkward):
    learner = create("prophet", quantiles=QUANTILES, uncertainty_samples=100).fit(awkward)
    frame = learner.predict(6)
    check_forecast(frame, awkward, 6, QUANTILES)
    assert list(learner.fallbacks_) == ["one"]
    assert learner.fallbacks_["one"].startswith("too short")
    assert (frame.loc[frame["series_id"] == "one", "forecast"] == 4.0).all()
    constant = frame[frame["series_id"] == "constant"]
    np.testing.assert_allclose(constant["forecast"], 3.0, atol=1e-6)


def test_gaps_are_a_data_error_naming_the_series(gappy):
    with pytest.raises(DataError, match="holey"):
        create("prophet").fit(gappy)


def test_holidays_of_a_region_shape_a_daily_forecast():
    t = np.arange(3 * 365)
    times = pd.date_range("2012-01-01", periods=len(t), freq="D")
    y = 100 + 5 * np.sin(2 * np.pi * t / 7)
    y[(times.month == 12) & (times.day == 25)] -= 40
    y[(times.month == 11) & (times.weekday == 1) & (times.day <= 7)] -= 30  # Melbourne Cup
    frame = pd.DataFrame({"time": times, "y": y + np.random.default_rng(0).normal(0, 1, len(t))})
    ds = tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y")
    train, _ = ds.split_last(60)
    learner = create("prophet", quantiles=(0.1, 0.9), country_or_region="AU", subdivision="VIC",
                     uncertainty_samples=100).fit(train)
    assert "Christmas Day" in set(learner.holidays_["holiday"])
    assert "Melbourne Cup Day" in set(learner.holidays_["holiday"])
    out = learner.predict(60).set_index("time")["forecast"]
    assert out.loc["2014-12-25"] < out.loc["2014-12-18"] - 20


def test_holidays_are_not_used_for_monthly_data(accommodation):
    train, _, _ = accommodation
    learner = create("prophet", country_or_region="AU", uncertainty_samples=0)
    learner.fit(train)
    assert learner.holidays_ is None


@pytest.mark.parametrize("params, message", [
    ({"country_or_region": "Atlantis"}, "country_or_region"),
    ({"country_or_region": "AU", "subdivision": "XYZ"}, "subdivision"),
    ({"subdivision": "VIC"}, "country_or_region"),
    ({"growth": "logistic"}, "growth"),
    ({"seasonality_mode": "both"}, "seasonality_mode"),
    ({"changepoint_prior_scale": 0}, "changepoint_prior_scale"),
    ({"changepoint_range": 1.5}, "changepoint_range"),
    ({"uncertainty_samples": 3, "quantiles": (0.1, 0.9)}, "uncertainty_samples"),
])
def test_bad_parameters_are_settings_errors(params, message):
    frame = series_frame({"a": np.arange(30.0)}, freq="D")
    ds = tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                  grain_columns="id")
    with pytest.raises(SettingsError, match=message):
        create("prophet", **params).fit(ds)


def test_seasonalities_follow_the_frequency():
    monthly = _seasonalities(30.44, 3650)
    assert monthly == {"yearly_seasonality": 6, "weekly_seasonality": False,
                       "daily_seasonality": False}
    assert _seasonalities(91.3, 3650)["yearly_seasonality"] == 2
    daily = _seasonalities(1.0, 1000)
    assert daily["yearly_seasonality"] == 10 and daily["weekly_seasonality"] == 3
    assert _seasonalities(1.0, 400)["yearly_seasonality"] is False  # under two years
    assert _seasonalities(1 / 24, 30)["daily_seasonality"] == 4


def test_no_stan_chatter_on_the_console(accommodation, capfd):
    train, _, future = accommodation
    create("prophet", quantiles=(0.1, 0.9), uncertainty_samples=50).fit(train).predict(2, future)
    out, err = capfd.readouterr()
    assert "cmdstanpy" not in out + err
    assert "Chain" not in out + err
