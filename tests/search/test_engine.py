"""The AutoML loop with injected learners: budgets, failures, hangs, determinism, the model."""

import time

import numpy as np
import pandas as pd
import pytest

import tests.search.learners_for_tests  # noqa: F401  (registers the test learners)
from tests.conftest import make_panel
from tsauto.automl import AutoML
from tsauto.errors import SettingsError
from tsauto.evaluation.splits import rolling_origin
from tsauto.model import load_model
from tsauto.settings import ForecastSettings
from tsauto import TimeSeriesDataset


def settings(**kw):
    base = dict(time_column="date", target_column="sales", grain_columns=["store"], horizon=6,
                allowed_models=["test_window_mean"], max_trials=4, time_budget=60, verbosity=0)
    return ForecastSettings(**{**base, **kw})


@pytest.fixture(scope="module")
def frame():
    return make_panel(n_series=4, length=60)


def test_fit_leaderboard_forecast_save_load(frame, tmp_path):
    run = AutoML(settings()).fit(frame)
    board = run.leaderboard()
    singles = board[~board.learner.str.endswith("_ensemble")]
    assert len(singles) == 4 and (board.status == "completed").all()
    assert board["mase"].is_monotonic_increasing
    assert {"mase_fold0", "mase_fold2", "smape", "pinball", "coverage", "seconds"} <= set(board.columns)
    model = run.best_model
    forecast = model.forecast()
    assert len(forecast) == 4 * 6 and not forecast.isna().any().any()
    assert {"store", "date", "forecast", "q0.1", "q0.5", "q0.9"} <= set(forecast.columns)
    model.save(tmp_path / "model.pkl")
    pd.testing.assert_frame_equal(load_model(tmp_path / "model.pkl").forecast(), forecast)


def test_failing_and_hanging_learners_do_not_stop_the_experiment(frame):
    s = settings(allowed_models=["test_window_mean", "test_failing", "test_hanging"],
                 max_trials=6, trial_timeout=2, early_stopping_trials=None)
    run = AutoML(s).fit(frame)
    board = run.leaderboard()
    assert set(board.status) >= {"completed"}
    failed = board[board.learner == "test_failing"]
    assert (failed.status == "failed").all()
    assert failed.error.str.contains("this learner always fails").all()
    hung = board[board.learner == "test_hanging"]
    assert (hung.status == "timeout").all() and hung.error.str.contains("trial_timeout").all()
    assert run.best_model is not None and run.best_model.description.startswith("test_window_mean")


def test_max_trials_and_determinism(frame):
    first = AutoML(settings(max_trials=5, seed=3)).fit(frame).leaderboard()
    second = AutoML(settings(max_trials=5, seed=3)).fit(frame).leaderboard()
    assert len(first[~first.learner.str.endswith("_ensemble")]) <= 5
    cols = ["trial", "learner", "params", "status", "mase", "smape"]
    pd.testing.assert_frame_equal(first[cols], second[cols])


def test_time_budget_is_honoured(frame):
    s = settings(allowed_models=["test_hanging", "test_window_mean"], max_trials=None,
                 time_budget=6, early_stopping_trials=None)
    start = time.monotonic()
    run = AutoML(s).fit(frame)
    elapsed = time.monotonic() - start
    # the budget, plus start-up slack of the worker processes
    assert elapsed < 6 + 3, elapsed
    assert run.result.stopped_because == "time budget reached"


def test_rolling_origin_folds(frame):
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales", grain_columns="store")
    folds = rolling_origin(ds, horizon=6, n_windows=3, step=3)
    ends = [f.train.frame["date"].max() for f in folds]
    assert ends == sorted(ends) and (ends[1] - ends[0]).days > 80
    for fold in folds:
        assert list(fold.valid.lengths) == [6] * 4
        assert fold.train.frame["date"].max() < fold.valid.frame["date"].min()
    assert list(folds[-1].train.lengths) == [54] * 4


def test_evaluate_on_a_user_holdout(frame):
    train = frame[frame.date < "2024-07-01"]
    holdout = frame[frame.date >= "2024-07-01"]
    run = AutoML(settings(max_trials=2)).fit(train)
    scores = run.best_model.evaluate(holdout)
    assert {"mase", "smape", "rmse", "pinball", "coverage"} <= set(scores)
    assert np.isfinite(scores["mase"])


@pytest.mark.parametrize("kw,message", [
    ({"horizon": 0}, "horizon=0"),
    ({"primary_metric": "accuracy"}, "primary_metric='accuracy'"),
    ({"allowed_models": ["lightgbmm"]}, "unknown learner 'lightgbmm'"),
    ({"time_budget": "soon"}, "time_budget='soon'"),
    ({"quantiles": [0, 0.5]}, "quantiles"),
    ({"horizn": 3}, "Did you mean 'horizon'"),
])
def test_settings_errors(kw, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        settings(**kw)


def test_describe_documents_every_setting():
    table = ForecastSettings.describe()
    assert {"horizon", "time_budget", "primary_metric", "quantiles"} <= set(table.setting)
    assert (table.description != "").all()


def test_a_model_is_delivered_even_when_the_refit_outruns_the_budget():
    # folds train on 34 points or fewer and are fast; the refit on all 40 takes 6 s of a 4 s
    # budget: it is stopped at the budget, then the best single trial is refitted untimed
    s = settings(allowed_models=["test_slow_refit"], max_trials=1, time_budget=4)
    run = AutoML(s).fit(make_panel(n_series=2, length=40))
    assert run.best_model is not None
    assert run.best_model.description.startswith("test_slow_refit")
    assert len(run.best_model.forecast()) == 2 * 6


def test_a_model_that_is_not_the_first_trial_says_why(frame):
    """The model knows the trial it was refitted from; when that is not the leaderboard's
    first (whose refit failed or ran out of time) the run's summary and report say so."""
    from tsauto.progress import summary_lines

    run = AutoML(settings(max_trials=3, enable_voting_ensemble=False,
                          enable_stack_ensemble=False)).fit(frame)
    ranked = run.result.ranked()
    assert run.best_model.trial_id == ranked[0].trial_id and run.refit_note == ""
    run.best_model.trial_id, run.refit_errors = ranked[1].trial_id, ["refit of trial 0: boom"]
    note = (f"test_window_mean (trial {ranked[0].trial_id}) ranks first but was not refitted "
            f"on all the data (refit of trial 0: boom); the model is test_window_mean (trial "
            f"{ranked[1].trial_id}), the next refitted")
    assert run.refit_note == note
    assert note in summary_lines(run)[0]


def test_a_budget_no_learner_fits_names_the_learners_and_the_way_out(frame):
    with pytest.raises(SettingsError) as info:
        AutoML(settings(time_budget=0.001, allowed_models=None)).fit(frame)
    message = str(info.value)
    # intermittent-demand learners on data without zeros: skipped as unsuited, not by cost
    assert message.startswith("no allowed learner can run here: adida (not intermittent data")
    assert "over half the time budget" in message and "Raise time_budget" in message
    assert " more ('" in message  # the rest are named, briefly
