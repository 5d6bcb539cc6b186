import json

import numpy as np
import pandas as pd
import pytest

import tests.search.learners_for_tests  # noqa: F401
from tests.conftest import make_panel
from tsauto.automl import AutoML
from tsauto.ensemble import cross_fitted, cross_fitted_voting, fit_stacker, greedy_selection, \
    stack_weights
from tsauto.ensemble.stacking import NEGLIGIBLE
from tsauto.ensemble.weighted import WeightedEnsemble
from tsauto.features.spec import FeaturizationSpec
from tsauto.tasks.forecasting import ForecastContext
from tsauto.settings import ForecastSettings


def mae(y):
    return lambda yhat: float(np.mean(np.abs(y - yhat)))


def test_greedy_selection_finds_the_known_mix():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    noise = rng.normal(size=2000)
    # a = y + e, b = y - e: their equal mix is exact; c is a poor model.
    preds = np.stack([y + noise, y - noise, y + 3 * rng.normal(size=2000)])
    weights = greedy_selection(preds, mae(y))
    np.testing.assert_allclose(weights, [0.5, 0.5, 0.0])


def test_ensemble_never_worse_than_its_best_member():
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    preds = np.stack([y + rng.normal(scale=s, size=500) for s in (0.5, 0.6, 2.0, 3.0)])
    score = mae(y)
    weights = greedy_selection(preds, score)
    assert score(weights @ preds) <= min(score(p) for p in preds)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()


def test_stacking_is_cross_fitted():
    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    preds = np.stack([y + rng.normal(scale=0.3, size=300), y + rng.normal(scale=1.0, size=300)])
    folds = np.repeat([0, 1, 2], 100)
    meta = cross_fitted(preds, y, folds)
    assert np.isfinite(meta).all()
    # each fold's predictions come from a model that never saw that fold
    for fold in range(3):
        rows = folds == fold
        other = fit_stacker(preds[:, ~rows], y[~rows])
        np.testing.assert_allclose(meta[rows], other.predict(preds[:, rows].T))
    coef = fit_stacker(preds, y).coef_
    assert coef[0] > coef[1] >= 0
    assert np.isnan(cross_fitted(preds, y, np.zeros(300))).all()
    scaled = cross_fitted(preds, y, folds, sum_to_one=True)
    rows = folds == 0
    np.testing.assert_allclose(scaled[rows], stack_weights(preds[:, ~rows], y[~rows],
                                                           sum_to_one=True) @ preds[:, rows])


def test_forecast_stack_weights_sum_to_one_and_learn_no_level():
    rng = np.random.default_rng(3)
    y = 1e12 * (1 + rng.random(400))  # GDP-sized levels
    noise = 1e10 * rng.normal(size=400)
    # members that all under-forecast by 5%: free weights scale them up to the level
    low = np.stack([0.95 * y + noise, 0.95 * y - noise])
    free = stack_weights(low, y)
    assert free.sum() > 1.04
    weights = stack_weights(low, y, sum_to_one=True)
    assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(weights, free / free.sum())  # the same members, relatively


def test_a_member_of_negligible_weight_is_left_out_of_the_stack():
    rng = np.random.default_rng(0)
    for _ in range(3):  # the third draw of this generator is the case below
        y = rng.normal(size=400).cumsum()
        preds = np.stack([y + rng.normal(scale=s, size=400) for s in (0.3, 0.5, 0.8, 1.5, 3, 5)])
    raw = fit_stacker(preds, y).coef_
    share = raw / raw.sum()
    assert 0 < share[-1] < NEGLIGIBLE  # the meta-model keeps the noisiest member, barely
    weights = stack_weights(preds, y, sum_to_one=True)
    assert weights[-1] == 0 and weights.sum() == pytest.approx(1.0)
    kept = share >= NEGLIGIBLE
    np.testing.assert_allclose(weights[kept], share[kept] / share[kept].sum())


def test_a_fold_whose_weights_cannot_be_chosen_is_blended_with_equal_weights():
    rng = np.random.default_rng(4)
    actual = np.r_[50 + rng.normal(size=40), np.zeros(40)]  # fold 1: a series of zeros
    folds = np.repeat([0, 1], 40)
    preds = np.stack([actual + rng.normal(scale=s, size=80) for s in (1.0, 3.0)])

    def mape_on(rows):  # over the non-zero actuals; undefined where every one is zero
        rows = rows & (actual != 0)
        return lambda p: (float(np.mean(np.abs(p[rows] - actual[rows]) / np.abs(actual[rows])))
                          if rows.any() else np.nan)

    weights, blend = cross_fitted_voting(
        preds, folds, lambda left_out: mape_on(np.ones(80, bool) if left_out is None
                                               else folds != left_out))
    np.testing.assert_allclose(blend[folds == 0], preds[:, folds == 0].mean(axis=0))
    assert weights[0] > weights[1]  # on all rows the better member is chosen


