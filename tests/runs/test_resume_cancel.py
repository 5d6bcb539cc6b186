"""Experiments stored in SQLite survive kill -9, resume without redoing work, and cancel."""

import errno
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import tests.search.learners_for_tests  # noqa: F401
from tests.conftest import make_panel
from tsauto.automl import AutoML
from tsauto.progress import PlainReporter
from tsauto.errors import DataError, SettingsError
from tsauto.model import load_model
from tsauto.runs import RunStore
from tsauto.settings import ForecastSettings

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
    # marked running still, but no process runs it: a cancel says so rather than asking no one
    with pytest.raises(SettingsError, match=rf"experiment 1 is not running \(its process, pid "
                                            rf"{proc.pid}, has ended\).*resume it"):
        AutoML.cancel(tmp_path)

    lines = []
    reporter = PlainReporter(lines.append)
    run = AutoML.resume(tmp_path, reporter=reporter)
    after = completed_rows(tmp_path).set_index("trial_id")
    # the progress lines' best so far counts the replayed trials, which are not printed again
    singles_run = [t for t in run.result.trials if not t.learner.endswith("ensemble")
                   and t.status == "completed"]
    assert reporter.best.metrics["mase"] == min(t.metrics["mase"] for t in singles_run)
    assert reporter.done_trials == sum(not t.learner.endswith("ensemble")
                                       for t in run.result.trials)
    assert not any(line.startswith(f"trial {i} ") for i in before.index for line in lines)
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


# -- resume is exact: kill -9 at each phase, then resume, gives the uninterrupted run's model ---
EXACT = textwrap.dedent("""
    import sys
    import tests.search.learners_for_tests
    from tests.conftest import make_panel
    from tsauto import AutoML, ForecastSettings
    settings = ForecastSettings(time_column="date", target_column="sales", grain_columns=["store"],
        horizon=6, allowed_models=["test_window_mean"], max_trials=5, early_stopping_trials=None,
        time_budget=None, verbosity=0, n_cross_validations=2, seed=7)
    AutoML(settings).fit(make_panel(n_series=3, length=50), output_dir=sys.argv[1])
""")
COMPARED = ["trial", "learner", "params", "status", "mase", "smape"]


def run_exact(folder, kill_at=None):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    env.pop("TSAUTO_TEST_KILL_AT", None)
    if kill_at:
        env["TSAUTO_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", EXACT, str(folder)], env=env,
                          capture_output=True, text=True, timeout=300)


def stored_board(folder):
    return pd.read_csv(folder / "experiments" / "1" / "leaderboard.csv")[COMPARED]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    result = run_exact(folder)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.parametrize("kill_at", ["search:3", "ensembles", "refit"])
