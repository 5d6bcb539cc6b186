import numpy as np
import pandas as pd
import pytest

from tsauto.errors import SettingsError
from tsauto.features import Featurizer, auto_lags
from tsauto.features.base import rolling


def _plain(ds, **kw):
    """A featurizer without target transform, so features are raw target values."""
    return Featurizer({"target_transform": False, "calendar": False, "series_id": False},
                      **kw)


def test_lags_match_pandas_shift(cov_ds):
    feat = _plain(cov_ds, target_lags=[1, 2, 7], feature_lags=None).fit(cov_ds)
    X, y, rows = feat.transform(cov_ds)
    frame = cov_ds.frame
    expected = frame.groupby("series_id", observed=True)["sales"].shift(7).to_numpy()[rows.target]
    np.testing.assert_array_equal(X["lag7"].to_numpy(), expected)
    np.testing.assert_array_equal(y, frame["sales"].to_numpy()[rows.target])


@pytest.mark.parametrize("stat", ["mean", "std", "min", "max", "median", "q90"])
def test_rolling_matches_pandas(stat):
    rng = np.random.default_rng(1)
    values = rng.normal(size=50) * 100 + 1e4
    indptr = np.array([0, 20, 50])
    got = rolling(values, indptr, 5, stat)
    s = pd.Series(values)
    g = s.groupby(np.repeat([0, 1], [20, 30])).rolling(5)
    ref = {"mean": g.mean(), "std": g.std(ddof=0), "min": g.min(), "max": g.max(),
           "median": g.median(), "q90": g.quantile(0.9)}[stat].to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-9, equal_nan=True)


def test_rolling_windows_end_at_the_origin(cov_ds):
    feat = _plain(cov_ds, target_lags=[1], target_rolling_window_size=[3],
                  rolling_stats=("mean", "max"), feature_lags=None).fit(cov_ds)
    X, _, rows = feat.transform(cov_ds)
    shifted = cov_ds.frame.groupby("series_id", observed=True)["sales"].shift(1)
    ref = shifted.groupby(cov_ds.frame["series_id"], observed=True).rolling(3).mean()
    np.testing.assert_allclose(X["roll3_mean"], ref.to_numpy()[rows.target], equal_nan=True)


def test_seasonal_window_reads_the_same_weekday(cov_ds):
    feat = _plain(cov_ds, seasonal_window_size=3, feature_lags=None).fit(cov_ds, "direct", 10)
    X, _, rows = feat.transform(cov_ds)
    y = cov_ds.frame["sales"].to_numpy()
    row = np.flatnonzero((rows.step == 9) & (rows.target - rows.origin == 9))[50]
    t = rows.target[row]
    # step 9 > one week: the latest same weekday at or before the origin is two weeks back
    assert X["seasonal_lag"].iloc[row] == y[t - 14]
    assert X["seasonal3_mean"].iloc[row] == pytest.approx(np.mean(y[[t - 14, t - 21, t - 28]]))


def test_auto_lags_cover_the_season_and_use_training_data_only(cov_ds):
    lags, why = auto_lags(cov_ds.grouped().values, cov_ds.indptr, 7)
    assert set(range(1, 8)) <= set(lags)
    assert "autocorrelation" in why or "auto" in why
    train, _ = cov_ds.split_last(30)
    feat = Featurizer(target_lags="auto").fit(train)
    # the same training data, whatever follows it, gives the same lags
    changed = cov_ds.frame.copy()
    changed.loc[changed.groupby("series_id", observed=True).cumcount(ascending=False) < 30,
                "sales"] *= -5
    other = cov_ds._replace(changed)
    train2, _ = other.split_last(30)
    assert Featurizer(target_lags="auto").fit(train2).target_lags_ == feat.target_lags_


@pytest.mark.parametrize("kwargs, match", [
    ({"target_lags": [0, 1]}, "target_lags"),
    ({"target_lags": "many"}, "target_lags"),
    ({"target_rolling_window_size": [-3]}, "target_rolling_window_size"),
    ({"rolling_stats": ("mean", "mode")}, "rolling_stats"),
    ({"feature_lags": [0]}, "feature_lags"),
])
def test_bad_lag_and_window_settings(cov_ds, kwargs, match):
    with pytest.raises(SettingsError, match=match):
        Featurizer(**kwargs).fit(cov_ds)
