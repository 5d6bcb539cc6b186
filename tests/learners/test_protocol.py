"""What every learner of the statistical, Prophet and TCN families promises alike."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from tsauto.errors import SettingsError
from tsauto.learners import Capabilities, Forecaster, create, get, names
from tsauto.learners.space import Choice, FloatRange, IntRange

FAMILIES = {
    "statistical": ["auto_arima", "auto_ets", "auto_theta", "auto_ces", "seasonal_naive", "naive",
                    "historic_average", "window_average", "seasonal_window_average",
                    "croston_optimized", "adida", "imapa", "mstl"],
    "prophet": ["prophet"],
    "tcn": ["tcn"],
}
ALL = [name for group in FAMILIES.values() for name in group]
ONNX_EXPORTABLE = {"naive", "seasonal_naive", "window_average", "seasonal_window_average",
                   "lightgbm", "elastic_net", "random_forest", "extra_trees", "tcn", "auto_ets"}


def test_every_learner_is_registered():
    assert set(ALL) <= set(names())


@pytest.mark.parametrize("name", ALL)
def test_learner_declares_itself(name):
    cls = get(name)
    assert issubclass(cls, Forecaster) and cls.name == name
    caps = cls.capabilities
    assert isinstance(caps, Capabilities)
    assert caps.quantiles and not caps.needs_gpu
    # what tsauto.export writes (tests/export prove each one's scorer equals its forecast)
    assert caps.onnx == (name in ONNX_EXPORTABLE)
    assert caps.cost in ("trivial", "low", "medium", "high") and caps.min_history >= 1
    params = inspect.signature(cls.__init__).parameters
    assert "quantiles" in params
    for key, space in cls.search_space().items():
        assert key in params, f"{name}: search space names unknown parameter {key}"
        assert isinstance(space, (IntRange, FloatRange, Choice))


@pytest.mark.parametrize("name", ALL)
def test_constructor_keeps_parameters_and_does_no_work(name):
    learner = create(name, quantiles=(0.9, 0.1))
    text = repr(learner)
    assert text.startswith(type(learner).__name__ + "(")
    params = inspect.signature(type(learner).__init__).parameters
    for key in params:
        if key not in ("self", "quantiles"):
            assert f"{key}=" in text
    assert not [k for k in vars(learner) if k.endswith("_")]  # nothing learned yet


@pytest.mark.parametrize("name", ALL)
def test_invalid_quantiles_fail_at_fit(name, accommodation_plain):
    train, _ = accommodation_plain
    with pytest.raises(SettingsError, match="quantiles"):
        create(name, quantiles=(0.1, 1.5)).fit(train)


def test_a_parameter_a_learner_does_not_take_is_an_error_naming_those_it_does():
    with pytest.raises(SettingsError, match="learner 'seasonal_naive' takes no parameter "
                                            "'horizon'; its parameters: 'quantiles', "
                                            "'season_length', 'n_jobs'"):
        create("seasonal_naive", horizon=4)
    assert create("lightgbm", horizon=4).horizon == 4


def test_capabilities_match_the_families():
    assert get("prophet").capabilities.cost == "high"
    assert get("auto_arima").capabilities.cost == "high"
    assert get("prophet").capabilities.known_covariates
    tcn = get("tcn").capabilities
    assert tcn.global_model and tcn.known_covariates and tcn.past_covariates


def test_importing_the_families_does_not_import_heavy_libraries():
    code = ("import sys; import tsauto.learners.statistical, tsauto.learners.prophet, "
            "tsauto.learners.tcn; "
            "print(sorted(m for m in ('torch', 'prophet', 'statsforecast', 'cmdstanpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
