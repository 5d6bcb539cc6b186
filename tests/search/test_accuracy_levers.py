"""How the search spends its budget (issue 13): learners that fit the data, the statistical
combination as a scored candidate, equal-weight shrinkage, the per-trial cap, measured cost."""

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest

import tests.search.learners_for_tests  # noqa: F401  (registers the test learners)
from tests.conftest import make_panel
from tsauto import TimeSeriesDataset
from tsauto.automl import AutoML
from tsauto.ensemble import shrunk_to_equal
from tsauto.features.spec import FeaturizationSpec
from tsauto.learners import registry
from tsauto.search.engine import SearchTask, candidate_learners, trial_cap
from tsauto.search.ensembles import COMBINATION
from tsauto.search.trial import TrialResult
from tsauto.settings import ForecastSettings
from tsauto.tasks.forecasting import COST_SECONDS, ForecastContext, family_members, search_task
from tsauto.tasks.forecasting_plan import (
    SearchPlan,
    plan_search,
    planned_windows,
    probe_costs,
    probe_sample,
    unsuited_learners,
)

ROLES = dict(time_column="date", target_column="sales", grain_columns=["store"])


def dataset(frame, freq=None):
    return TimeSeriesDataset(frame, **ROLES, **({"freq": freq} if freq else {}))


def intermittent_panel(n_series=4, length=60, zeros=0.6, seed=0):
    frame = make_panel(n_series=n_series, length=length)
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(len(frame)) < zeros, "sales"] = 0.0
    return frame


def test_intermittent_learners_are_skipped_on_data_without_zeros_with_the_reason():
    unsuited = unsuited_learners(dataset(make_panel(n_series=4, length=60)), registry)
    for name in ("croston_optimized", "adida", "imapa"):
        assert unsuited[name].startswith("not intermittent data: 0% of the series")
    assert "auto_ets" not in unsuited and "seasonal_window_average" not in unsuited
    assert not {"croston_optimized", "adida", "imapa"} & set(
        unsuited_learners(dataset(intermittent_panel()), registry))


def test_seasonal_learners_are_skipped_where_no_season_can_be_estimated():
    yearly = make_panel(n_series=3, length=30, freq="YS", start="1990-01-01")
    unsuited = unsuited_learners(dataset(yearly), registry)
    assert unsuited["mstl"].startswith("no season to model")
    assert unsuited["seasonal_window_average"].startswith("no season to model")
    short = make_panel(n_series=3, length=20)  # monthly, season 12: not two cycles
    assert "two seasons" in unsuited_learners(dataset(short), registry)["mstl"]
    assert "seasonal_naive" not in unsuited_learners(dataset(short), registry)


def test_naive_is_the_first_baseline_where_no_series_holds_a_season():
    """Weekly series of 30 points (season 52): seasonal naive would forecast every series by
    its fallback and fail, so naive leads the baselines, and the cheap family is never priced
    out of a large panel's search."""
    weekly = dataset(make_panel(n_series=3, length=30, freq="W-SUN"))
    reason = unsuited_learners(weekly, registry)["seasonal_naive"]
    assert reason == ("no series holds a season plus one period (52 + 1) before the validation "
                      "windows (the longest 30): naive is the first baseline instead")
    assert search_task(weekly).baselines[0] == "naive"
    longer = dataset(make_panel(n_series=3, length=60, freq="W-SUN"))  # 52 before the window
    assert search_task(longer, horizon=8).baselines[0] == "naive"
    assert search_task(longer, horizon=4).baselines[0] == "seasonal_naive"
    task = dataclasses.replace(search_task(weekly), size=15_000)  # series: searched at 600 s
    chosen, _ = candidate_learners(ForecastSettings(**ROLES, horizon=6), task, 3, 600)
    assert {"naive", "historic_average", "window_average"} <= set(chosen)


def test_the_skipped_list_records_the_reason_and_allowed_models_overrides_it():
    ds = dataset(make_panel(n_series=4, length=60))
    task = SearchTask(registry, (), None, None, ds.n_series, dict.fromkeys(COST_SECONDS, 0.0),
                      unsuited_learners(ds, registry))
    chosen, skipped = candidate_learners(ForecastSettings(**ROLES, horizon=6), task, 2, 600)
    assert "imapa" not in chosen and skipped["imapa"].startswith("not intermittent data")
    chosen, skipped = candidate_learners(
        ForecastSettings(**ROLES, horizon=6, allowed_models=["imapa", "auto_ets"]), task, 2, 600)
    assert chosen == ["imapa", "auto_ets"] and not skipped


