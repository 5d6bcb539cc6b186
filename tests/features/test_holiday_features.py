import numpy as np
import pandas as pd
import pytest

import tsauto
from tsauto.errors import SettingsError
from tsauto.evaluation.metrics import evaluate
from tsauto.features import Featurizer, HolidayFeatures
from tsauto.learners import create


def test_christmas_and_new_year_are_flagged(vic_daily):
    hol = HolidayFeatures("AU", "VIC").fit(vic_daily)
    days = pd.to_datetime(["2013-12-25", "2014-01-01", "2013-12-27", "2014-11-04",
                           "2014-06-18"]).to_numpy()
    out = hol.transform(None, days)
    np.testing.assert_array_equal(out["holiday"], [1, 1, 0, 1, 0])  # 4 Nov 2014: Melbourne Cup
    assert out["days_since_holiday"][2] == 1  # Boxing Day was the day before
    assert out["days_to_holiday"][4] == 8     # capped at window + 1
    ids = [n for n in hol.feature_names_out if n.startswith("holiday_id=")]
    assert "holiday_id=Christmas Day" in ids and "holiday_id=New Year's Day" in ids
    assert out["holiday_id=Christmas Day"][0] == 1 and out["holiday_id=Christmas Day"][1] == 0
    assert not hol.onnx_exportable


def test_featurizer_flags_holidays_in_the_design(vic_daily):
    feat = Featurizer(country_or_region="AU", subdivision="VIC").fit(vic_daily)
    X, _, rows = feat.transform(vic_daily)
    flagged = pd.DatetimeIndex(rows.time[X["holiday"].to_numpy() == 1])
    for day in ["2012-12-25", "2013-12-25", "2014-12-25", "2013-01-01", "2014-01-01"]:
        assert pd.Timestamp(day) in flagged


def test_coarse_data_counts_holidays_per_period():
    times = pd.date_range("2020-01-01", periods=24, freq="MS")
    ds = tsauto.TimeSeriesDataset(pd.DataFrame({"m": times, "y": np.arange(24.0)}),
                                  time_column="m", target_column="y")
    hol = HolidayFeatures("AU").fit(ds)
    assert hol.feature_names_out == ["holiday", "holiday_count"]
    out = hol.transform(None, pd.to_datetime(["2021-12-01", "2021-07-01", "2021-04-01"]).to_numpy())
    assert out["holiday_count"][0] >= 2  # Christmas and Boxing Day
    assert out["holiday_count"][1] == 0  # no national holiday in July
    assert out["holiday"][2] == 1        # Easter 2021 fell in April


def test_unknown_country_says_how_to_find_codes(vic_daily):
    with pytest.raises(SettingsError, match=r"country_or_region='XX'.*list_supported_countries"):
        HolidayFeatures("XX").fit(vic_daily)
    with pytest.raises(SettingsError, match=r"subdivision='ZZZ'.*VIC"):
        HolidayFeatures("AU", "ZZZ").fit(vic_daily)


def test_any_known_country_works(vic_daily):
    for country in ["US", "DE", "JP", "BR", "FR"]:
        hol = HolidayFeatures(country).fit(vic_daily)
        out = hol.transform(None, pd.to_datetime(["2014-01-01"]).to_numpy())
        assert out["holiday"][0] == 1


def _backtest(ds, cutoffs, horizon, **params):
    """Mean MASE over origins: fit on the data up to each cutoff, forecast what follows."""
    scores = []
    for cutoff in cutoffs:
        train, rest = ds.split_at(cutoff)
        test = rest.frame.head(horizon)
        model = create("lightgbm", horizon=horizon, seed=0, n_estimators=200, **params).fit(train)
        fc = model.predict(horizon)
        scores.append(evaluate(test[ds.target_column].to_numpy(), fc, fc["series_id"],
                               train.frame, ds.target_column, 7)["mase"])
    return float(np.mean(scores))


def test_holiday_features_improve_the_backtest(vic_daily):
    # Holdouts that hold holidays: the last weeks of 2013 and 2014, Easter 2014, Melbourne Cup.
    cutoffs = ["2013-12-17", "2014-04-12", "2014-10-28", "2014-12-17"]
    without = _backtest(vic_daily, cutoffs, 14)
    with_holidays = _backtest(vic_daily, cutoffs, 14, country_or_region="AU", subdivision="VIC")
    assert with_holidays < 0.9 * without, (with_holidays, without)
