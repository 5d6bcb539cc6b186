"""Reports of forecasting, classification and regression runs, and of a model's backtest:
valid offline HTML with every section, and the data behind them (cross-validation frame,
test leaderboard, trial backtest) agreeing with what the search recorded."""

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn import datasets as sk

from tests.conftest import ACCOMMODATION_CUT, make_panel
from tests.reports.checks import (BACKTEST_SECTIONS, FORECAST_SECTIONS, TABULAR_SECTIONS,
                                  check_report)
from tsauto import AutoML, TimeSeriesDataset, datasets
from tsauto.data.dataset import SERIES_ID
from tsauto.errors import DataError, SettingsError
from tsauto.evaluation.backtest import backtest
from tsauto.learners import registry
from tsauto.settings import ClassificationSettings, ForecastSettings, RegressionSettings

CUT = ACCOMMODATION_CUT


@pytest.fixture(scope="module")
def accommodation():
    return datasets.load_frame("aus_accommodation")


@pytest.fixture(scope="module")
def stored(accommodation_run):
    """A forecasting run stored on disk, as `tsauto fit --out` leaves it (shared, read only)."""
    return accommodation_run[1]


def test_cli_report_of_a_stored_forecasting_run(stored, tmp_path, accommodation):
    out = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "tsauto.cli", "report", str(stored), "--out",
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    checker = check_report(out, FORECAST_SECTIONS)
    text = out.read_text()
    for check in ("frequency", "short_series", "missing_periods"):  # guardrail results
        assert f"<td>{check}</td>" in text
    for state in accommodation["State"].unique():  # every series in the per-series table
        assert f"<td>{state}</td>" in text
    assert "voting_ensemble" in text and "Skipped learners" in text
    assert "auto_ets" in text and "seasonal_naive" in text
    assert len(checker.images) >= 6  # leaderboard, error by step, series, MASE, coverage
    assert "Fitted models" in text or "Feature importance" in text
    assert "Validation coverage" in text and "<td>q0.1-q0.9</td>" in text  # the calibration


def test_cli_report_needs_a_store(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tsauto.cli", "report", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no experiment database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,words", [
    (["--out", "{tmp}"], "--out '{tmp}' is a folder; give a file name"),
    (["--out", "{tmp}/a.csv/r.html"], "'{tmp}/a.csv' is a file, not a folder"),
    (["--max-series", "0"], "--max-series must be a positive integer"),
])
def test_cli_report_checks_its_options_before_the_work(stored, tmp_path, args, words):
    from typer.testing import CliRunner

    from tsauto.cli import app

    (tmp_path / "a.csv").write_text("x\n1\n")
    result = CliRunner().invoke(app, ["report", str(stored),
                                      *[a.format(tmp=tmp_path) for a in args]])
    # (main() prints a SettingsError as one line and exits 2: test_cli_errors.py)
    assert isinstance(result.exception, SettingsError)
    assert words.format(tmp=tmp_path) in str(result.exception)


def test_loaded_run_matches_the_search(stored, tmp_path):
    run = AutoML.load(stored)
    best = run.result.best()
    assert run.best_model is not None and best is not None
    assert any(t.learner == "voting_ensemble" for t in run.result.trials)
    # The trial backtest recomputes the search's fold metrics from its stored forecasts.
    bt = run.backtest()
    np.testing.assert_allclose(bt.by_cutoff["mase"], [m["mase"] for m in best.fold_metrics])
    np.testing.assert_allclose(bt.by_cutoff["coverage"],
                               [m["coverage"] for m in best.fold_metrics])
    assert list(bt.coverage["nominal"]) == [pytest.approx(0.8)]
    assert bt.coverage["observed"].iloc[0] == pytest.approx(bt.forecasts.pipe(
        lambda f: ((f.actual >= f["q0.1"]) & (f.actual <= f["q0.9"])).mean()))
    with pytest.raises(SettingsError, match="trial 99 is not in this run"):
        run.backtest(99)
    # An ensemble's blended forecasts carry no horizon step: the backtest counts it.
    voting = next(t for t in run.result.trials if t.learner == "voting_ensemble")
    bt = run.backtest(voting.trial_id)
    np.testing.assert_allclose(bt.by_cutoff["mase"], [m["mase"] for m in voting.fold_metrics])
    assert list(bt.by_step["step"]) == [1, 2, 3, 4]
    single = run.backtest(best.trial_id).forecasts
    assert (single.groupby(["cutoff", SERIES_ID], observed=True)["step"].agg(list)
            .map(lambda s: s == [1, 2, 3, 4])).all()
    # a trial's backtest has no model to read, which is no reason to say the run has none
    assert "no trial could be refitted" not in bt.to_html(tmp_path / "bt.html").read_text()


def test_cross_validation_frame(stored):
    run = AutoML.load(stored)
    cv = run.cross_validation()
    with_oof = [t for t in run.result.trials if t.oof is not None]
    assert list(cv.columns[:5]) == [SERIES_ID, "State", "Date", "cutoff", "actual"]
    assert [c for c in cv.columns if c.startswith("trial_")] == \
        [f"trial_{t.trial_id}" for t in with_oof]
    assert (cv["Date"] > cv["cutoff"]).all() and cv["actual"].notna().all()
    first = with_oof[0].oof.sort_values([SERIES_ID, "Date"])
    merged = cv.merge(first.assign(**{SERIES_ID: first[SERIES_ID].astype(str)}),
                      on=[SERIES_ID, "Date"])
    np.testing.assert_allclose(merged[f"trial_{with_oof[0].trial_id}"], merged["forecast"])
    assert len(cv) == len(first)  # 8 series x 3 windows x 4 periods
    assert len(cv) == 8 * 3 * 4