def test_measured_cost_replaces_the_declared_one_in_the_skipped_reason():
    ds = dataset(make_panel(n_series=4, length=60))
    declared = dict.fromkeys(COST_SECONDS, 0.0)
    task = SearchTask(registry, (), None, None, 100, declared, {}, {"auto_ets": 1.0})
    chosen, skipped = candidate_learners(ForecastSettings(**ROLES, horizon=6), task, 3, 100)
    assert skipped["auto_ets"] == "measured ~300s per trial, over half the time budget (100s)"
    assert "auto_arima" in chosen  # declared free here, not measured
    del ds


def test_planned_windows_cut_validation_to_what_the_budget_affords():
    probed = {"auto_theta": 0.01, "auto_ets": 0.05, "auto_ces": 0.04}  # 0.1 s per series
    # 100 series in 2 workers: 5 s per window; half of 60 s affords 6 fits -> 3 windows + refit
    assert planned_windows(3, probed, 100, 60, 2) == 3
    assert planned_windows(3, probed, 100, 30, 2) == 2
    assert planned_windows(3, probed, 100, 5, 2) == 1    # never fewer than one
    assert planned_windows(3, {}, 100, 5, 2) == 3        # nothing measured: unchanged


def test_the_plan_counts_a_trial_at_its_pool_speed(monkeypatch):
    from tsauto.search.executor import CORES_ENV
    from tsauto.tasks import forecasting_plan
    from tsauto.tasks.forecasting_plan import POOL_EFFICIENCY, trial_speedup

    monkeypatch.setenv(CORES_ENV, "2")  # a 2-core machine, as cpu_count sees it
    assert trial_speedup(1, 100) == 1 + POOL_EFFICIENCY  # one worker: a pool of both cores
    assert trial_speedup(2, 100) == 1.0                 # two workers: one core each
    assert trial_speedup(1, 1) == 1.0                   # one series: no pool
    one_process = {"auto_theta": 0.01, "auto_ets": 0.05, "auto_ces": 0.04, "auto_arima": 1.0}
    monkeypatch.setattr(forecasting_plan, "probe_costs", lambda *a, **k: dict(one_process))
    ds = dataset(make_panel(n_series=4, length=60))
    context = ForecastContext(6, (), ds.season_length, FeaturizationSpec(), 0)
    for workers, speedup in ((1, 1 + POOL_EFFICIENCY), ("auto", 1.0)):
        s = ForecastSettings(**ROLES, horizon=6, time_budget=600, max_concurrent_trials=workers)
        measured = plan_search(ds, context, s, 2).measured
        assert measured == pytest.approx({k: v / speedup for k, v in one_process.items()})


def test_the_probe_times_the_family_on_series_spread_over_the_lengths():
    frame = pd.concat([make_panel(n_series=1, length=n, seed=n).assign(store=f"s{n}")
                       for n in (30, 40, 50, 60, 70, 80)], ignore_index=True)
    ds = dataset(frame)
    assert sorted(probe_sample(ds, 3).lengths) == [30, 50, 80]  # shortest, between, longest
    context = ForecastContext(6, (), ds.season_length, FeaturizationSpec(), 0)
    probed = probe_costs(ds, context, 600, ["auto_theta", "auto_ets"])
    assert set(probed) == {"auto_theta", "auto_ets"} and all(v > 0 for v in probed.values())
    s = ForecastSettings(**ROLES, horizon=6, time_budget=None)
    assert plan_search(ds, context, s, 3) == SearchPlan(3, {}, {})  # no budget: nothing probed
    s = ForecastSettings(**ROLES, horizon=6, time_budget=600, n_cross_validations=2,
                         allowed_models=["auto_theta", "naive"])
    plan = plan_search(ds, context, s, 2)
    assert plan.windows == 2 and set(plan.measured) == {"auto_theta"} and not plan.planned


def _trial(i, learner, oof, mase):
    return TrialResult(i, learner, {}, "completed", {"mase": mase}, [{"mase": mase}], 1.0,
                       oof=oof)


