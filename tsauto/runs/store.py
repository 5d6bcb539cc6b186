"""Experiment store: a SQL database of experiments and their trials, artifacts on disk.

SQLite by default (``experiments.sqlite`` in the output folder), in WAL mode so that readers
(``tsauto runs list``, a cancel from another shell) never block a running experiment.  The SQL
is plain and the connection comes from one function, so another database can replace it later.
Every write is one short transaction: a run killed at any moment (``kill -9`` included) leaves
the database consistent, and what was committed survives.

Tables: ``experiments`` (settings, data fingerprint, status, timings, cancel request, the id of
the process running it) and ``trials`` (one child run per trial: learner, parameters, status
queued/running/completed/failed/timeout/canceled, metrics per fold, error, time).  Out-of-fold
forecasts live next to the database as Parquet files, one per trial.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.errors import DataError, SettingsError, preview
from tsauto.search.trial import TrialResult

DB_NAME = "experiments.sqlite"
FINAL = ("completed", "failed", "timeout", "canceled")
# What a finished experiment writes in its own folder; the top of the output folder holds
# copies of the latest experiment's, and LATEST says which experiment that is.
OUTPUTS = ("model.pkl", "leaderboard.csv", "leaderboard.json", "skipped.json",
           "guardrails.json", "settings.json", "featurization.json")
LATEST = "latest.json"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    elapsed REAL NOT NULL DEFAULT 0,
    stopped_because TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS trials (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    trial_id INTEGER NOT NULL,
    learner TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT,
    fold_metrics TEXT,
    error TEXT,
    duration REAL,
    started REAL,
    finished REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment_id, trial_id)
);
"""


def _clean(obj):
    """JSON without NaN (stored as null)."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _restore(obj):
    if obj is None:
        return np.nan
    if isinstance(obj, dict):
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    return obj


def read_stored(path: Path, read: Callable[[Path], object] | None = None):
    """A file stored with an experiment, read by ``read`` (default: as JSON).  The store writes
    every file whole (a temporary file, then a rename): one that cannot be read was damaged
    afterwards, and becomes a DataError naming it instead of a parser's traceback."""
    try:
        return read(path) if read else json.loads(path.read_text())
    except Exception as exc:  # noqa: BLE001 - JSON, Arrow (several types), pydantic, OS errors
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"'{path}' cannot be read ({type(exc).__name__}: {reason}): it is "
                        f"corrupt or truncated; restore it, or fit again.") from None


