"""The CLI as a user runs it: a real subprocess, exit codes, no tracebacks."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import make_panel


def tsauto(*args, cwd=None):
    cmd = [sys.executable, "-m", "tsauto.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**os.environ,
                          "COLUMNS": "200"}, timeout=120)


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "sales.csv"
    make_panel().drop(index=[7]).to_csv(path, index=False)
    return path


def test_inspect_csv_prints_summary_and_report(csv):
    result = tsauto("inspect", csv, "--time", "date", "--target", "sales", "--grain", "store",
                    "--horizon", "6")
    assert result.returncode == 0, result.stderr
    assert "Guardrails" in result.stdout and "missing_periods" in result.stdout
    assert "fixed" in result.stdout


def test_inspect_json_is_machine_readable(csv):
    result = tsauto("inspect", csv, "--time", "date", "--target", "sales", "--grain", "store",
                    "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["series"] == 3 and data["summary"]["freq"] == "MS"
    statuses = {r["check"]: r["status"] for r in data["guardrails"]["results"]}
    assert statuses["missing_periods"] == "fixed"


@pytest.mark.parametrize("args,message", [
    (["--time", "dat", "--target", "sales", "--grain", "store"], "Did you mean 'date'"),
    (["--time", "date", "--target", "sales"], "grain_columns= (candidates: ['store'])"),
    (["--target", "sales"], "--time-column (--time) is required"),
    (["--time", "date", "--target", "sales", "--grain", "store", "--horizon", "0"],
     "horizon must be a positive integer"),
])
def test_errors_are_one_line_without_traceback(csv, args, message):
    result = tsauto("inspect", csv, *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_missing_file():
    result = tsauto("inspect", "no/such/file.csv", "--time", "a", "--target", "b")
    assert result.returncode == 2 and "neither a file nor a bundled dataset" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["aus_retail", "vic_elec_daily", "aus_accommodation"])
def test_inspect_every_bundled_dataset(name):
    result = tsauto("inspect", name, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["guardrails"]["status"] == "passed"
    assert data["summary"]["series"] >= 1


def test_fit_forecast_leaderboard(tmp_path):
    out = tmp_path / "run"
    result = tsauto("fit", "aus_accommodation", "--out", out, "--budget", "60s", "--max-trials", "3",
                    "--model", "seasonal_naive", "--model", "auto_theta")
    assert result.returncode == 0, result.stderr
    assert {"model.pkl", "leaderboard.csv", "guardrails.json", "settings.json"} <= \
        {p.name for p in out.iterdir()}
    result = tsauto("forecast", out / "model.pkl", "--out", tmp_path / "fc.csv", "--horizon", "4")
    assert result.returncode == 0, result.stderr
    import pandas as pd

    forecast = pd.read_csv(tmp_path / "fc.csv")
    assert len(forecast) == 8 * 4 and {"State", "Date", "forecast", "q0.9"} <= set(forecast.columns)
    result = tsauto("leaderboard", out)
    assert result.returncode == 0 and "seasonal_naive" in result.stdout


def test_fit_bad_budget_and_missing_model(tmp_path):
    result = tsauto("fit", "aus_accommodation", "--out", tmp_path, "--budget", "soon")
    assert result.returncode == 2 and "time_budget='soon' is not valid" in result.stderr
    result = tsauto("forecast", tmp_path / "nope.pkl", "--out", tmp_path / "x.csv")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_fit_and_predict_a_table(tmp_path):
    import pandas as pd

    from tsauto import datasets

    rows = tmp_path / "rows.csv"
    datasets.load_frame("titanic").head(20).drop(columns=["Survived"]).to_csv(rows, index=False)
    out = tmp_path / "run"
    result = tsauto("fit", "titanic", "--out", out, "--budget", "90s", "--max-trials", "2",
                    "--model", "logistic_regression", "--model", "lightgbm")
    assert result.returncode == 0, result.stderr
    assert "featurization.json" in {p.name for p in out.iterdir()}
    result = tsauto("predict", out / "model.pkl", rows, "--out", tmp_path / "p.csv", "--proba")
    assert result.returncode == 0, result.stderr
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert len(predicted) == 20 and {"prediction", "proba_0", "proba_1"} <= set(predicted.columns)
    assert predicted.prediction.isin([0, 1]).all()
    result = tsauto("leaderboard", out)
    assert result.returncode == 0 and "accuracy" in result.stdout
    result = tsauto("forecast", out / "model.pkl", "--out", tmp_path / "f.csv")
    assert result.returncode == 2 and "use 'tsauto predict'" in result.stderr
    result = tsauto("fit", rows, "--task", "classification", "--out", tmp_path / "x")
    assert result.returncode == 2 and "--target-column (--target) is required" in result.stderr
    result = tsauto("fit", "titanic", "--task", "clustering", "--out", tmp_path / "x")
    assert result.returncode == 2 and "--task 'clustering' is not valid" in result.stderr