def test_family_members_are_the_best_trial_of_each_statistical_learner():
    oof = pd.DataFrame({"fold": [0], "series_id": ["a"], "date": [0], "actual": [1.0],
                        "forecast": [1.0]})
    trials = [_trial(0, "auto_ets", oof, 1.2), _trial(1, "auto_ets", oof, 1.0),
              _trial(2, "lightgbm", oof, 0.5), _trial(3, "auto_theta", oof, 1.1),
              TrialResult(4, "auto_ces", {}, "failed")]
    assert [t.trial_id for t in family_members(trials, "mase")] == [1, 3]


def test_the_statistical_combination_is_always_scored_and_refitted_as_an_ensemble():
    frame = make_panel(n_series=4, length=60)
    s = ForecastSettings(**ROLES, horizon=6, allowed_models=["auto_theta", "auto_ets",
                                                             "seasonal_naive"],
                         max_trials=3, time_budget=None, verbosity=0, seed=0)
    run = AutoML(s).fit(frame)
    trials = {t.learner: t for t in run.result.trials}
    combo = trials[COMBINATION]
    assert combo.status == "completed"
    by_id = {t.trial_id: t for t in run.result.trials}
    members = [by_id[i] for i in combo.params["members"]]
    assert sorted(m.learner for m in members) == ["auto_ets", "auto_theta"]
    assert combo.params["weights"] == [0.5, 0.5]
    # its validation forecast is the plain mean of its members'
    keys = ["fold", "series_id", "date"]
    merged = members[0].oof.merge(members[1].oof, on=keys).merge(combo.oof, on=keys)
    np.testing.assert_allclose(merged["forecast"],
                               (merged["forecast_x"] + merged["forecast_y"]) / 2)
    board = run.leaderboard()
    assert COMBINATION in set(board.learner)
    model = run.best_model_by("smape")  # any trial refits; the combination too when best
    assert model is not None
    if run.result.best().learner == COMBINATION:
        assert run.best_model.description.startswith(COMBINATION)


def test_learned_weights_shrink_to_equal_ones_unless_they_clearly_win():
    rng = np.random.default_rng(0)
    n_series, per = 6, 8
    series = np.repeat(np.arange(n_series), per)
    actual = 100 + rng.normal(0, 1, n_series * per)
    # two members of the same quality: greedy's lopsided weights are noise, equal ones stay
    noisy = np.stack([actual + rng.normal(0, 5, actual.size) for _ in range(2)])
    assert shrunk_to_equal(np.array([0.8, 0.2]), noisy, actual, series).tolist() == [0.5, 0.5]
    # a good member and a bad one on every series: the learned weights are kept
    clear = np.stack([actual + rng.normal(0, 0.5, actual.size), actual + 20])
    weights = np.array([1.0, 0.0])
    assert shrunk_to_equal(weights, clear, actual, series) is weights
    assert shrunk_to_equal(np.array([0.7, 0.3]), clear, actual, series).tolist() == [0.7, 0.3]
    # an unchosen member stays out of the equal weights
    three = np.concatenate([noisy, clear[1:]])
    assert shrunk_to_equal(np.array([0.8, 0.2, 0.0]), three, actual, series).tolist() == \
        [0.5, 0.5, 0.0]


def test_trial_cap_is_a_share_of_the_time_left_once_a_model_exists():
    now = time.monotonic()
    assert trial_cap(None, None, 0.0, True) is None          # no budget, no cap
    assert trial_cap(30.0, now + 100, 0.0, False) == 30.0    # not capped: the user's timeout
    assert trial_cap(None, now + 100, 20.0, True) == pytest.approx(40.0, abs=0.5)
    assert trial_cap(10.0, now + 100, 20.0, True) == 10.0


def test_a_proposed_trial_that_would_eat_the_budget_is_stopped_by_the_cap(monkeypatch):
    from tsauto.tasks import forecasting

    # a baseline completes first, so that every proposal runs under the cap
    monkeypatch.setattr(forecasting, "BASELINES", ("test_window_mean",))
    s = ForecastSettings(**ROLES, horizon=6, allowed_models=["test_window_mean", "test_hanging"],
                         time_budget=30, max_trials=4, early_stopping_trials=None,
                         verbosity=0, seed=0)
    run = AutoML(s).fit(make_panel(n_series=2, length=40))
    board = run.leaderboard()
    hung = board[board.learner == "test_hanging"]
    assert len(hung) and (hung.status == "timeout").all()
    # stopped at its cap, before the budget ran out, so the search went on after it
    assert hung.error.str.contains("trial_timeout").any()
    assert "test_window_mean" in run.best_model.description


