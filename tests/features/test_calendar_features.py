import numpy as np
import pandas as pd
import pytest

import tsauto
from tsauto.errors import SettingsError
from tsauto.features import CalendarFeatures


def _ds(freq, periods=40, start="2021-01-01"):
    times = pd.date_range(start, periods=periods, freq=freq)
    frame = pd.DataFrame({"t": times, "y": np.arange(periods, dtype=float)})
    return tsauto.TimeSeriesDataset(frame, time_column="t", target_column="y")


@pytest.mark.parametrize("freq, expected, absent", [
    ("h", {"hour", "day_of_week"}, {"day_of_month"}),
    ("D", {"day_of_week", "day_of_month", "week_of_year", "month", "month_end"}, {"hour"}),
    ("W-SUN", {"week_of_year", "month"}, {"day_of_week"}),
    ("MS", {"month", "quarter", "year"}, {"day_of_week", "week_of_year"}),
    ("QS", {"quarter", "year"}, {"month"}),
])
def test_features_follow_the_frequency(freq, expected, absent):
    cal = CalendarFeatures().fit(_ds(freq))
    assert expected <= set(cal.names_)
    assert not absent & set(cal.names_)


def test_values_and_cycles_are_right():
    cal = CalendarFeatures(["day_of_week", "month", "month_end", "week_of_year"]).fit(_ds("D"))
    times = pd.to_datetime(["2024-12-31", "2025-01-01", "2025-01-06"]).to_numpy()
    out = cal.transform(None, times)
    np.testing.assert_array_equal(out["cal_day_of_week"], [1, 2, 0])
    np.testing.assert_array_equal(out["cal_month"], [12, 1, 1])
    np.testing.assert_array_equal(out["cal_month_end"], [1, 0, 0])
    np.testing.assert_array_equal(out["cal_week_of_year"], [1, 1, 2])
    np.testing.assert_allclose(out["cal_month_sin"][0], np.sin(2 * np.pi * 12 / 12), atol=1e-12)
    assert set(out) == set(cal.feature_names_out)
    assert cal.onnx_exportable


def test_unknown_feature_is_a_settings_error():
    with pytest.raises(SettingsError, match="fortnight"):
        CalendarFeatures(["fortnight"]).fit(_ds("D"))