def test_ensembles_join_the_leaderboard_and_refit():
    frame = make_panel(n_series=4, length=60)
    settings = ForecastSettings(time_column="date", target_column="sales", grain_columns=["store"],
                                horizon=6, allowed_models=["test_window_mean"], max_trials=4,
                                time_budget=120, verbosity=0)
    run = AutoML(settings).fit(frame)
    board = run.leaderboard()
    blends = board[board.learner.str.endswith("_ensemble")]
    # the last trials; one that would keep a single member (that member again) is not built
    assert len(blends) and blends.trial.min() == 4
    assert all(len(json.loads(p)["members"]) >= 2 for p in blends.params)


def test_weighted_ensemble_blends_members():
    frame = make_panel(n_series=2, length=40)
    from tsauto import TimeSeriesDataset
    from tests.search.learners_for_tests import WindowMean

    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales", grain_columns="store")
    a = WindowMean(quantiles=[0.1, 0.9], window=2).fit(ds)
    b = WindowMean(quantiles=[0.1, 0.9], window=8).fit(ds)
    blend = WeightedEnsemble.of_fitted([a, b], [0.25, 0.75]).predict(3)
    expected = 0.25 * a.predict(3)["forecast"] + 0.75 * b.predict(3)["forecast"]
    np.testing.assert_allclose(blend["forecast"], expected)
    assert (blend["q0.1"] <= blend["q0.9"]).all()


def test_voting_ensemble_is_scored_on_folds_its_weights_never_saw():
    from tsauto import TimeSeriesDataset
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.ensemble.oof import aligned, forecast_fold_scorer
    from tsauto.tasks.forecasting import ensembles
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import run_trial
    from tests.search.learners_for_tests import WindowMean

    ds = TimeSeriesDataset(make_panel(n_series=5, length=60), time_column="date",
                           target_column="sales", grain_columns="store")
    folds = rolling_origin(ds, 6, 3, 6)
    context = ForecastContext(6, (0.1, 0.9), 7, FeaturizationSpec(), 0)
    trials = [run_trial(TrialSpec(i, "test_window_mean", {"window": w}, WindowMean), folds, context)
              for i, w in enumerate((1, 3, 7, 20))]
    voting = ensembles(trials, folds, context, "mae", 4, stacking=False,
                             target="sales", time_column="date")[0]
    keys, stack = aligned([t.oof for t in trials], ["fold", "series_id", "date"], ["forecast"])
    actual = keys.pop("actual").to_numpy()
    oof = voting.oof.merge(keys.assign(row=range(len(keys))), on=["fold", "series_id", "date"])
    for fold in folds:
        others = forecast_fold_scorer(keys, actual, [f for f in folds if f is not fold], "mae", 7,
                              "sales")
        weights = greedy_selection(stack[:, :, 0], others)
        rows = oof["fold"] == fold.index
        expected = weights @ stack[:, oof.loc[rows, "row"].to_numpy(), 0]
        np.testing.assert_allclose(oof.loc[rows, "forecast"], expected)
    # the weights it ships with are chosen on every fold
    everything = forecast_fold_scorer(keys, actual, folds, "mae", 7, "sales")
    chosen = greedy_selection(stack[:, :, 0], everything)
    assert voting.params["weights"] == [round(float(w), 6) for w in chosen[chosen > 0]]


def test_one_window_is_cross_fitted_over_two_halves_of_the_series():
    from tsauto import TimeSeriesDataset
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.ensemble.oof import aligned, forecast_fold_scorer
    from tsauto.tasks.forecasting import ensembles
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import run_trial
    from tests.search.learners_for_tests import WindowMean

    ds = TimeSeriesDataset(make_panel(n_series=6, length=60), time_column="date",
                           target_column="sales", grain_columns="store")
    folds = rolling_origin(ds, 6, 1, 6)
    context = ForecastContext(6, (0.1, 0.9), 7, FeaturizationSpec(), 0)
    trials = [run_trial(TrialSpec(i, "test_window_mean", {"window": w}, WindowMean), folds, context)
              for i, w in enumerate((1, 3, 7, 20))]
    made = ensembles(trials, folds, context, "mae", 4, target="sales", time_column="date")
    assert [t.learner for t in made] == ["voting_ensemble", "stack_ensemble"]
    keys, stack = aligned([t.oof for t in trials], ["fold", "series_id", "date"], ["forecast"])
    actual = keys.pop("actual").to_numpy()
    codes = pd.factorize(keys["series_id"].astype(str))[0]
    halves = (np.random.default_rng(0).permutation(codes.max() + 1) % 2)[codes]
    oof = made[0].oof
    assert (oof["series_id"].to_numpy() == keys["series_id"].to_numpy()).all()
    for half in (0, 1):
        other = forecast_fold_scorer(keys, actual, folds, "mae", 7, "sales",
                             within=halves != half)
        weights = greedy_selection(stack[:, :, 0], other)
        rows = halves == half
        np.testing.assert_allclose(oof.loc[rows, "forecast"], weights @ stack[:, rows, 0])