def test_a_stored_experiment_keeps_the_windows_its_trials_were_scored_on():
    from tsauto.tasks.forecasting_plan import recorded_windows

    two = TrialResult(0, "auto_ets", {}, "completed", {"mase": 1.0}, [{"mase": 1.0}] * 2)
    failed = TrialResult(1, "auto_ces", {}, "failed")
    assert recorded_windows([two, failed]) == 2
    assert recorded_windows([failed]) is None


def test_a_stack_that_keeps_one_member_is_not_built():
    from tests.ensemble.test_ensembles import _window_mean_trials
    from tsauto.tasks.forecasting import ensembles as ensemble_trials

    trials, folds, context = _window_mean_trials(make_panel(n_series=4, length=60), 3)
    made = ensemble_trials(trials, folds, context, "mae", 3, voting=False, target="sales",
                           time_column="date")
    assert [t.learner for t in made] == ["stack_ensemble"]  # members that differ: built
    # one member forecasts the actuals, the others their opposite: the non-negative stacker
    # keeps the first alone
    trials[0].oof["forecast"] = trials[0].oof["actual"]
    for t in trials[1:]:
        t.oof["forecast"] = -t.oof["actual"]
    made = ensemble_trials(trials, folds, context, "mae", 3, voting=False, target="sales",
                           time_column="date")
    assert made == []


# -- a costly learner spent once (AutoARIMA on long panels) --------------------------------
def test_a_costly_learner_is_spent_once_only_when_its_normal_validation_is_not_affordable():
    from tsauto.tasks.forecasting_plan import REUSABLE, reused_forms

    core = {"auto_theta": 0.01, "auto_ets": 0.05, "auto_ces": 0.04}  # 100 series: 10 s
    # ARIMA 1 s per series: 100 s a window in one process; its approximate search: 40 s
    probed = {**core, "auto_arima": 1.0}
    assert reused_forms(1, probed, 100, 300, 2) == {}   # affordable as it is: validated normally
    assert reused_forms(2, probed, 100, 60, 2) == {"auto_arima": REUSABLE["auto_arima"]}
    assert reused_forms(2, probed, 100, 50, 2) == {}    # 40 s is over 75% of 50 s
    # one worker: the core's window and refit (20 s) come first
    assert reused_forms(2, probed, 100, 60, 1) == {}
    assert reused_forms(2, probed, 100, 80, 1) == {"auto_arima": REUSABLE["auto_arima"]}
    assert reused_forms(2, core, 100, 60, 2) == {}      # not measured: nothing to plan


def test_the_costliest_family_members_make_room_for_a_learner_spent_once():
    from tsauto.tasks.forecasting_plan import REUSABLE, lean_core

    probed = {"auto_theta": 0.01, "auto_ets": 0.05, "auto_ces": 0.04, "auto_arima": 1.0}
    # one worker, 60 s: ARIMA's 40 s and the whole core's window and refit (20 s) are over 45 s;
    # without AutoETS (10 s) 50 s still are; AutoTheta's 2 s leave room: the other two go
    planned, skipped = lean_core(2, probed, 100, 60, 1)
    assert planned == {"auto_arima": REUSABLE["auto_arima"]}
    assert set(skipped) == {"auto_ets", "auto_ces"}
    assert skipped["auto_ets"].startswith("the budget goes to auto_arima spent once")
    # dropping AutoCES alone is enough at 70 s (50 s <= 52.5 s): AutoETS, the costliest, goes
    assert set(lean_core(2, probed, 100, 70, 1)[1]) == {"auto_ets"}
    # not even AutoTheta's fit leaves room at 50 s (42 s > 37.5 s): nothing planned or left out
    assert lean_core(2, probed, 100, 50, 1) == ({}, {})
    # AutoTheta is never the one left out, even where it is the costliest member
    costly_theta = {**probed, "auto_theta": 0.05, "auto_ets": 0.01, "auto_ces": 0.01}
    assert lean_core(2, costly_theta, 100, 60, 1) == ({}, {})


def test_a_planned_learner_is_not_priced_out_again():
    declared = dict.fromkeys(COST_SECONDS, 0.0)
    task = SearchTask(registry, (), None, None, 100, declared, {}, {"auto_arima": 5.0},
                      {"auto_arima": {"approximation": True}})
    s = ForecastSettings(**ROLES, horizon=6, allowed_models=None)
    chosen, skipped = candidate_learners(s, task, 1, 100)
    assert "auto_arima" in chosen and "auto_arima" not in skipped


