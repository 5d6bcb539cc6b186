"""Experiments stored in SQLite survive kill -9, resume without redoing work, and cancel."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pandas as pd

import tests.search.learners_for_tests  # noqa: F401
from tsauto.automl import AutoML
from tsauto.runs import RunStore

SCRIPT = textwrap.dedent("""
    import sys
    import tests.search.learners_for_tests
    from tests.conftest import make_panel
    from tsauto import AutoML, ForecastSettings
    settings = ForecastSettings(time_column="date", target_column="sales", grain_columns=["store"],
        horizon=6, allowed_models=["test_slow_mean"], max_trials=int(sys.argv[2]),
        early_stopping_trials=None, time_budget=600, verbosity=0, n_cross_validations=2)
    AutoML(settings).fit(make_panel(n_series=3, length=50), output_dir=sys.argv[1])
""")


def start(folder, max_trials):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(folder), str(max_trials)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def completed_rows(folder):
    path = folder / "experiments.sqlite"
    if not path.exists():
        return pd.DataFrame()
    with sqlite3.connect(path) as db:
        try:
            return pd.read_sql("SELECT * FROM trials WHERE status = 'completed'", db)
        except Exception:  # the table may not exist yet
            return pd.DataFrame()


def wait_for(predicate, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_kill_9_then_resume_keeps_finished_trials(tmp_path):
    proc = start(tmp_path, 6)
    try:
        assert wait_for(lambda: len(completed_rows(tmp_path)) >= 2), proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = completed_rows(tmp_path).set_index("trial_id")
    assert RunStore(tmp_path).experiment()["status"] == "running"

    run = AutoML.resume(tmp_path)
    after = completed_rows(tmp_path).set_index("trial_id")
    # every trial finished before the kill is kept as it was, not run again
    kept = after.loc[before.index]
    pd.testing.assert_series_equal(kept["finished"], before["finished"])
    singles = after[~after.learner.str.endswith("_ensemble")]
    assert len(singles) == 6
    assert RunStore(tmp_path).experiment()["status"] == "completed"
    assert run.best_model is not None
    assert (tmp_path / "experiments" / "1" / "model.pkl").exists()


def test_cancel_from_another_process_stops_within_seconds(tmp_path):
    proc = start(tmp_path, 1000)
    try:
        assert wait_for(lambda: len(completed_rows(tmp_path)) >= 1), proc.stderr.read()
        result = subprocess.run([sys.executable, "-m", "tsauto.cli", "cancel", str(tmp_path)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        asked = time.monotonic()  # the request is in the database
        proc.wait(timeout=30)
        stopped_after = time.monotonic() - asked
    finally:
        proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    assert stopped_after < 10
    experiment = RunStore(tmp_path).experiment()
    assert experiment["status"] == "canceled" and experiment["stopped_because"] == "canceled"
    assert (tmp_path / "experiments" / "1" / "model.pkl").exists()  # the best so far


def test_runs_list_and_show(tmp_path):
    proc = start(tmp_path, 2)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    for args in (["runs", "list"], ["runs", "show"]):
        result = subprocess.run([sys.executable, "-m", "tsauto.cli", *args, str(tmp_path)],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "COLUMNS": "200"})
        assert result.returncode == 0, result.stderr
        assert "completed" in result.stdout


def test_cancel_without_a_database(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tsauto.cli", "cancel", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no experiment database" in result.stderr
