"""The typed trial contexts, and what each learner family takes from them."""

from __future__ import annotations

import pandas as pd

from tsauto.features import FeaturizationSpec
from tsauto.learners import registry
from tsauto.learners.tabular import registry as tabular_registry
from tsauto.tasks.forecasting import ForecastContext
from tsauto.tasks.tabular import TabularContext
from tsauto.search.trial import TrialSpec, build_learner

CONTEXT = ForecastContext(horizon=6, quantiles=(0.1, 0.9), season_length=12,
                          featurization=FeaturizationSpec(country_or_region="DE",
                                                          subdivision="BY"), seed=5)


def test_each_family_takes_what_it_declares():
    arima = build_learner(TrialSpec(0, "auto_arima", {}, registry.get("auto_arima")), CONTEXT)
    assert arima.params["season_length"] == 12 and arima.quantiles == (0.1, 0.9)
    naive = build_learner(TrialSpec(0, "naive", {}, registry.get("naive")), CONTEXT)
    assert "season_length" not in naive.params
    tcn = build_learner(TrialSpec(0, "tcn", {}, registry.get("tcn")), CONTEXT)
    assert (tcn.params["horizon"], tcn.params["seed"]) == (6, 5)
    prophet = registry.get("prophet").from_context(CONTEXT, {})
    assert (prophet.params["country_or_region"], prophet.params["subdivision"]) == ("DE", "BY")
    lgbm = build_learner(TrialSpec(0, "lightgbm", {}, registry.get("lightgbm")), CONTEXT)
    assert lgbm.featurization_spec.country_or_region == "DE" and lgbm.horizon == 6


def test_a_trials_params_override_the_context():
    ets = build_learner(TrialSpec(0, "auto_ets", {"season_length": 4}, registry.get("auto_ets")),
                        CONTEXT)
    assert ets.params["season_length"] == 4


def test_tabular_learners_take_the_task_and_seed():
    X, y = pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1])
    context = TabularContext("classification", [0, 1], (X, y), 9)
    cls = tabular_registry.get("lightgbm")
    learner = build_learner(TrialSpec(0, "lightgbm", {}, cls), context)
    assert (learner.task, learner.random_state) == ("classification", 9)
    assert build_learner(TrialSpec(0, "lightgbm", {"random_state": 1}, cls),
                         context).random_state == 1