def test_the_refit_reuses_the_forms_the_single_window_trial_chose():
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import refit_learner, run_trial

    ds = dataset(make_panel(n_series=2, length=48))
    context = ForecastContext(6, (0.1, 0.9), ds.season_length, FeaturizationSpec(), 0,
                              reuse_forms=("auto_arima",))
    spec = TrialSpec(0, "auto_arima", {"approximation": True}, registry.get("auto_arima"))
    trial = run_trial(spec, rolling_origin(ds, 6, 1), context)
    assert trial.status == "completed" and trial.fitted is not None
    chosen = trial.fitted.forms_
    assert all(f is not None for f in chosen)
    spec.fitted = trial.fitted
    refit = refit_learner(spec, ds, context)
    # the same fitted models (no new order search), their state run through all the data
    assert all(a is b for a, b in zip(refit.forms_, chosen))
    forecast = refit.predict(6)
    assert np.isfinite(forecast["forecast"]).all()
    assert not np.allclose(forecast["forecast"].to_numpy(),
                           trial.fitted.predict(6)["forecast"].to_numpy())
    # on several windows nothing is kept: one window's forms would not stand for the others
    assert run_trial(spec, rolling_origin(ds, 6, 2), context).fitted is None


def test_the_costly_learner_starts_at_once_beside_the_core_with_several_workers():
    from tsauto.tasks.forecasting import BASELINES, search_task

    ds = dataset(make_panel(n_series=2, length=48))
    planned = {"auto_arima": {"approximation": True}}
    assert search_task(ds).baselines == BASELINES
    assert search_task(ds, {}, planned, 2).baselines[:2] == ("seasonal_naive", "auto_arima")
    one = search_task(ds, {}, planned, 1).baselines
    # one worker: right after AutoTheta and LightGBM, before the costlier members the time
    # left may cut
    assert one[:4] == ("seasonal_naive", "auto_theta", "lightgbm", "auto_arima")


def test_a_search_spends_a_costly_learner_once_and_refits_it_from_its_trial(monkeypatch):
    from tsauto.tasks import forecasting_plan

    # measured: ARIMA far over half the budget on every window, the core cheap
    monkeypatch.setattr(forecasting_plan, "probe_costs", lambda *a, **k: {
        "auto_theta": 0.01, "auto_ets": 0.01, "auto_ces": 0.01, "auto_arima": 200.0})
    s = ForecastSettings(**ROLES, horizon=6, time_budget=600, max_trials=2, verbosity=0, seed=0,
                         allowed_models=["seasonal_naive", "auto_arima"])
    run = AutoML(s).fit(make_panel(n_series=2, length=48))
    board = run.leaderboard()
    arima = run.result.trials[[t.learner for t in run.result.trials].index("auto_arima")]
    assert arima.params == {"approximation": True} and arima.fitted is not None
    assert len(arima.fold_metrics) == 1 and "auto_arima" not in run.result.skipped_learners
    assert "auto_arima spent once" in run.validation  # said where the validation is described
    assert (board.learner == "auto_arima").sum() == 1
    assert run.best_model.forecast().notna().all().all()


# -- the global learners against the family (forecasting_plan.global_plan) -------------------
# aus_retail-like costs at the demo's 120 s: 152 series, seconds per series per fold
DEMO_COSTS = {"auto_theta": 0.03, "auto_ets": 0.13, "auto_ces": 0.2}


def test_the_global_plan_keeps_the_family_members_its_share_affords_then_lightgbm():
    from tsauto.tasks.forecasting_plan import global_plan

    # LightGBM gained 5% beside AutoTheta and costs 0.02 s per series per fold (12 s for its
    # 3 windows and refit): AutoTheta (9 s on 2 cores) fits a quarter of 120 s, AutoETS does not
    first, skipped = global_plan(3, DEMO_COSTS, 0.05, 0.02, 152, 120, 2)
    assert first == ("auto_theta", "lightgbm")
    assert set(skipped) == {"auto_ets", "auto_ces"}
    assert skipped["auto_ets"].startswith("the budget goes to LightGBM on 3 windows: beside "
                                          "AutoTheta it gained 5% on the last window")
    # a larger budget affords AutoETS too, cheapest first
    assert global_plan(3, DEMO_COSTS, 0.05, 0.02, 152, 240, 2)[0] == (
        "auto_theta", "auto_ets", "lightgbm")
    # AutoTheta, the duel's partner, stays even where its probe prices it out of the share
    assert global_plan(3, {**DEMO_COSTS, "auto_theta": 0.2}, 0.05, 0.02, 152, 120, 2)[0] == (
        "auto_theta", "lightgbm")
    # too little gain (prison, global_economy: LightGBM made AutoTheta worse): no global plan
    assert global_plan(3, DEMO_COSTS, 0.02, 0.02, 152, 120, 2) is None
    assert global_plan(3, DEMO_COSTS, -0.1, 0.02, 152, 120, 2) is None
    # LightGBM itself over half the budget on every window: no global plan either
    assert global_plan(3, DEMO_COSTS, 0.05, 0.1, 152, 120, 2) is None