def test_kill_9_at_any_phase_then_resume_gives_the_uninterrupted_model(kill_at, uninterrupted,
                                                                         tmp_path):
    killed = run_exact(tmp_path, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr  # the seam fired
    assert RunStore(tmp_path).experiment()["status"] == "running"
    assert not (tmp_path / "experiments" / "1" / "model.pkl").exists()

    run = AutoML.resume(tmp_path)
    expected = load_model(uninterrupted / "experiments" / "1" / "model.pkl")
    assert run.best_model.description == expected.description
    pd.testing.assert_frame_equal(run.best_model.forecast(), expected.forecast())
    pd.testing.assert_frame_equal(stored_board(tmp_path), stored_board(uninterrupted))
    assert RunStore(tmp_path).experiment()["status"] == "completed"
    assert len(RunStore(tmp_path).trials(1)) == len(stored_board(uninterrupted))


def test_resume_replays_every_recorded_trial_when_the_budget_is_spent(tmp_path):
    # As after `fit --budget 30s` killed at the end: the time already spent exceeds the budget.
    s = settings_for_resume(time_budget=120)
    first = AutoML(s).fit(make_panel(n_series=3, length=50), output_dir=tmp_path)
    with sqlite3.connect(tmp_path / "experiments.sqlite") as db:
        db.execute("UPDATE experiments SET status = 'running', elapsed = 10000")
    run = AutoML.resume(tmp_path)
    assert run.best_model is not None
    assert run.best_model.description == first.best_model.description
    pd.testing.assert_frame_equal(run.leaderboard()[COMPARED], first.leaderboard()[COMPARED])
    assert run.result.stopped_because == first.result.stopped_because == "max_trials reached"


def test_resume_and_load_search_as_the_experiment_was_planned(tmp_path, monkeypatch):
    from tsauto.tasks.forecasting_plan import SearchPlan

    # A plan that planning afresh would not make: one window of the two asked, and a note.
    plan = SearchPlan(1, {"test_window_mean": 0.001}, {}, ("auto_theta", "lightgbm"),
                      {"auto_ces": "left out by the plan"}, "the plan's note")
    assert SearchPlan.restored(json.loads(json.dumps(plan._asdict()))) == plan
    monkeypatch.setattr("tsauto.tasks.forecasting.plan_search", lambda *args: plan)
    first = AutoML(settings_for_resume(time_budget=120)).fit(make_panel(n_series=3, length=50),
                                                            output_dir=tmp_path)
    assert first.validation.startswith("1 rolling-origin") and "the plan's note" in first.validation

    def measured_again(*args):
        raise AssertionError("a stored experiment is searched by its own plan")

    monkeypatch.setattr("tsauto.tasks.forecasting.plan_search", measured_again)
    with sqlite3.connect(tmp_path / "experiments.sqlite") as db:
        db.execute("UPDATE experiments SET status = 'running'")
    for run in (AutoML.resume(tmp_path), AutoML.load(tmp_path)):
        assert run.validation == first.validation
        pd.testing.assert_frame_equal(run.leaderboard()[COMPARED], first.leaderboard()[COMPARED])


def test_resuming_a_completed_experiment_returns_its_stored_model_without_work(tmp_path,
                                                                              monkeypatch):
    first = AutoML(settings_for_resume()).fit(make_panel(n_series=3, length=50),
                                              output_dir=tmp_path)
    model_file = tmp_path / "experiments" / "1" / "model.pkl"
    stored = model_file.read_bytes()
    trials = RunStore(tmp_path).trials(1)

    def no_work(*args, **kwargs):
        raise AssertionError("a completed experiment must not search or refit again")

    monkeypatch.setattr("tsauto.automl.search", no_work)
    monkeypatch.setattr("tsauto.automl.refit_best", no_work)
    run = AutoML.resume(tmp_path)
    assert run.best_model.description == first.best_model.description
    pd.testing.assert_frame_equal(run.leaderboard()[COMPARED], first.leaderboard()[COMPARED])
    assert model_file.read_bytes() == stored
    pd.testing.assert_frame_equal(RunStore(tmp_path).trials(1), trials)


def test_the_resume_copy_of_the_data_is_parquet_not_pickle(tmp_path):
    AutoML(settings_for_resume(max_trials=1)).fit(make_panel(n_series=2, length=40),
                                                  output_dir=tmp_path)
    folder = tmp_path / "experiments" / "1"
    assert (folder / "data.parquet").is_file() and not (folder / "data.pkl").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "data.parquet"),
                                  make_panel(n_series=2, length=40))


def test_a_stored_validation_table_and_dataset_objects_come_back(tmp_path):
    from tsauto.automl import _load_data, _store_data
    from tsauto.data.tabular import TabularDataset

    table = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", None, "a"],
                          "y": [0, 1, 0, 1]})
    assert _store_data(tmp_path, table, table.iloc[:2]) == ""
    raw, valid = _load_data(tmp_path, 1)
    pd.testing.assert_frame_equal(raw, table)
    pd.testing.assert_frame_equal(valid, table.iloc[:2])
    dataset = TabularDataset(table, "y", "classification")
    _store_data(tmp_path, dataset, None)
    again, valid = _load_data(tmp_path, 1)
    assert valid is None
    pd.testing.assert_frame_equal(again.X, dataset.X)
    pd.testing.assert_series_equal(again.y, dataset.y)


def test_data_pyarrow_cannot_store_is_reported_and_resume_says_why(tmp_path):
    from tsauto.automl import _load_data, _store_data
    from tsauto.errors import DataError

    mixed = pd.DataFrame({"x": [1, "two", 3.0], "y": [1.0, 2.0, 3.0]})
    assert "cannot be resumed" in _store_data(tmp_path, mixed, None)
    with pytest.raises(DataError, match="cannot be resumed"):
        _load_data(tmp_path, 1)


def test_a_fit_whose_data_pyarrow_cannot_store_warns_and_still_delivers(tmp_path, capsys):
    panel = make_panel(n_series=2, length=40)
    panel["note"] = [1, "two"] * (len(panel) // 2)  # an unused column of mixed types
    run = AutoML(settings_for_resume(max_trials=1, verbosity=1)).fit(panel, output_dir=tmp_path)
    assert run.best_model is not None
    assert "Warning: the data could not be stored as Parquet" in capsys.readouterr().err


def settings_for_resume(**kw):
    base = dict(time_column="date", target_column="sales", grain_columns=["store"], horizon=6,
                allowed_models=["test_window_mean"], max_trials=4, early_stopping_trials=None,
                time_budget=None, verbosity=0, n_cross_validations=2)
    return ForecastSettings(**{**base, **kw})


# -- the run store and cancel refuse what is not there ------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finished")
    AutoML(settings_for_resume(max_trials=2)).fit(make_panel(n_series=2, length=40),
                                                  output_dir=folder)
    return folder


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tsauto.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd(), "COLUMNS": "200"})