def test_leaderboard_on_test_data(stored, accommodation):
    run = AutoML.load(stored)
    test = accommodation[accommodation["Date"] >= CUT].groupby("State").head(4)
    board = run.leaderboard(test_data=test)
    completed = {t.trial_id for t in run.result.completed}
    assert set(board["trial"]) == completed and (board["status"] == "completed").all()
    assert board["mase"].is_monotonic_increasing
    assert {"validation_mase", "smape", "coverage"} <= set(board.columns)
    best = run.result.best().trial_id
    expected = run.best_model.evaluate(test, future=test)["mase"]
    assert board.set_index("trial").loc[best, "mase"] == pytest.approx(expected, rel=1e-6)


def test_figures_for_notebooks(stored, accommodation, tmp_path):
    run = AutoML.load(stored)
    assert isinstance(run.plot_leaderboard(), Figure)
    model = run.best_model
    future = accommodation[accommodation["Date"] >= CUT][["State", "Date", "CPI"]]
    figure = model.plot(series=["Victoria", "Tasmania"], future=future)
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    with pytest.raises(DataError, match="unknown series"):
        model.plot(series=["Atlantis"], future=future)
    bt = model.backtest(accommodation[accommodation["Date"] < CUT], n_windows=2)
    assert isinstance(bt.plot(), Figure) and len(bt.plot(series="Victoria").axes) == 1
    path = bt.to_html(tmp_path / "backtest.html")
    check_report(path, BACKTEST_SECTIONS)
    assert "Victoria" in path.read_text()


def test_a_thousand_series_report_stays_small(tmp_path):
    frame = make_panel(n_series=1000, length=36, seed=3)
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales",
                           grain_columns="store")
    learner = registry.get("seasonal_naive")(quantiles=[0.05, 0.25, 0.5, 0.75, 0.95])
    bt = backtest(learner, ds, horizon=6, n_windows=2)
    path = bt.to_html(tmp_path / "many.html")
    checker = check_report(path, BACKTEST_SECTIONS)
    assert path.stat().st_size < 5e6
    assert len(checker.images) <= 8  # a sample is plotted ...
    text = path.read_text()
    assert all(f"<td>{sid}</td>" in text for sid in bt.by_series[SERIES_ID])  # ... all listed
    assert list(bt.coverage["nominal"]) == [pytest.approx(0.9), pytest.approx(0.5)]


def sk_frame(loader):
    return loader(as_frame=True).frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_classification_report(tmp_path):
    frame = datasets.load_frame("titanic").sample(frac=1.0, random_state=1)
    settings = ClassificationSettings(target_column="Survived", max_trials=2, time_budget=60,
                                      verbosity=0,
                                      allowed_models=["lightgbm", "logistic_regression"])
    AutoML(settings).fit(frame.iloc[:700], output_dir=tmp_path / "run")
    run = AutoML.load(tmp_path / "run")
    path = run.report(tmp_path / "report.html")
    check_report(path, TABULAR_SECTIONS)
    text = path.read_text()
    assert 'alt="validation plots"' in text  # confusion matrix, ROC and PR curves
    assert "Metrics by fold" in text and "Fixes applied" in text
    cv = run.cross_validation()
    assert len(cv) == 700 and set(cv["trial_0"]) <= {0, 1}
    board = run.leaderboard(test_data=frame.iloc[700:])
    assert set(board["trial"]) == {t.trial_id for t in run.result.completed}
    assert isinstance(run.best_model.plot(frame.iloc[700:]), Figure)


def test_regression_report(tmp_path):
    frame = sk_frame(sk.load_diabetes)
    settings = RegressionSettings(target_column="target", max_trials=2, time_budget=60,
                                  verbosity=0, allowed_models=["ridge", "lightgbm"])
    run = AutoML(settings).fit(frame.iloc[:330])
    path = run.report(tmp_path / "report.html")
    check_report(path, TABULAR_SECTIONS)
    cv = run.cross_validation()
    best = run.result.best()
    oof = best.oof.sort_values("row")
    np.testing.assert_allclose(cv.set_index("row").loc[oof["row"], f"trial_{best.trial_id}"],
                               oof["prediction"])
    board = run.leaderboard(test_data=frame.iloc[330:])
    top = board.set_index("trial").loc[best.trial_id, "rmse"]
    assert top == pytest.approx(run.best_model.evaluate(frame.iloc[330:])["rmse"])
    assert isinstance(run.best_model.plot(frame.iloc[330:]), Figure)


def test_report_of_a_fit_without_a_model_says_so(tmp_path):
    """Every trial failed: the report states there is no model, and claims no featurizer."""
    import tests.search.learners_for_tests  # noqa: F401  (registers test_failing)
    from tsauto.errors import NoModelError

    out = tmp_path / "out"
    with pytest.raises(NoModelError):
        AutoML(ForecastSettings(time_column="date", target_column="sales",
                                grain_columns=["store"], horizon=6, max_trials=2,
                                allowed_models=["test_failing"], verbosity=0)).fit(
            make_panel(n_series=2, length=40), output_dir=out)
    html = AutoML.load(out).report(tmp_path / "r.html").read_text()
    assert "best: none" in html and "No model: no trial could be refitted" in html
    assert "uses no featurizer" not in html