def _plan(monkeypatch, gain, budget=120, **settings):
    from tsauto.tasks import forecasting_plan

    # 8 series standing for the demo's 152: each costs 19 times as much
    monkeypatch.setattr(forecasting_plan, "probe_costs",
                        lambda *a, **k: {k: 19 * v for k, v in DEMO_COSTS.items()})
    dueled = []
    monkeypatch.setattr(forecasting_plan, "duel",
                        lambda *a, **k: dueled.append(1) or (gain, 19 * 0.02))
    ds = dataset(make_panel(n_series=8, length=48))
    context = ForecastContext(6, (), ds.season_length, FeaturizationSpec(), 0)
    s = ForecastSettings(**ROLES, horizon=6, time_budget=budget, **settings)
    return plan_search(ds, context, s, 3), dueled


def test_the_plan_chooses_lightgbm_on_every_window_or_the_family_on_fewer(monkeypatch):
    # the family costs ~27 s a window on 2 cores: half of 120 s affords one window and its refit
    plan, dueled = _plan(monkeypatch, gain=0.05)
    assert dueled and plan.windows == 3 and plan.first == ("auto_theta", "lightgbm")
    assert set(plan.skipped) == {"auto_ets", "auto_ces"}
    assert plan.measured["lightgbm"] == pytest.approx(19 * 0.02)
    assert "the global plan" in plan.note
    plan, _ = _plan(monkeypatch, gain=0.0)   # LightGBM adds nothing: the family on one window
    assert (plan.windows, plan.first, plan.skipped) == (1, (), {})
    # the family affordable on every window: no duel, the family first as before
    plan, dueled = _plan(monkeypatch, gain=0.05, budget=1000)
    assert not dueled and plan.windows == 3 and not plan.first
    # LightGBM not a candidate, or the windows fixed by the user: no duel
    for settings in ({"blocked_models": ["lightgbm"]}, {"n_cross_validations": 3}):
        plan, dueled = _plan(monkeypatch, gain=0.05, **settings)
        assert not dueled and not plan.first


def test_the_global_plan_orders_the_baselines_and_skips_with_the_reason():
    from tsauto.tasks.forecasting import search_task

    ds = dataset(make_panel(n_series=2, length=48))
    task = search_task(ds, {}, {}, 1, ("auto_theta", "lightgbm"), {"auto_ets": "the plan"})
    assert task.baselines[:3] == ("seasonal_naive", "auto_theta", "lightgbm")
    chosen, skipped = candidate_learners(ForecastSettings(**ROLES, horizon=6), task, 3, None)
    assert skipped["auto_ets"] == "the plan" and "lightgbm" in chosen


def test_the_duel_measures_lightgbm_beside_autotheta_on_the_last_window():
    from tsauto.tasks.forecasting_plan import duel

    ds = dataset(make_panel(n_series=3, length=48))
    context = ForecastContext(6, (), ds.season_length, FeaturizationSpec(), 0)
    gain, cost = duel(ds, context, 600)
    assert np.isfinite(gain) and -1 < gain < 1 and cost > 0


# -- a learner's portfolio: configurations tried right after its baseline ------------------------
def test_lightgbm_is_tried_with_differenced_targets_right_after_its_defaults():
    s = ForecastSettings(**ROLES, horizon=6, max_trials=3, verbosity=0, seed=0,
                         allowed_models=["seasonal_naive", "lightgbm"])
    run = AutoML(s).fit(make_panel(n_series=3, length=60))
    first = [(t.learner, t.params, t.status) for t in run.result.trials[:3]]
    assert first == [("seasonal_naive", {}, "completed"), ("lightgbm", {}, "completed"),
                     ("lightgbm", {"target_difference": "first"}, "completed")]


