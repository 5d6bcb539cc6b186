"""Every bad input ends in a tsauto error whose message names the culprit."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_panel
from tsauto import TimeSeriesDataset, run_guardrails
from tsauto.errors import (
    ColumnNotFoundError,
    DataError,
    DuplicateTimestampsError,
    FrequencyError,
    SettingsError,
    ShortSeriesError,
    TsautoError,
)

ROLES = dict(time_column="date", target_column="sales", grain_columns=["store"])


def build(frame, **kw):
    return TimeSeriesDataset(frame, **{**ROLES, **kw})


def test_empty_frame(panel):
    with pytest.raises(DataError, match="no rows"):
        build(panel.iloc[:0])


def test_not_a_frame():
    with pytest.raises(DataError, match="pandas DataFrame"):
        TimeSeriesDataset([1, 2, 3], time_column="a", target_column="b")


@pytest.mark.parametrize("role,name,hint", [
    ("time_column", "Date", "Did you mean 'date'"),
    ("target_column", "sale", "Did you mean 'sales'"),
    ("grain_columns", ["stor"], "Did you mean 'store'"),
    ("known_covariates", ["price"], "Columns are: 'store', 'date', 'sales'"),
])
def test_missing_or_misspelt_column(panel, role, name, hint):
    with pytest.raises(ColumnNotFoundError) as info:
        build(panel, **{role: name})
    assert role in str(info.value) and hint in str(info.value)


def test_column_with_two_roles(panel):
    with pytest.raises(SettingsError, match="two roles"):
        build(panel, known_covariates=["sales"])


@pytest.mark.parametrize("role,name", [("known_covariates", "step"),
                                       ("past_covariates", "forecast"),
                                       ("static_features", "_filled"), ("grain_columns", "step")])
def test_names_of_the_columns_tsauto_adds_are_reserved(panel, role, name):
    """A user's column named like one tsauto adds to its frames would be lost or overwritten."""
    data = panel.assign(**{name: panel["store"] if role in ("static_features", "grain_columns")
                           else 1.0})
    roles = {"grain_columns": ["store", name]} if role == "grain_columns" else {role: [name]}
    with pytest.raises(SettingsError, match=f"{role}: column name '{name}' is reserved for .*; "
                                            f"rename the column"):
        build(data, **roles)


def test_unparseable_times(panel):
    bad = panel.astype({"date": str})
    bad.loc[7, "date"] = "not a date"
    with pytest.raises(DataError) as info:
        build(bad)
    assert "'date'" in str(info.value) and "'not a date'" in str(info.value)
    assert "rows 7" in str(info.value)


def test_missing_times(panel):
    bad = panel.copy()
    bad.loc[3, "date"] = pd.NaT
    with pytest.raises(DataError, match="missing in 1 rows, e.g. rows 3"):
        build(bad)


def test_numeric_time_column(panel):
    with pytest.raises(DataError, match="holds numbers"):
        build(panel.assign(date=np.arange(len(panel))))


def test_target_not_numeric(panel):
    bad = panel.astype({"sales": object})
    bad.loc[10, "sales"] = "ten"
    with pytest.raises(DataError) as info:
        build(bad)
    assert "'sales' must be numeric" in str(info.value) and "'ten'" in str(info.value)


def test_numeric_strings_are_accepted(panel):
    ds = build(panel.astype({"sales": str}))
    assert ds.frame["sales"].dtype == np.float64


def test_all_nan_target(panel):
    with pytest.raises(DataError, match="target column 'sales' has no values"):
        build(panel.assign(sales=np.nan))


def test_single_row_series_fails_when_asked(panel):
    extra = pd.DataFrame({"store": ["lonely"], "date": [pd.Timestamp("2020-01-01")], "sales": [1.0]})
    ds = build(pd.concat([panel, extra]))
    _, report = run_guardrails(ds, horizon=3, short_series_handling="fail")
    result = report["short_series"]
    assert result.status == "failed" and result.series == ["lonely"]
    with pytest.raises(ShortSeriesError, match="'lonely'"):
        report.raise_if_failed()


def test_only_single_row_series():
    frame = pd.DataFrame({"store": ["a", "b"], "date": ["2020-01-01", "2020-01-01"], "sales": [1, 2]})
    with pytest.raises(FrequencyError, match="Pass freq explicitly"):
        build(frame)


def test_mixed_frequencies():
    daily = make_panel(n_series=2, length=40, freq="D")
    monthly = make_panel(n_series=1, length=40, freq="MS").assign(store="m0")
    with pytest.raises(FrequencyError) as info:
        build(pd.concat([daily, monthly]))
    assert "mixed frequencies" in str(info.value) and "'m0'" in str(info.value)


def test_duplicate_timestamps_without_aggregation(panel):
    with pytest.raises(DuplicateTimestampsError) as info:
        build(pd.concat([panel, panel.iloc[[4]]]))
    assert "target_aggregation" in str(info.value) and "'s0'" in str(info.value)


def test_duplicates_suggest_grain_columns(panel):
    with pytest.raises(DuplicateTimestampsError, match=r"candidates: \['store'\]"):
        TimeSeriesDataset(panel, time_column="date", target_column="sales")


@pytest.mark.parametrize("horizon", [0, -3, 2.5, True])
def test_bad_horizon(panel, horizon):
    ds = build(panel)
    with pytest.raises(SettingsError, match="horizon must be a positive integer"):
        ds.future_frame(horizon)
    with pytest.raises(SettingsError, match="horizon must be a positive integer"):
        run_guardrails(ds, horizon=horizon)


def test_bad_settings(panel):
    with pytest.raises(SettingsError, match="target_aggregation='median'"):
        build(panel, target_aggregation="median")
    with pytest.raises(SettingsError, match="freq='fortnightly'"):
        build(panel, freq="fortnightly")
    with pytest.raises(SettingsError, match="short_series_handling='maybe'"):
        run_guardrails(build(panel), short_series_handling="maybe")


def test_static_feature_that_varies(panel):
    with pytest.raises(DataError, match="static feature 'sales2' varies"):
        build(panel.assign(sales2=panel.sales), static_features=["sales2"])


def test_missing_grain_values(panel):
    bad = panel.astype({"store": object})
    bad.loc[2, "store"] = None
    with pytest.raises(DataError, match="missing values in 1 rows, e.g. rows 2"):
        build(bad)


def test_all_errors_are_tsauto_errors():
    for cls in (ColumnNotFoundError, DuplicateTimestampsError, FrequencyError, ShortSeriesError,
                SettingsError):
        assert issubclass(cls, TsautoError)
