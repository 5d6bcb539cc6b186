import numpy as np
import pytest

from tsauto.errors import SettingsError
from tsauto.features import TargetTransform


def _grouped(seed=0, positive=True):
    rng = np.random.default_rng(seed)
    lengths = np.array([60, 45, 80])
    parts = []
    for i, n in enumerate(lengths):
        t = np.arange(n)
        y = 20 * (i + 1) + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12) * (1 + t / 50) + rng.gamma(2, 1, n)
        parts.append(y if positive else y - 40)
    return np.concatenate(parts), np.concatenate([[0], np.cumsum(lengths)])


def _roundtrip(tf, values, indptr, horizon=7):
    """Transform everything, then invert each series' last ``horizon`` values from its past."""
    z = tf.transform(values, indptr)
    width = tf.lookback + 5
    for i in range(len(indptr) - 1):
        y = values[indptr[i]:indptr[i + 1]]
        zi = z[indptr[i]:indptr[i + 1]]
        tail = np.full((len(indptr) - 1, width), np.nan)
        tail[i] = y[-horizon - width:-horizon]
        zf = np.zeros((len(indptr) - 1, horizon))
        zf[i] = zi[-horizon:]
        back = tf.inverse(zf, tail)[i]
        np.testing.assert_allclose(back, y[-horizon:], rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("scaler", ["standard", "mean", "robust", "none"])
@pytest.mark.parametrize("power", [None, "boxcox", "log1p"])
@pytest.mark.parametrize("difference", [None, "first", "seasonal", "both"])
def test_transforms_invert_exactly(scaler, power, difference):
    values, indptr = _grouped()
    tf = TargetTransform(scaler, difference, power, season_length=12).fit(values, indptr)
    _roundtrip(tf, values, indptr)


def test_standard_scaling_uses_training_statistics_per_series():
    values, indptr = _grouped()
    tf = TargetTransform("standard").fit(values, indptr)
    z = tf.transform(values, indptr)
    for i in range(3):
        part = z[indptr[i]:indptr[i + 1]]
        assert abs(part.mean()) < 1e-10 and abs(part.std() - 1) < 1e-10


def test_boxcox_applies_only_where_the_data_allows():
    values, indptr = _grouped(positive=False)
    tf = TargetTransform("none", power="boxcox", season_length=12).fit(values, indptr)
    assert not tf.powered_.all()
    assert "the others have values not > 0" in tf.describe()[0]
    _roundtrip(tf, values, indptr)
    positive, indptr2 = _grouped()
    tf2 = TargetTransform("none", power="boxcox", season_length=12).fit(positive, indptr2)
    assert tf2.powered_.all() and ((tf2.lambdas_ >= 0) & (tf2.lambdas_ <= 1)).all()


def test_differencing_leaves_nan_only_where_history_is_missing():
    values, indptr = _grouped()
    tf = TargetTransform("none", "both", season_length=12).fit(values, indptr)
    z = tf.transform(values, indptr)
    for i in range(3):
        part = z[indptr[i]:indptr[i + 1]]
        assert np.isnan(part[:13]).all() and np.isfinite(part[13:]).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"scaler": "minmax"}, "target_scaler"),
    ({"power": "sqrt"}, "target_power"),
    ({"difference": "second"}, "target_difference"),
    ({"difference": [0]}, "target_difference"),
])
def test_bad_settings_name_the_setting(kwargs, match):
    values, indptr = _grouped()
    with pytest.raises(SettingsError, match=match):
        TargetTransform(**kwargs, season_length=12).fit(values, indptr)


def test_seasonal_difference_needs_a_season():
    values, indptr = _grouped()
    with pytest.raises(SettingsError, match="seasonal period"):
        TargetTransform(difference="seasonal", season_length=1).fit(values, indptr)
