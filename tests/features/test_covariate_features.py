import json

import numpy as np
import pandas as pd
import pytest

import tsauto
from tsauto.errors import SettingsError
from tsauto.features import Featurizer


def test_known_covariates_at_their_own_time_and_past_ones_lagged(cov_ds):
    feat = Featurizer().fit(cov_ds, "direct", 5)
    X, _, rows = feat.transform(cov_ds)
    frame = cov_ds.frame
    np.testing.assert_array_equal(X["price"], frame["price"].to_numpy()[rows.target])
    assert "visits" not in X.columns and "weather" not in X.columns
    # past-only covariates appear only as lags counted back from the origin
    visits = feat.covariates_.encode("visits", frame["visits"])
    np.testing.assert_array_equal(X["visits_lag1"], visits[rows.origin])
    np.testing.assert_array_equal(X["visits_lag2"], visits[rows.origin - 1])


def test_recursive_past_covariates_reach_back_past_the_horizon(cov_ds):
    feat = Featurizer(feature_lags=[1]).fit(cov_ds, "recursive", 6)
    X, _, rows = feat.transform(cov_ds)
    visits = feat.covariates_.encode("visits", cov_ds.frame["visits"])
    np.testing.assert_array_equal(X["visits_lag1"], visits[rows.target - 6])


def test_encodings_and_imputation(cov_ds):
    feat = Featurizer(categorical_encoding="onehot").fit(cov_ds, "direct", 3)
    X, _, _ = feat.transform(cov_ds)
    assert {"promo=flyer", "promo=none", "promo=tv", "region=north", "region=south"} <= set(X)
    assert {"series_id=s0", "weather_lag1=rain"} <= set(X)
    assert X.filter(like="promo=").sum(axis=1).eq(1).all()
    # visits had gaps: imputed (no NaN left in its lags beyond the series start) + indicator
    assert "visits__missing_lag1" in X
    assert X["visits__missing_lag1"].sum() > 0
    native = Featurizer(categorical_encoding="native").fit(cov_ds, "direct", 3)
    Xn, _, _ = native.transform(cov_ds)
    assert {"promo", "region", "series_id", "weather_lag1"} <= set(native.categorical_features)
    assert set(Xn["promo"].dropna().unique()) == {0.0, 1.0, 2.0}


def test_unseen_levels_are_unknown(cov_ds):
    feat = Featurizer(categorical_encoding="ordinal").fit(cov_ds)
    enc = feat.covariates_.encode("promo", pd.Series(["tv", "radio", None]))
    np.testing.assert_array_equal(enc, [2, -1, -1])


def test_summary_covers_every_raw_column(cov_ds):
    frame = cov_ds.to_frame()
    frame["constant"] = 1.0
    frame["day"] = frame["date"]
    ds = tsauto.TimeSeriesDataset(frame, time_column="date", target_column="sales",
                                  grain_columns="store", known_covariates=["price", "promo", "day"],
                                  past_covariates=["visits", "weather", "constant"],
                                  static_features=["region"])
    feat = Featurizer({"drop_columns": ["weather"], "imputation": {"visits": "median"}},
                      country_or_region="DE").fit(ds)
    table = feat.summary().set_index("column")
    assert set(table.index) == {"date", "sales", "store", "price", "promo", "day", "visits",
                                "weather", "constant", "region"}
    assert table.loc["weather", "dropped"] and "config" in table.loc["weather", "reason"]
    assert table.loc["constant", "dropped"] and "constant" in table.loc["constant", "reason"]
    assert table.loc["day", "dropped"] and "datetime" in table.loc["day", "reason"]
    assert table.loc["visits", "role"] == "past"
    assert "median" in table.loc["visits", "transformations"]
    assert "visits_lag1" in table.loc["visits", "features"]
    assert "holiday" in table.loc["date", "features"]
    assert "lag1" in table.loc["sales", "features"]
    info = json.loads(feat.summary_json())
    assert info["features"] == feat.feature_names_out
    assert {c["column"] for c in info["columns"]} == set(table.index)
    assert info["onnx_exportable"] is False  # holidays need the holidays package


def test_config_overrides(cov_ds):
    feat = Featurizer({"column_roles": {"price": "past"}, "column_types": {"promo": "categorical"},
                       "lags": {"sales": [1, 7], "visits": [2]}, "windows": {"visits": [3]},
                       "calendar": ["day_of_week"]}, categorical_encoding="ordinal").fit(cov_ds)
    names = feat.feature_names_out
    assert "price" not in names and "price_lag1" in names
    assert feat.target_lags_ == [1, 7]
    assert "visits_lag2" in names and "visits_lag1" not in names and "visits_roll3_mean" in names
    assert [n for n in names if n.startswith("cal_")] == ["cal_day_of_week", "cal_day_of_week_sin",
                                                          "cal_day_of_week_cos"]
    assert "role forced known -> past" in feat.summary().set_index("column").loc[
        "price", "transformations"]


def test_featurization_off_keeps_lags_and_covariates_only(cov_ds):
    feat = Featurizer("off").fit(cov_ds)
    names = feat.feature_names_out
    assert any(n.startswith("lag") for n in names)
    assert not any(n.startswith(("cal_", "roll", "seasonal", "series_id")) for n in names)
    assert feat.target_.scaler == "none"


@pytest.mark.parametrize("config, match", [
    ({"drop_columns": ["nope"]}, "drop_columns"),
    ({"column_roles": {"visits": "known"}}, "past-only"),
    ({"column_roles": {"price": "future"}}, "column_roles"),
    ({"column_types": {"price": "text"}}, "column_types"),
    ({"imputation": {"price": "magic"}}, "imputation"),
    ({"lags": {"price": [1]}}, "known covariates"),
    ({"lags": {"sale": [1]}}, "Did you mean 'sales'"),
    ({"lagz": {}}, "unknown key"),
    ("everything", "featurization"),
])
def test_bad_config_names_the_culprit(cov_ds, config, match):
    with pytest.raises(SettingsError, match=match):
        Featurizer(config).fit(cov_ds)


def test_a_covariate_named_like_a_made_feature_is_an_error_naming_it():
    """A covariate 'lag1' beside the target's lag1: two columns of one name."""
    from tests.features.conftest import make_covariate_panel

    ds = tsauto.TimeSeriesDataset(make_covariate_panel().rename(columns={"price": "lag1"}),
                                  time_column="date", target_column="sales",
                                  grain_columns="store", known_covariates=["lag1"])
    with pytest.raises(SettingsError, match="covariate feature\\(s\\) 'lag1' have the name of a "
                                            "feature the featurization makes"):
        Featurizer(target_lags=[1, 2]).fit(ds, "recursive", 3)