def test_a_portfolio_trial_that_would_not_export_is_left_out_for_onnx():
    from tsauto.search.engine import _portfolio

    cls = registry.get("lightgbm")
    assert _portfolio(cls, False, None) == [("lightgbm", {"target_difference": "first"})]
    onnx = ForecastSettings(**ROLES, horizon=6, enable_onnx_compatible_models=True)
    assert _portfolio(cls, False, onnx) == []  # differencing does not export
    assert _portfolio(cls, True, None) == []   # a learner the plan affords one trial


# -- what beats the combination must beat it on most windows ---------------------------------
def _scored(trial_id, learner, folds):
    return TrialResult(trial_id, learner, {}, "completed", {"mase": float(np.mean(folds))},
                       [{"mase": f} for f in folds])


def test_a_trial_that_beats_the_combination_on_one_window_of_three_does_not_outrank_it():
    from tsauto.search.engine import SearchResult

    # global_economy at 600 s: LightGBM wins the crisis window alone, the combination both calm
    lucky = _scored(5, "lightgbm", [4.20, 5.28, 6.67])
    steady = _scored(9, "elastic_net", [3.70, 5.00, 9.60])  # wins two of three: keeps its place
    combination = _scored(27, COMBINATION, [3.84, 5.15, 9.44])
    theta = _scored(1, "auto_theta", [4.05, 5.39, 11.32])
    result = SearchResult([theta, lucky, combination, steady], "mase", "", 0.0,
                          reference=COMBINATION)
    assert lucky.metrics["mase"] < combination.metrics["mase"]  # the better mean
    assert [t.trial_id for t in result.ranked()] == [9, 27, 5, 1]
    assert result.best() is steady
    assert result.ranking_note == ("lightgbm (trial 5) has the best mean mase but beats "
                                   "statistical_combination on 1 of 3 validation windows only, "
                                   "so it ranks below it")
    # without the consistent trial the combination is the best
    result = SearchResult([theta, lucky, combination], "mase", "", 0.0, reference=COMBINATION)
    assert result.best() is combination
    # one window: the mean decides; no reference named: the mean decides
    one = [_scored(5, "lightgbm", [4.2]), _scored(27, COMBINATION, [4.5])]
    assert SearchResult(one, "mase", "", 0.0, reference=COMBINATION).best().trial_id == 5
    assert SearchResult([theta, lucky, combination], "mase", "", 0.0).best() is lucky


def test_the_leaderboard_and_the_model_follow_the_consistent_ranking(monkeypatch):
    from tsauto.search import engine

    # every trial is "beaten" by the combination on most windows: the combination is chosen
    # whenever it is on the board, and the board lists it first
    real = engine.windows_won
    monkeypatch.setattr(engine, "windows_won", lambda t, ref, metric: 0 if ref is not t
                        else real(t, ref, metric))
    s = ForecastSettings(**ROLES, horizon=6, n_cross_validations=2, time_budget=None,
                         allowed_models=["auto_theta", "auto_ets", "seasonal_naive"],
                         enable_stack_ensemble=False, verbosity=0, seed=0)
    run = AutoML(s).fit(make_panel(n_series=3, length=60))
    board = run.leaderboard()
    assert board.learner.iloc[0] == COMBINATION
    assert board.mase.iloc[0] > board.mase.min()  # not the best mean: the rule placed it
    assert run.best_model.description.startswith(COMBINATION)


def test_a_trial_whose_learner_fell_back_on_every_series_fails_with_the_reason():
    """At 1e97 AutoTheta fails on every series and the seasonal-naive fallback forecasts them
    all: scored under its name, the trial would be seasonal naive called auto_theta."""
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import run_trial

    panel = make_panel(n_series=3, length=48)
    context = ForecastContext(6, (0.1, 0.9), 12, FeaturizationSpec(), 0)
    spec = TrialSpec(0, "auto_theta", {}, registry.get("auto_theta"))
    huge = panel.assign(sales=panel["sales"] * 1e97)
    trial = run_trial(spec, rolling_origin(dataset(huge), 6, 2), context)
    assert trial.status == "failed"
    assert ("auto_theta forecast no series itself on any validation window: the fallback "
            "forecast all 3") in trial.error
    assert "forecast with seasonal_naive" in trial.error
    assert run_trial(spec, rolling_origin(dataset(panel), 6, 2), context).status == "completed"