def _alive(pid: int | None) -> bool:
    """Whether process ``pid`` is running.  An experiment's process is on this machine: SQLite's
    WAL mode works only between processes of one machine.  An older store recorded no pid."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)  # no signal sent: only whether there is such a process
    except ProcessLookupError:
        return False
    except PermissionError:  # there is, another user's
        pass
    return True


@contextmanager
def _one_at_a_time(lock: Path):
    """An exclusive lock on the file ``lock`` while held: two fits starting into a new folder
    at once both create its database, and SQLite answers the second 'locked' at once, without
    waiting, while the first switches it to WAL (where flock exists: POSIX)."""
    try:
        import fcntl

        handle = open(lock, "a")
    except (ImportError, OSError):  # Windows, or a folder this process cannot write
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RunStore:
    """The experiments of one output folder.  ``create=False`` (resume, cancel) refuses a
    folder without a database instead of starting an empty one."""

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        if not create and not self.path.is_file():
            raise SettingsError(f"'{self.folder}' holds no experiment database ({DB_NAME}); "
                                f"pass the --out folder (output_dir) of a fit.")
        self.folder.mkdir(parents=True, exist_ok=True)
        with _one_at_a_time(self.folder / (DB_NAME + ".lock")), self._database() as db:
            db.executescript(_SCHEMA)
            # A database of another program could pass CREATE IF NOT EXISTS: read both tables.
            db.execute("SELECT id, settings, status, elapsed, cancel_requested FROM experiments "
                       "LIMIT 0")
            db.execute("SELECT trial_id, learner, params, status, metrics FROM trials LIMIT 0")
            if "pid" not in {c[1] for c in db.execute("PRAGMA table_info(experiments)")}:
                db.execute("ALTER TABLE experiments ADD COLUMN pid INTEGER")  # an older store

    @contextmanager
    def _database(self):
        """A connection; a file that is not a tsauto database (corrupt, truncated, another
        program's) becomes one clear DataError naming it."""
        try:
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                yield db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise DataError(f"'{self.path}' is locked by another process (waited up to "
                                f"30 s); try again.") from None
            raise DataError(f"'{self.path}' is not a readable tsauto experiment database "
                            f"({exc}): it is corrupt, truncated or another program's; restore "
                            f"it or use another output folder.") from None

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._database() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(sql, args)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # a signal may come before BEGIN took or after COMMIT
                    db.execute("ROLLBACK")
                raise
            return cursor

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._database() as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, args).fetchall()

    def artifacts(self, experiment_id: int) -> Path:
        """Folder of one experiment's files: its data, out-of-fold forecasts, model."""
        path = self.folder / "experiments" / str(experiment_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, settings_json: str, fingerprint: str) -> int:
        now = time.time()
        cursor = self._write("INSERT INTO experiments (name, settings, fingerprint, status, created,"
                             " updated, pid) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                             (name, settings_json, fingerprint, now, now, os.getpid()))
        return int(cursor.lastrowid)

    def experiment(self, experiment_id: int | None = None) -> dict:
        """One experiment (the latest when no id is given)."""
        rows = (self._read("SELECT * FROM experiments WHERE id = ?", (experiment_id,))
                if experiment_id is not None else
                self._read("SELECT * FROM experiments ORDER BY id DESC LIMIT 1"))
        if not rows:
            raise SettingsError(f"no experiment{'' if experiment_id is None else f' {experiment_id}'}"
                                f" in '{self.path}'.")
        return dict(rows[0])

    def experiments(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self._read(
            "SELECT e.id, e.name, e.status, e.elapsed, e.stopped_because, e.created, "
            "COUNT(t.trial_id) AS trials, SUM(t.status = 'completed') AS completed "
            "FROM experiments e LEFT JOIN trials t ON t.experiment_id = e.id GROUP BY e.id "
            "ORDER BY e.id")])

    def set_status(self, experiment_id: int, status: str, elapsed: float | None = None,
                   stopped_because: str | None = None) -> None:
        """Only the process running an experiment sets its status: it is recorded as that
        process (a resume's is another than the fit's)."""
        self._write("UPDATE experiments SET status = ?, updated = ?, elapsed = COALESCE(?, elapsed),"
                    " stopped_because = COALESCE(?, stopped_because), pid = ? WHERE id = ?",
                    (status, time.time(), elapsed, stopped_because, os.getpid(), experiment_id))

    def request_cancel(self, experiment_id: int, trial_id: int | None = None) -> None:
        row = self.experiment(experiment_id)
        if trial_id is None and row["status"] in FINAL:  # the flag would only stop a resume
            raise SettingsError(f"experiment {experiment_id} has already ended ({row['status']}): "
                                f"there is nothing to cancel.")
        if row["status"] == "interrupted" or (row["status"] == "running" and
                                              not _alive(row["pid"])):
            # (killed: still marked running) a request would be a flag that nobody reads
            why = ("interrupted" if row["status"] == "interrupted" else
                   f"its process, pid {row['pid']}, has ended")
            raise SettingsError(f"experiment {experiment_id} is not running ({why}): there is "
                                f"nothing to cancel. It keeps its finished trials: resume it "
                                f"(tsauto resume) to go on.")
        if trial_id is None:
            self._write("UPDATE experiments SET cancel_requested = 1 WHERE id = ?", (experiment_id,))
            return
        rows = {r["trial_id"]: r["status"] for r in self._read(
            "SELECT trial_id, status FROM trials WHERE experiment_id = ?", (experiment_id,))}
        running = sorted(t for t, status in rows.items() if status in ("queued", "running"))
        now = (f"running now: {preview(running)}" if running else "none is running now")
        if trial_id not in rows:
            known = (f"its trials are {min(rows)} to {max(rows)}" if rows else "it has no trial yet")
            raise SettingsError(f"experiment {experiment_id} has no trial {trial_id}: {known}; "
                                f"{now}.")
        if rows[trial_id] not in ("queued", "running"):
            raise SettingsError(f"trial {trial_id} of experiment {experiment_id} has already "
                                f"ended ({rows[trial_id]}): there is nothing to cancel; {now}.")
        self._write("UPDATE trials SET cancel_requested = 1 WHERE experiment_id = ? AND "
                    "trial_id = ?", (experiment_id, trial_id))

    def cancel_requests(self, experiment_id: int) -> tuple[bool, set[int]]:
        """(whole experiment canceled?, trial ids asked to stop)."""
        whole = self._read("SELECT cancel_requested FROM experiments WHERE id = ?", (experiment_id,))
        trials = self._read("SELECT trial_id FROM trials WHERE experiment_id = ? AND "
                            "cancel_requested = 1 AND status IN ('queued', 'running')",
                            (experiment_id,))
        return bool(whole and whole[0][0]), {r[0] for r in trials}

    def clear_cancel(self, experiment_id: int) -> None:
        self._write("UPDATE experiments SET cancel_requested = 0 WHERE id = ?", (experiment_id,))

    # -- trials --------------------------------------------------------------------------------
    def trial_started(self, experiment_id: int, trial_id: int, learner: str, params: dict) -> None:
        self._write("INSERT OR REPLACE INTO trials (experiment_id, trial_id, learner, params, status,"
                    " started) VALUES (?, ?, ?, ?, 'running', ?)",
                    (experiment_id, trial_id, learner, json.dumps(params, sort_keys=True,
                                                                  default=str), time.time()))

    def trial_finished(self, experiment_id: int, result: TrialResult) -> None:
        # The artifact first, then the row: a row marked completed always has its forecasts.
        if result.oof is not None:
            oof_dir = self.artifacts(experiment_id) / "oof"
            oof_dir.mkdir(parents=True, exist_ok=True)
            tmp = oof_dir / f"trial_{result.trial_id}.parquet.tmp"
            result.oof.to_parquet(tmp, index=False)
            tmp.replace(oof_dir / f"trial_{result.trial_id}.parquet")
        self._write("INSERT OR REPLACE INTO trials (experiment_id, trial_id, learner, params, status,"
                    " metrics, fold_metrics, error, duration, started, finished) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT started FROM trials WHERE "
                    "experiment_id = ? AND trial_id = ?), ?), ?)",
                    (experiment_id, result.trial_id, result.learner,
                     json.dumps(result.params, sort_keys=True, default=str), result.status,
                     json.dumps(_clean(result.metrics)), json.dumps(_clean(result.fold_metrics)),
                     result.error, result.duration, experiment_id, result.trial_id,
                     time.time(), time.time()))

    def trials(self, experiment_id: int) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self._read(
            "SELECT * FROM trials WHERE experiment_id = ? ORDER BY trial_id", (experiment_id,))])

    def finished_trials(self, experiment_id: int) -> list[TrialResult]:
        """Trials that ended (completed, failed, timed out), with their out-of-fold forecasts;
        trials left running by a killed experiment are not among them and will be rerun."""
        return self._results(experiment_id, "status IN ('completed', 'failed', 'timeout') AND "
                             "learner NOT LIKE '%\\_ensemble' ESCAPE '\\'")

    def stored_trials(self, experiment_id: int) -> list[TrialResult]:
        """Every ended trial of an experiment, ensembles and canceled trials included."""
        return self._results(experiment_id, f"status IN {FINAL}")

    def _results(self, experiment_id: int, where: str) -> list[TrialResult]:
        out = []
        for row in self._read(f"SELECT * FROM trials WHERE experiment_id = ? AND {where} "
                              f"ORDER BY trial_id", (experiment_id,)):
            result = self._result(experiment_id, row)
            if result is not None:
                out.append(result)
        return out

    def _result(self, experiment_id: int, row) -> TrialResult | None:
        path = self.artifacts(experiment_id) / "oof" / f"trial_{row['trial_id']}.parquet"
        oof = read_stored(path, pd.read_parquet) if path.exists() else None
        if row["status"] == "completed" and oof is None:
            return None  # killed between artifact and row: rerun it
        return TrialResult(row["trial_id"], row["learner"], json.loads(row["params"]),
                           row["status"], _restore(json.loads(row["metrics"] or "{}")),
                           _restore(json.loads(row["fold_metrics"] or "[]")),
                           row["duration"] or 0.0, row["error"], oof)

    def forget_unfinished(self, experiment_id: int) -> None:
        """Before a resume: trials left running by the stopped process are recorded as
        canceled, and ensembles (rebuilt at the end of every search) are dropped."""
        self._write("UPDATE trials SET status = 'canceled', error = 'interrupted; run again on "
                    "resume', finished = ? WHERE experiment_id = ? AND status IN ('queued', "
                    "'running')", (time.time(), experiment_id))
        self._write("DELETE FROM trials WHERE experiment_id = ? AND learner LIKE '%\\_ensemble' "
                    "ESCAPE '\\'", (experiment_id,))

    # -- outputs -------------------------------------------------------------------------------
    def latest(self) -> int | None:
        """The experiment whose outputs the top of the folder holds (None: none yet)."""
        path = self.folder / LATEST
        try:
            return int(json.loads(path.read_text())["experiment"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def publish(self, experiment_id: int, names: tuple[str, ...]) -> int:
        """Copy a finished experiment's outputs to the top of the folder and point LATEST at
        it, unless a later experiment is already there; returns the experiment the top of the
        folder now shows.  Concurrent fits into one folder are ordered by the database's write
        lock, and every file is replaced whole, so the top always holds one experiment's set."""
        with self._database() as db:
            db.execute("BEGIN IMMEDIATE")  # the lock; nothing is written in the database
            try:
                shown = self.latest()
                if shown is None or shown <= experiment_id:
                    self._copy_outputs(experiment_id, names)
                    shown = experiment_id
            finally:
                db.execute("COMMIT")
        return shown

    def _copy_outputs(self, experiment_id: int, names: tuple[str, ...]) -> None:
        """Every copy is written aside first, then all are renamed: a copy that fails (a full
        disk) leaves the top of the folder as it was, and no temporary file."""
        source = self.artifacts(experiment_id)
        made = [n for n in names if (source / n).is_file()]
        staged: dict[Path, Path] = {}  # temporary file -> target, LATEST last
        try:
            for name in made:
                tmp = self.folder / f".{name}.{os.getpid()}.tmp"
                staged[tmp] = self.folder / name  # before the copy: a partial one is removed
                shutil.copyfile(source / name, tmp)
            tmp = self.folder / f".{LATEST}.{os.getpid()}.tmp"
            staged[tmp] = self.folder / LATEST
            tmp.write_text(json.dumps({"experiment": experiment_id,
                                       "folder": str(source.relative_to(self.folder)),
                                       "files": made}, indent=1))
        except OSError as exc:
            for tmp in staged:
                tmp.unlink(missing_ok=True)
            raise SettingsError(
                f"cannot copy the outputs of experiment {experiment_id} to '{self.folder}': "
                f"{exc.strerror or exc}; nothing there was changed. The experiment is complete: "
                f"its model and outputs are in '{source}'. To copy them, free some space and "
                f"resume it (tsauto resume).") from None
        for name in set(names) - set(made):  # not made by this experiment: no stale copy
            (self.folder / name).unlink(missing_ok=True)
        for tmp, target in staged.items():
            os.replace(tmp, target)
