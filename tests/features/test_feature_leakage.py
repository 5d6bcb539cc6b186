"""No feature may see the future: changing every target (and past-only covariate) value after
a cutoff must leave every feature row at or before the cutoff unchanged."""

import numpy as np
import pandas as pd
import pytest

from tsauto.data.dataset import SERIES_ID
from tsauto.features import Featurizer

OFF = {"rolling": False, "seasonal_rolling": False, "calendar": False, "series_id": False}
CASES = {
    "target_lags": {"featurization": OFF},
    "rolling_windows": {"featurization": {**OFF, "rolling": True},
                        "rolling_stats": ("mean", "std", "min", "max", "median")},
    "seasonal_windows": {"featurization": {**OFF, "seasonal_rolling": True}},
    "calendar": {"featurization": {**OFF, "calendar": True}},
    "holidays": {"featurization": OFF, "country_or_region": "US"},
    "covariates": {"featurization": {**OFF, "series_id": True}, "categorical_encoding": "onehot"},
    "target_transform": {"featurization": OFF, "target_power": "boxcox", "target_difference": "both",
                         "target_scaler": "robust"},
    "everything": {"country_or_region": "US", "target_power": "log1p", "target_difference": "first"},
}


def _perturbed(ds, cutoff):
    frame = ds.frame.copy()
    after = (frame[ds.time_column] > cutoff).to_numpy()
    rng = np.random.default_rng(7)
    frame.loc[after, ds.target_column] *= rng.uniform(2, 5, after.sum())
    frame.loc[after, "visits"] = rng.uniform(-1e3, 1e3, after.sum())
    frame.loc[after, "weather"] = rng.choice(["sun", "rain"], after.sum())
    return ds._replace(frame)


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
@pytest.mark.parametrize("case", list(CASES))
def test_no_feature_row_sees_past_the_cutoff(cov_ds, case, strategy):
    cutoff = pd.Timestamp("2021-03-20")
    feat = Featurizer(**CASES[case]).fit(cov_ds, strategy, 9)
    changed = _perturbed(cov_ds, cutoff)
    before, after = feat.history(cov_ds), feat.history(changed)
    rows = feat.training_rows(before)
    X1, X2 = feat.design(before, rows), feat.design(after, rows)
    times = cov_ds.frame[cov_ds.time_column].to_numpy()
    at_or_before = times[rows.target] <= cutoff.to_datetime64()
    assert at_or_before.sum() > 100 and (~at_or_before).sum() > 100
    pd.testing.assert_frame_equal(X1[at_or_before], X2[at_or_before])
    # stronger: every row whose origin is at or before the cutoff (its target may lie after)
    known = times[rows.origin] <= cutoff.to_datetime64()
    pd.testing.assert_frame_equal(X1[known], X2[known])
    # and the perturbation is seen after the cutoff (the test can fail)
    if case in ("target_lags", "rolling_windows", "seasonal_windows", "target_transform",
                "everything"):
        assert not X1[~known].equals(X2[~known])


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_past_covariates_never_appear_unlagged(cov_ds, strategy):
    feat = Featurizer(feature_lags=[1, 2]).fit(cov_ds, strategy, 4)
    history = feat.history(cov_ds)
    rows = feat.training_rows(history)
    base = feat.design(history, rows)
    past_features = [n for n in feat.feature_names_out if n.startswith(("visits", "weather"))]
    assert past_features and all("_lag" in n for n in past_features)
    # poke one past-covariate value: only rows whose covariate origin reaches it may change
    for col in ("visits", "weather"):
        poked = feat.history(cov_ds)
        target_pos = 60
        poked.columns[col] = poked.columns[col].copy()
        poked.columns[col][target_pos] = 1.0 - poked.columns[col][target_pos]
        diff = (feat.design(poked, rows) != base).any(axis=1).to_numpy()
        assert diff.any()
        assert (rows.cov_origin[diff] >= target_pos).all()
        assert (rows.target[diff] > target_pos).all()


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_forecast_rows_match_training_rows(cov_ds, strategy):
    """The history a fitted featurizer lays out for forecasting gives the same features as the
    training design would for those periods."""
    horizon = 5
    train, test = cov_ds.split_last(horizon)
    feat = Featurizer(country_or_region="US", target_power="log1p",
                      target_difference="first").fit(train, strategy, horizon)
    future = test.frame
    history = feat.forecast_history(horizon, future)
    fc_rows = feat.forecast_rows(history, horizon, step=1 if strategy == "recursive" else None)
    got = feat.design(history, fc_rows)
    full = feat.history(cov_ds)
    rows = feat.training_rows(full)
    last = cov_ds.indptr[1:] - horizon - 1  # last training position of each series
    pick = rows.origin == last[rows.series]
    expected = feat.design(full, rows.take(pick))
    order = np.lexsort((rows.step[pick], rows.series[pick]))
    expected = expected.iloc[order].reset_index(drop=True)
    if strategy == "recursive":
        assert len(got) == cov_ds.n_series
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    assert list(future[SERIES_ID].astype(str).unique()) == list(cov_ds.series_ids)
