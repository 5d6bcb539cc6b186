"""Every input series gets a forecast, and a fit that ran trials returns a model.

Short series are validated on the windows they can fill or forecast by the fallback (seasonal
naive, naive when shorter than a season plus one point), listed on the model, in the guardrail
report and in fit's output; zero-scale series have a MASE; a fit without a usable trial raises.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tests.search.learners_for_tests  # noqa: F401  (registers the test learners)
from tests.conftest import make_panel
from tsauto import AutoML, ForecastSettings, load_model
from tsauto.errors import NoModelError, ShortSeriesError
from tsauto.evaluation.metrics import evaluate, naive_scale
from tsauto.learners.base import Capabilities
from tsauto.learners.registry import register
from tsauto.search.engine import SearchResult
from tsauto.search.trial import TrialResult
from tests.search.learners_for_tests import WindowMean
from tests.test_cli import tsauto


@register
class LongMemory(WindowMean):
    """A learner that needs 30 points of history to fit a series as itself."""

    name = "test_long_memory"
    capabilities = Capabilities(cost="low", min_history=30)


def settings(**kw):
    base = dict(time_column="date", target_column="sales", grain_columns=["store"], horizon=6,
                allowed_models=["test_window_mean"], max_trials=2, time_budget=60, verbosity=0,
                enable_voting_ensemble=False, enable_stack_ensemble=False)
    return ForecastSettings(**{**base, **kw})


def panel_with_short_series():
    """Three long series, one of 8 periods (one validation window needs 3 + 6 = 9) and one
    of a single observation, both ending with the others."""
    return pd.concat([make_panel(n_series=3, length=48),
                      make_panel(n_series=1, length=8, start="2023-05-01").assign(store="short"),
                      make_panel(n_series=1, length=1, start="2023-12-01").assign(store="one")],
                     ignore_index=True)


@pytest.fixture(scope="module")
def short_run():
    return AutoML(settings(verbosity=1)).fit(panel_with_short_series())


def test_every_series_is_forecast_and_the_fallback_ones_are_named(short_run):
    model = short_run.best_model
    assert set(model.fallback_series) == {"short", "one"}
    assert model.fallback_series["short"]["method"] == "naive"
    assert "too short for any validation window: 8 periods" in \
        model.fallback_series["short"]["reason"]
    assert "one observation" in model.fallback_series["one"]["reason"]
    forecast = model.forecast()
    assert forecast.groupby("store").size().to_dict() == {s: 6 for s in
                                                          ["one", "s0", "s1", "s2", "short"]}
    assert list(forecast["store"].drop_duplicates()) == ["one", "s0", "s1", "s2", "short"]
    assert not forecast[["forecast", "q0.1", "q0.5", "q0.9"]].isna().any().any()
    short = forecast[forecast.store == "short"]
    last = panel_with_short_series().query("store == 'short'")["sales"].iloc[-1]
    np.testing.assert_allclose(short["forecast"], last)  # naive: the last value
    assert (short["q0.1"] < short["forecast"]).all() and (short["q0.9"] > short["forecast"]).all()
    assert short["date"].iloc[0] == pd.Timestamp("2024-01-01")
    assert model.explain()["fallback_series"] == model.fallback_series


def test_fallback_series_are_in_the_report_and_the_output(short_run, capsys):
    check = short_run.guardrails["fallback_series"]
    assert check.status == "fixed" and check.series == ["one", "short"]
    assert short_run.guardrails["short_series"].status == "fixed"
    assert short_run.best_model.guardrails["fallback_series"].series == ["one", "short"]
    # fit says it on its last lines
    AutoML(settings(verbosity=1, max_trials=1)).fit(panel_with_short_series())
    err = " ".join(capsys.readouterr().err.split())
    assert "2 series forecast by the fallback" in err and "'short' (naive:" in err


def test_the_fallback_survives_save_and_load(short_run, tmp_path):
    model = short_run.best_model
    model.save(tmp_path / "model.pkl")
    again = load_model(tmp_path / "model.pkl")
    assert again.fallback_series == model.fallback_series
    pd.testing.assert_frame_equal(again.forecast(), model.forecast())


def test_series_shorter_than_the_learners_history_fall_back():
    # 'mid' (20 periods) is validated, but the chosen learner needs 30: the fallback takes it
    frame = pd.concat([make_panel(n_series=2, length=48),
                       make_panel(n_series=1, length=20, start="2022-05-01").assign(store="mid")])
    model = AutoML(settings(allowed_models=["test_long_memory"])).fit(frame).best_model
    assert list(model.fallback_series) == ["mid"]
    assert model.fallback_series["mid"] == {
        "method": "seasonal_naive",
        "reason": "20 periods, fewer than the 30 that test_long_memory needs"}
    assert list(model.learner.schema_.series_ids) == ["s0", "s1"]  # refitted without it
    assert model.forecast().groupby("store").size().to_dict() == {"mid": 6, "s0": 6, "s1": 6}


def test_drop_still_drops_when_asked():
    run = AutoML(settings(short_series_handling="drop")).fit(panel_with_short_series())
    assert set(run.best_model.forecast()["store"]) == {"s0", "s1", "s2"}
    assert run.best_model.fallback_series == {}


@pytest.mark.parametrize("length", [3, 1])
def test_horizon_longer_than_the_history(length):
    frame = make_panel(n_series=2, length=length)
    run = AutoML(settings(horizon=12, freq="MS")).fit(frame)
    assert run.result.trials == [] and "fallback" in run.result.stopped_because
    model = run.best_model
    assert model.description.startswith("fallback") and set(model.fallback_series) == {"s0", "s1"}
    assert len(model.forecast()) == 2 * 12
    with pytest.raises(ShortSeriesError, match="short_series_handling='auto'"):
        AutoML(settings(horizon=12, freq="MS", short_series_handling="fail")).fit(frame)


def test_known_covariates_are_shown_for_fallback_series_too():
    frame = panel_with_short_series().query("store != 'one'")
    frame = frame.assign(price=np.arange(len(frame)) % 7 + 1.0)
    future = pd.DataFrame({"store": np.repeat(["s0", "s1", "s2", "short"], 6),
                           "date": np.tile(pd.date_range("2024-01-01", periods=6, freq="MS"), 4),
                           "price": 2.0})
    model = AutoML(settings(known_covariates=["price"], allowed_models=["lightgbm"],
                            max_trials=1)).fit(frame).best_model
    assert list(model.fallback_series) == ["short"]
    forecast = model.forecast(future=future)
    assert len(forecast) == 4 * 6 and (forecast["price"] == 2.0).all()
    assert not forecast["forecast"].isna().any()


# -- zero-scale series and the ranking metric --------------------------------------------------
def test_mase_of_zero_scale_series_uses_the_level():
    train = pd.DataFrame({"series_id": ["flat"] * 4 + ["zero"] * 4 + ["periodic"] * 4,
                          "y": [5.0] * 4 + [0.0] * 4 + [1.0, 3.0, 1.0, 3.0]})
    scale = naive_scale(train, "y", 2)
    # constant: its level; all zeros: none; periodic (zero seasonal error): one-step error
    assert scale["flat"] == 5.0 and np.isnan(scale["zero"]) and scale["periodic"] == 2.0
    forecast = pd.DataFrame({"forecast": [6.0, 6.0, 1.0, 1.0]})
    scores = evaluate(np.array([5.0, 5.0, 0.0, 0.0]), forecast,
                      np.array(["flat", "flat", "zero", "zero"]), train, "y", 2)
    assert scores["mase"] == pytest.approx(1 / 5)  # 'zero' has no scale: left out
    assert scores["mae"] == pytest.approx(1.0)


def test_a_panel_of_constant_series_returns_a_model():
    frame = make_panel(n_series=3, length=30).assign(sales=lambda f: f.store.map(
        {"s0": 4.0, "s1": 10.0, "s2": 7.5}))
    run = AutoML(settings(allowed_models=["seasonal_naive", "test_window_mean"])).fit(frame)
    board = run.leaderboard()
    assert (board.status == "completed").all() and (board["mase"] == 0).all()
    assert run.best_model is not None and run.result.ranking_note == ""
    np.testing.assert_allclose(run.best_model.forecast().groupby("store")["forecast"].mean(),
                               [4.0, 10.0, 7.5])


def test_a_constant_series_is_forecast_as_its_constant_by_the_fallback():
    frame = make_panel(n_series=3, length=30)
    frame.loc[frame.store == "s1", "sales"] = 0.0  # a discontinued product, say
    model = AutoML(settings(allowed_models=["test_window_mean"], quantiles=[0.1, 0.9])).fit(
        frame).best_model
    assert model.fallback_series["s1"]["reason"] == "a constant history: forecast as that constant"
    assert set(model.fallback_series) == {"s1"}  # the others stay the learner's
    flat = model.forecast().query("store == 's1'")
    assert (flat[["forecast", "q0.1", "q0.9"]].to_numpy() == 0.0).all()
    # in the guardrails too; with every series constant (above) none is routed


def test_all_zero_series_are_ranked_by_the_fallback_metric(capsys):
    frame = make_panel(n_series=2, length=30).assign(sales=0.0)
    run = AutoML(settings(verbosity=1)).fit(frame)
    assert run.result.ranking_metric == "mae"
    assert "ranked by mae: mase is undefined" in run.result.ranking_note
    assert run.best_model is not None
    assert run.leaderboard()["mase"].isna().all()
    assert "ranked by mae" in " ".join(capsys.readouterr().err.split())


def trial(i, **metrics):
    return TrialResult(i, "x", {}, "completed", metrics)


def test_ranking_falls_back_only_when_the_primary_is_undefined_for_every_trial():
    result = SearchResult([trial(0, mase=np.nan, mae=3.0), trial(1, mase=np.nan, mae=1.0)],
                          "mase", "done", 1.0)
    assert result.ranking_metric == "mae" and result.best().trial_id == 1
    mixed = SearchResult([trial(0, mase=2.0, mae=3.0), trial(1, mase=np.nan, mae=1.0)],
                         "mase", "done", 1.0)
    assert mixed.ranking_metric == "mase" and [t.trial_id for t in mixed.ranked()] == [0]
    assert mixed.ranking_note == ""
    empty = SearchResult([trial(0, mase=np.nan, mae=np.nan)], "mase", "done", 1.0)
    assert empty.ranking_metric is None and empty.best() is None


def test_no_usable_trial_raises_and_writes_the_leaderboard_that_tsauto_leaderboard_shows(
        tmp_path):
    s = settings(allowed_models=["test_failing"], max_trials=2)
    with pytest.raises(NoModelError, match="no trial completed; trials: 2 failed.*this learner "
                                           "always fails. The leaderboard is in") as info:
        AutoML(s).fit(make_panel(n_series=2, length=30), output_dir=tmp_path)
    assert ".." not in str(info.value)  # the first error's own full stop is not doubled
    board = pd.read_csv(tmp_path / "experiments" / "1" / "leaderboard.csv")
    assert str(tmp_path / "experiments" / "1" / "leaderboard.csv") in str(info.value)
    assert not (tmp_path / "leaderboard.csv").exists()  # the top shows experiments with a model
    assert len(board) == 2 and (board.status == "failed").all()
    # no experiment has a model yet: tsauto leaderboard shows the latest one's, and says so
    result = tsauto("leaderboard", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "this learner always fails" in result.stdout
    assert (f"the leaderboard of experiment 1 (failed), from {tmp_path / 'experiments' / '1'}/"
            in " ".join(result.stderr.split()))


# -- inspect applies fit's rules -------------------------------------------------------------
def test_inspect_and_fit_report_the_same_short_series(tmp_path, short_run):
    path = tmp_path / "sales.csv"
    panel_with_short_series().to_csv(path, index=False)
    result = subprocess.run([sys.executable, "-m", "tsauto.cli", "inspect", str(path), "--time",
                             "date", "--target", "sales", "--grain", "store", "--horizon", "6",
                             "--json"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    checks = {r["check"]: r for r in json.loads(result.stdout)["guardrails"]["results"]}
    fitted = short_run.guardrails["short_series"]
    assert checks["short_series"]["series"] == fitted.series == ["one", "short"]
    assert checks["short_series"]["message"] == fitted.message
