"""Settings that must not be accepted fail at construction, naming the setting, the value and
what would be valid."""

import math

import numpy as np
import pytest

from tsauto.errors import SettingsError
from tsauto.learners import registry
from tsauto.settings import ClassificationSettings, ForecastSettings, RegressionSettings

ROLES = dict(time_column="date", target_column="sales")


def forecast_settings(**kw):
    return ForecastSettings(**{**ROLES, "horizon": 3, **kw})


@pytest.mark.parametrize("kw,words", [
    (dict(horizon=True), "horizon=True is not valid: a bool is not a number"),
    (dict(horizon=0), "horizon=0 is not valid"),
    (dict(horizon=2.5), "horizon=2.5 is not valid"),
    (dict(max_trials=False), "max_trials=False is not valid: a bool"),
    (dict(early_stopping_trials=True), "early_stopping_trials=True"),
    (dict(max_concurrent_trials=True), "max_concurrent_trials=True"),
    (dict(max_concurrent_trials=0), "max_concurrent_trials=0 is not valid: use 1 or more trials "
                                    "at once, or 'auto'"),
    (dict(max_concurrent_trials="all"), "max_concurrent_trials='all' is not valid"),
    (dict(seed=True), "seed=True"),
    (dict(seed=-1), "seed=-1 is not valid"),
    (dict(verbosity=True), "verbosity=True"),
    (dict(n_cross_validations=True), "n_cross_validations=True is not valid: a bool is not a "
                                     "number here; or Input should be 'auto'"),
    (dict(cv_step_size=True), "cv_step_size=True"),
    (dict(target_rolling_window_size=True), "target_rolling_window_size=True"),
    (dict(target_lags=[1, True]), "target_lags=[1, True] is not valid: item [1]=True: a bool"),
    (dict(feature_lags=[0]), "feature_lags=[0] is not valid: lags must be 1 or more"),
    (dict(quantiles=[0.1, True]), "quantiles is not valid: item [1]=True: a bool"),
    (dict(quantiles=[0.1, math.nan]), "quantiles is not valid: item [1]=nan: Input should be a "
                                      "finite number"),
    (dict(time_budget=math.nan), "time_budget=nan is not valid: nan must be a positive, finite "
                                 "duration"),
    (dict(time_budget=math.inf), "time_budget=inf is not valid"),
    (dict(time_budget=-5), "time_budget=-5 is not valid"),
    (dict(time_budget=True), "time_budget=True is not valid"),
    (dict(trial_timeout=math.nan), "trial_timeout=nan is not valid"),
    (dict(exit_score=math.nan), "exit_score=nan is not valid: Input should be a finite number"),
    (dict(exit_score=-math.inf), "exit_score=-inf is not valid"),
    (dict(exit_score=True), "exit_score=True is not valid: a bool"),
    (dict(country_or_region="XX"), "country_or_region='XX' is not a country the holidays "
                                   "package knows"),
    (dict(country_or_region="Australia"), "Did you mean 'AU' (Australia)?"),
    (dict(country_or_region="AU", subdivision="XYZ"), "subdivision='XYZ' is not a subdivision "
                                                      "of AU"),
    (dict(subdivision="VIC"), "subdivision='VIC' needs country_or_region"),
    (dict(blocked_models=registry.names()), "allowed_models=None minus blocked_models="),
    (dict(allowed_models=["naive"], blocked_models=["naive"]), "leaves no learner to try; "
                                                               "valid forecasting learners: "),
])
def test_forecast_setting_refused(kw, words):
    with pytest.raises(SettingsError) as info:
        forecast_settings(**kw)
    message = str(info.value)
    assert words in message and "See ForecastSettings.describe()" in message


@pytest.mark.parametrize("kw", [dict(horizon=np.int64(4)), dict(country_or_region="us"),
                                dict(country_or_region="AU", subdivision="VIC"),
                                dict(time_budget="90s"), dict(time_budget=None),
                                dict(n_cross_validations=2), dict(seed=2**32 - 1)])
def test_forecast_setting_accepted(kw):
    settings = forecast_settings(**kw)
    assert settings.horizon >= 3


def test_no_learner_left_lists_the_valid_names():
    with pytest.raises(SettingsError) as info:
        forecast_settings(blocked_models=registry.names())
    assert all(name in str(info.value) for name in registry.names())
    assert "time budget" not in str(info.value)


@pytest.mark.parametrize("cls,kw,words", [
    (RegressionSettings, dict(n_folds=True), "n_folds=True is not valid: a bool"),
    (RegressionSettings, dict(holdout_fraction=math.nan), "holdout_fraction=nan is not valid"),
    (RegressionSettings, dict(holdout_fraction=True), "holdout_fraction=True is not valid"),
    (ClassificationSettings, dict(time_budget=math.inf), "time_budget=inf is not valid"),
    (ClassificationSettings, dict(seed=False), "seed=False is not valid"),
])
def test_tabular_setting_refused(cls, kw, words):
    with pytest.raises(SettingsError) as info:
        cls(target_column="y", **kw)
    assert words in str(info.value)