def test_cancel_of_a_trial_that_does_not_exist_or_has_ended(finished):
    result = cli("cancel", finished, "--trial", "999")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no trial 999" in result.stderr and "0 to " in result.stderr
    result = cli("cancel", finished, "--trial", "0")
    assert result.returncode == 2 and "already ended (completed)" in result.stderr
    with pytest.raises(SettingsError, match="no trial 999"):
        AutoML.cancel(finished, trial=999)
    with pytest.raises(SettingsError, match=r"experiment 1 has already ended \(completed\): "
                                            r"there is nothing to cancel"):
        AutoML.cancel(finished)


def _another_programs_db(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE experiments (id INTEGER, colour TEXT)")


@pytest.mark.parametrize("damage", ["text", "truncated", "another program"])
@pytest.mark.parametrize("command", [["runs", "list"], ["resume"]])
def test_a_corrupt_experiment_database_is_one_clear_line(damage, command, finished, tmp_path):
    db = tmp_path / "experiments.sqlite"
    if damage == "text":
        db.write_text("State,Industry,Month,Turnover\n")
    elif damage == "truncated":
        db.write_bytes((finished / "experiments.sqlite").read_bytes()[:3000])
    else:
        _another_programs_db(db)
    result = cli(*command, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert str(db) in result.stderr.replace("\n", "") and "experiment database" in result.stderr


@pytest.mark.parametrize("damaged", ["plan.json", "data.json", "data.parquet",
                                     "oof/trial_0.parquet"])
def test_a_damaged_file_of_a_stored_experiment_is_one_clear_error(damaged, finished, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(finished, folder)
    path = folder / "experiments" / "1" / damaged
    path.write_bytes(path.read_bytes()[:10])  # truncated
    for open_stored in (AutoML.resume, AutoML.load):  # tsauto resume, tsauto report
        with pytest.raises(DataError, match=re.escape(f"'{path}' cannot be read (") +
                           ".*corrupt or truncated; restore it, or fit again"):
            open_stored(folder)


@pytest.mark.parametrize("failing", ["copies to the top", "own folder"])
def test_a_full_disk_at_the_end_of_a_fit_is_one_clear_error_and_resume_finishes(
        failing, tmp_path, monkeypatch):
    copy, write = shutil.copyfile, Path.write_text

    def full(path):  # as the OS fails: part of the file written, then no space
        write(Path(path), "x")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    if failing == "copies to the top":
        monkeypatch.setattr(shutil, "copyfile", lambda source, target, **kw: full(target)
                            if Path(target).parent == tmp_path else copy(source, target, **kw))
    else:
        monkeypatch.setattr(Path, "write_text", lambda path, text, *a, **kw: full(path)
                            if path.name.startswith(".leaderboard.csv") else
                            write(path, text, *a, **kw))
    own = tmp_path / "experiments" / "1"
    with pytest.raises(SettingsError, match="No space left on device") as error:
        AutoML(settings_for_resume(max_trials=1)).fit(make_panel(n_series=2, length=40),
                                                      output_dir=tmp_path)
    assert not list(tmp_path.rglob(".*.tmp"))
    assert not (tmp_path / "model.pkl").exists() and not (tmp_path / "latest.json").exists()
    status = RunStore(tmp_path).experiment()["status"]
    if failing == "copies to the top":  # the experiment is complete, its model where it says
        assert status == "completed" and (own / "model.pkl").is_file()
        assert f"its model and outputs are in '{own}'" in str(error.value)
    else:
        assert status == "running" and f"in '{own}'" in str(error.value)
    assert "free some space and resume it" in str(error.value)
    monkeypatch.undo()
    AutoML.resume(tmp_path)
    assert (tmp_path / "model.pkl").read_bytes() == (own / "model.pkl").read_bytes()


def test_a_damaged_model_of_a_completed_experiment_says_how_to_refit_it(finished, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(finished, folder)
    model = folder / "experiments" / "1" / "model.pkl"
    model.write_bytes(model.read_bytes()[:200])
    with pytest.raises(DataError, match=re.escape(f"'{model}' is truncated or corrupt") +
                       ".*It is the model of experiment 1: delete it and resume"):
        AutoML.resume(folder)
    model.unlink()  # as the message says
    assert AutoML.resume(folder).best_model is not None
    assert load_model(model).description == load_model(finished / "model.pkl").description


def test_a_store_of_an_older_tsauto_without_pids_still_takes_a_cancel(finished, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(finished, folder)
    with sqlite3.connect(folder / "experiments.sqlite") as db:
        db.execute("ALTER TABLE experiments DROP COLUMN pid")
        db.execute("UPDATE experiments SET status = 'running'")
    AutoML.cancel(folder)  # no process recorded: the experiment is taken at its word
    assert RunStore(folder).cancel_requests(1) == (True, set())


def test_resume_of_a_folder_without_a_database_creates_nothing(tmp_path):
    with pytest.raises(SettingsError, match="holds no experiment database"):
        AutoML.resume(tmp_path)
    assert not (tmp_path / "experiments.sqlite").exists()


# -- two fits into one folder at once: each one's printed path holds its model -----------------
FIT_CLI = ("import tests.search.learners_for_tests; import sys; from tsauto.cli import main; "
           "sys.argv[0] = 'tsauto'; main()")


def test_two_fits_into_one_folder_at_once(tmp_path):
    data = tmp_path / "panel.csv"
    make_panel(n_series=3, length=50).to_csv(data, index=False)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "COLUMNS": "400"}
    procs = [subprocess.Popen(
        [sys.executable, "-c", FIT_CLI, "fit", str(data), "--time", "date", "--target", "sales",
         "--grain", "store", "--horizon", "6", "--out", str(out), "--model", "test_window_mean",
         "--max-trials", str(trials), "--seed", str(seed), "--budget", "120s"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for trials, seed in ((1, 0), (3, 5))]
    printed = {}
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        text = " ".join(stdout.split())
        match = re.search(r"Best: (.+?)\. Experiment (\d+) written to (\S+?)/ ", text)
        assert match, text
        printed[int(match[2])] = (match[1], Path(match[3]))
    assert sorted(printed) == [1, 2]
    for experiment, (description, folder) in printed.items():
        # what each process printed is still true: its folder holds its own model
        assert folder == out / "experiments" / str(experiment)
        assert load_model(folder / "model.pkl").description == description
    latest = json.loads((out / "latest.json").read_text())
    assert latest["experiment"] == 2
    for name in ("model.pkl", "leaderboard.csv", "settings.json"):
        assert (out / name).read_bytes() == (out / "experiments" / "2" / name).read_bytes()
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_tsauto_fit_with_one_line_and_the_experiment_resumes(signum, tmp_path):
    data = tmp_path / "panel.csv"
    make_panel(n_series=3, length=50).to_csv(data, index=False)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", FIT_CLI, "fit", str(data), "--time", "date", "--target", "sales",
         "--grain", "store", "--horizon", "6", "--out", str(out), "--model", "test_slow_mean",
         "--max-trials", "4", "--n-cross-validations", "2", "--verbosity", "0"],
        env={**os.environ, "PYTHONPATH": os.getcwd()}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(completed_rows(out)) >= 1), proc.stderr.read()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum  # as the shell reports a command stopped by it
    assert stderr.strip() == (f"interrupted ({signum.name}): experiment 1 keeps its finished "
                              f"trials; resume it with `tsauto resume {out} --experiment 1` "
                              f"(Python: AutoML.resume).")
    assert RunStore(out).experiment()["status"] == "interrupted"
    result = cli("cancel", out)
    assert result.returncode == 2 and "experiment 1 is not running (interrupted)" in result.stderr
    kept = completed_rows(out).set_index("trial_id")["finished"]
    # without the test learner registered, its stored settings no longer validate: one line
    unknown = cli("resume", out, "--experiment", "1")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert f"experiment 1 of {out}: allowed_models" in " ".join(unknown.stderr.split())
    assert "unknown learner 'test_slow_mean'" in unknown.stderr
    resumed = subprocess.run(  # the command the line gives
        [sys.executable, "-c", FIT_CLI, "resume", str(out), "--experiment", "1"],
        env={**os.environ, "PYTHONPATH": os.getcwd()}, capture_output=True, text=True,
        timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert RunStore(out).experiment()["status"] == "completed"
    pd.testing.assert_series_equal(completed_rows(out).set_index("trial_id")["finished"]
                                   .loc[kept.index], kept)


def _create_store(folder, barrier, results):
    barrier.wait()
    try:
        RunStore(folder).create_experiment("x", "{}", "f")
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_creating_one_store_at_once(tmp_path):
    """Two fits starting into a new folder together both create its database: SQLite answers
    the second 'locked' at once, without waiting, while the first switches it to WAL (this
    failed 89 times in 150 before the creation was serialised)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for k in range(20):
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_create_store, args=(tmp_path / str(k), barrier, results))
                 for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [results.get(timeout=5) for _ in procs] == ["ok", "ok"]
