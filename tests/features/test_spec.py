"""The featurization spec: one serialisable description that builds the Featurizer."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from tsauto.errors import SettingsError
from tsauto.features import FeaturizationConfig, FeaturizationSpec, Featurizer


def test_spec_round_trips_through_json():
    config = FeaturizationConfig(drop_columns=["weather"], lags={"visits": [1]})
    spec = FeaturizationSpec(featurization=config, target_lags=[1, 7],
                             target_rolling_window_size=[3, 7], rolling_stats=("mean",),
                             country_or_region="AU", subdivision="VIC",
                             target_difference="first", categorical_encoding="native")
    data = json.loads(json.dumps(spec.to_dict()))
    assert data["featurization"]["drop_columns"] == ["weather"]
    assert FeaturizationSpec.from_dict(data) == spec
    assert FeaturizationSpec.from_dict(FeaturizationSpec().to_dict()) == FeaturizationSpec()


def test_spec_is_frozen_and_rejects_unknown_keys():
    with pytest.raises(FrozenInstanceError):
        FeaturizationSpec().target_lags = [1]
    with pytest.raises(SettingsError, match="target_lag.*target_lags"):
        FeaturizationSpec.from_dict({"target_lag": [1]})


def test_updated_takes_its_fields_and_hands_back_the_rest():
    spec, rest = FeaturizationSpec().updated({"target_scaler": "robust", "num_leaves": 15})
    assert spec.target_scaler == "robust" and rest == {"num_leaves": 15}
    base = FeaturizationSpec()
    assert base.updated({"strategy": "direct"}) == (base, {"strategy": "direct"})


def test_featurizer_from_spec_equals_featurizer_from_keywords(cov_ds):
    keywords = {"target_lags": [1, 2, 7], "feature_lags": [1], "target_power": "log1p",
                "categorical_encoding": "ordinal"}
    by_keywords = Featurizer({"calendar": ["day_of_week"]}, **keywords).fit(cov_ds, "direct", 3)
    spec = FeaturizationSpec(featurization={"calendar": ["day_of_week"]}, **keywords)
    by_spec = Featurizer(spec).fit(cov_ds, "direct", 3)
    assert by_spec.spec is spec and by_keywords.spec == spec
    X1, y1, _ = by_keywords.transform(cov_ds)
    X2, y2, _ = by_spec.transform(cov_ds)
    assert list(X1.columns) == list(X2.columns)
    np.testing.assert_array_equal(X1.to_numpy(dtype=float), X2.to_numpy(dtype=float))
    np.testing.assert_array_equal(y1, y2)