def test_greedy_selection_refuses_when_no_candidate_can_be_scored():
    from tsauto.errors import DataError

    preds = np.ones((3, 10))
    with pytest.raises(DataError, match="every candidate's validation score is NaN"):
        greedy_selection(preds, lambda yhat: float("nan"))


def _window_mean_trials(frame, n_windows):
    from tsauto import TimeSeriesDataset
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import run_trial
    from tests.search.learners_for_tests import WindowMean

    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales",
                           grain_columns="store")
    folds = rolling_origin(ds, 6, n_windows, 6)
    context = ForecastContext(6, (0.1, 0.9), 12, FeaturizationSpec(), 0)
    trials = [run_trial(TrialSpec(i, "test_window_mean", {"window": w}, WindowMean), folds,
                        context) for i, w in enumerate((1, 3, 7))]
    return trials, folds, context


def test_ensembles_over_forecasts_that_share_no_row_are_failed_trials_with_the_reason():
    from tsauto.tasks.forecasting import ensembles

    trials, folds, context = _window_mean_trials(make_panel(n_series=3, length=48), 2)
    # each candidate lacks a forecast where another has one: no row is complete
    for i, trial in enumerate(trials):
        trial.oof.loc[np.arange(len(trial.oof)) % 3 == i, "forecast"] = np.nan
    made = ensembles(trials, folds, context, "mae", 3, target="sales",
                           time_column="date")
    assert [(t.trial_id, t.learner, t.status) for t in made] == [
        (3, "voting_ensemble", "failed"), (4, "stack_ensemble", "failed")]
    assert all("share no validation row" in t.error for t in made)
    assert sorted(made[0].params["members"]) == [0, 1, 2]


def test_a_fit_whose_voting_weights_cannot_be_scored_still_delivers_a_model():
    # One window is cross-fitted over two halves of the series; with two series, one of them
    # constant, one half is scored on a series whose MASE has no scale.
    frame = make_panel(n_series=2, length=40)
    frame.loc[frame.store == "s0", "sales"] = 5.0
    settings = ForecastSettings(time_column="date", target_column="sales",
                                grain_columns=["store"], horizon=6,
                                allowed_models=["test_window_mean"], max_trials=3,
                                n_cross_validations=1, time_budget=120, verbosity=0)
    run = AutoML(settings).fit(frame)
    assert run.best_model is not None
    board = run.leaderboard()
    voting = board[board.learner == "voting_ensemble"].iloc[0]
    assert voting.status == "completed" or "NaN" in voting.error


def test_an_ensemble_that_keeps_one_member_is_not_built():
    """Greedy selection that keeps one trial gives that trial again, under another name and a
    cross-fitted score of other choices: it is left off the board, as a one-member stack is."""
    from tsauto import TimeSeriesDataset
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import ensembles, run_trial
    from tests.search.learners_for_tests import WindowMean

    ds = TimeSeriesDataset(make_panel(n_series=20, length=60), time_column="date",
                           target_column="sales", grain_columns="store")
    folds = rolling_origin(ds, 6, 3, 6)
    context = ForecastContext(6, (0.1, 0.9), 7, FeaturizationSpec(), 0)

    def trials(*windows):
        return [run_trial(TrialSpec(i, "test_window_mean", {"window": w}, WindowMean), folds,
                          context) for i, w in enumerate(windows)]

    # the last value beats a 40-month mean on every fold: greedy keeps it alone
    assert ensembles(trials(1, 40), folds, context, "mae", 2, stacking=False,
                     target="sales", time_column="date") == []
    # two members that both help: built
    made = ensembles(trials(3, 48), folds, context, "mae", 2, stacking=False,
                     target="sales", time_column="date")
    assert [t.params["members"] for t in made] == [[0, 1]]
