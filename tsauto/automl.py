"""``AutoML(settings).fit(data) -> Run``: guardrails, validation folds, search, refit, model.

    run = AutoML(ForecastSettings(time_column="date", target_column="sales", horizon=14)).fit(df)
    run.leaderboard()
    run.best_model.forecast()

    run = AutoML(ClassificationSettings(target_column="label")).fit(table)
    run.best_model.predict_proba(new_rows)

One flow for every task: only the preparation (dataset, guardrails, folds, what a trial needs)
and the artifact differ, in the task's module (``tsauto.tasks``); the search runs the trials,
the ensembles and the refit (``tsauto.search``).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import tempfile
import threading
import time
from functools import cached_property, partial
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset, read_table
from tsauto.data.guardrails import GuardrailReport
from tsauto.data.io import check_output_dir
from tsauto.data.tabular import TabularDataset
from tsauto.errors import DataError, NoModelError, SettingsError
from tsauto.evaluation.metrics import fallback_metric, metrics_for
from tsauto.model import ForecastModel, TabularModel, load_model
from tsauto.progress import Reporter, default_reporter, members_summary, skipped_learners
from tsauto.runs.store import OUTPUTS, RunStore, read_stored
from tsauto.search.engine import (Hooks, SearchResult, candidate_learners,
                                  config_key, ranking_key, search)
from tsauto.search.ensembles import is_ensemble
from tsauto.search.refit import refit_best, refit_best_by, refit_each
from tsauto.search.trial import TrialResult, TrialSpec
from tsauto.settings import SETTINGS, settings_from_json, settings_to_json
from tsauto.tasks import task_module
from tsauto.tasks.base import Prepared
from tsauto.tasks.forecasting_plan import recorded_windows


class Run:
    """The outcome of an experiment: every trial, the guardrail report and the best model."""

    def __init__(self, settings, dataset: TimeSeriesDataset | TabularDataset,
                 guardrails: GuardrailReport, result: SearchResult,
                 best_model: ForecastModel | TabularModel | None, validation: str,
                 elapsed: float, folder: Path | None = None, experiment: int | None = None) -> None:
        self.settings = settings
        self.dataset = dataset
        self.guardrails = guardrails
        self.result = result
        self.best_model = best_model
        self.validation = validation
        self.elapsed = elapsed
        self.folder = folder
        self.experiment = experiment
        # Stored runs: the experiment's own folder of outputs (model.pkl, leaderboard...), and
        # the experiment whose copies the top of the output folder shows (the latest).
        self.outputs: Path | None = None
        self.published: int | None = None
        self._refit_by = None  # set by AutoML: metric -> ForecastModel
        self._refit_each = None  # set by AutoML: () -> [(trial, model or None, error)]
        self.refit_errors: list[str] = []  # why trials ranked above the model's were not refitted

    @property
    def refit_note(self) -> str:
        """Why the model is not the first trial of the leaderboard ('' when it is): its refit on
        all the data failed or did not fit the time budget, and another trial was refitted."""
        model, ranked = self.best_model, self.result.ranked()
        shipped = getattr(model, "trial_id", None)
        if shipped is None or not ranked or ranked[0].trial_id == shipped:
            return ""
        first = ranked[0]
        learner = next((t.learner for t in ranked if t.trial_id == shipped), "another trial")
        why = f" ({self.refit_errors[0]})" if self.refit_errors else ""
        return (f"{first.learner} (trial {first.trial_id}) ranks first but was not refitted "
                f"on all the data{why}; the model is {learner} (trial {shipped}), the next "
                f"refitted")

    def best_model_by(self, metric: str) -> ForecastModel | TabularModel | None:
        """The best trial by another metric than the primary one, refitted on all the data."""
        valid = metrics_for(self.settings.task)
        if metric not in valid:
            raise SettingsError(f"unknown metric {metric!r}; valid: {', '.join(sorted(valid))}.")
        if metric == self.settings.primary_metric:
            return self.best_model
        return self._refit_by(metric)

    def cancel(self, trial: int | None = None) -> None:
        """Ask this run's experiment (e.g. resumed in another process) or one trial to stop."""
        if self.folder is None:
            raise SettingsError("this run was not stored (fit without output_dir): nothing to "
                                "cancel.")
        AutoML.cancel(self.folder, self.experiment, trial)

    def leaderboard(self, test_data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Every trial, best first: learner, parameters, status, metrics, per-fold primary
        metric, time (an ensemble's includes its members'), ensemble members by learner name,
        error.  With ``test_data`` (data the search never saw: for forecasting the periods
        right after the training data) every completed trial is refitted on all the run's data
        and scored on it instead, best first on the test score."""
        if test_data is not None:
            from tsauto.runs.analysis import test_leaderboard

            return test_leaderboard(self, test_data)
        metric = self.settings.primary_metric
        by_id = {t.trial_id: t for t in self.result.trials}
        learner_of = {i: t.learner for i, t in by_id.items()}
        rows = []
        for t in self.result.trials:
            # an ensemble costs its own time plus its members' trials
            members = ([by_id[i] for i in t.params["members"] if i in by_id]
                       if is_ensemble(t) else [])
            row = {"trial": t.trial_id, "learner": t.learner,
                   "params": json.dumps(t.params, sort_keys=True, default=str), "status": t.status,
                   metric: t.metrics.get(metric, np.nan)}
            row.update({f"{metric}_fold{i}": m.get(metric, np.nan) for i, m in enumerate(t.fold_metrics)})
            row.update({k: v for k, v in t.metrics.items() if k != metric})
            row.update({"seconds": round(t.duration + sum(m.duration for m in members), 3),
                        "onnx": self._exports_onnx(t, by_id),
                        "members": members_summary(t.params, learner_of) if members else "",
                        "error": (t.error or "").splitlines()[0] if t.error else ""})
            rows.append(row)
        board = pd.DataFrame(rows)
        if board.empty:
            return board
        # Ranked like the search (SearchResult.ranked), then the trials without a score
        ranking = self.result.ranking_metric or metric
        place = {t.trial_id: k for k, t in enumerate(self.result.ranked())}
        order = sorted(range(len(board)), key=lambda i: (
            place.get(self.result.trials[i].trial_id, len(place)),
            ranking_key(self.result.trials[i].metrics, ranking, self.result.trials[i].trial_id)))
        return board.iloc[order].reset_index(drop=True)

    def _exports_onnx(self, trial, by_id: dict) -> bool:
        """Whether the trial's model would export to ONNX (model.to_onnx): its learner, or
        every member of an ensemble, with its parameters under these settings."""
        if is_ensemble(trial):
            return all(self._exports_onnx(by_id[i], by_id) for i in trial.params["members"]
                       if i in by_id)
        tabular = self.settings.task != "forecasting"
        if tabular:
            from tsauto.learners.tabular import registry
        else:
            from tsauto.learners import registry
        try:
            learner = registry.get(trial.learner)
        except SettingsError:
            return False
        return (learner.exports_onnx(trial.params, self.settings)
                and (not tabular or self._onnx_columns))

    @cached_property
    def _onnx_columns(self) -> bool:
        """Whether the tabular data's columns export (the same for every trial)."""
        from tsauto.export.tabular import exports_columns

        return exports_columns(self.dataset)

    def cross_validation(self) -> pd.DataFrame:
        """The stored out-of-fold predictions as one long frame, one column per trial (see
        ``tsauto.runs.analysis.cross_validation``)."""
        from tsauto.runs.analysis import cross_validation

        return cross_validation(self)

    def backtest(self, trial: int | None = None):
        """The ``Backtest`` of a trial (default: the best) from its out-of-fold forecasts."""
        from tsauto.runs.analysis import trial_backtest

        return trial_backtest(self, trial)

    def report(self, path: str | Path, max_series: int = 12) -> Path:
        """One self-contained HTML report of this run (opens offline); returns its path."""
        from tsauto.reports.report import run_report

        return run_report(self, path, max_series=max_series)

    def plot_leaderboard(self, top: int = 20):
        """A matplotlib figure of the best trials' primary metric, fold by fold."""
        from tsauto.reports.figures import leaderboard_figure

        return leaderboard_figure(self.leaderboard(), self.settings.primary_metric, top)

    def __repr__(self) -> str:
        best = self.result.best()
        return (f"Run({len(self.result.trials)} trials, best={best.learner if best else None}, "
                f"stopped: {self.result.stopped_because}, {self.elapsed:.1f}s)")


class AutoML:
    """Runs experiments.  With ``output_dir`` everything is stored there (SQLite database,
    data, out-of-fold forecasts, model) and an interrupted experiment can be resumed."""

    def __init__(self, settings) -> None:
        if not isinstance(settings, tuple(SETTINGS.values())):
            raise SettingsError(f"AutoML expects ForecastSettings, ClassificationSettings or "
                                f"RegressionSettings, got {type(settings).__name__}.")
        self.settings = settings
        self._cancel = threading.Event()
        # the plan a stored experiment was searched by (resume, load): kept, not planned
        # again from a new measurement of the learners' cost
        self._plan: dict | None = None

    def fit(self, data: pd.DataFrame | str | Path | TimeSeriesDataset | TabularDataset,
            output_dir: str | Path | None = None, name: str = "experiment",
            validation_data: pd.DataFrame | str | Path | None = None,
            reporter: Reporter | None = None) -> Run:
        """Search, validate, ensemble and refit.  ``validation_data`` (classification and
        regression only) replaces cross-validation by the user's own validation rows.
        ``reporter`` (a ``tsauto.progress.Reporter``) follows the progress; by default plain
        lines go to stderr at ``verbosity`` 1 and 2."""
        started = time.monotonic()
        if output_dir is not None:
            check_output_dir(output_dir, "output_dir")  # a bad folder fails before the search
        if validation_data is not None and self.settings.task == "forecasting":
            raise SettingsError("validation_data is for classification and regression; "
                                "forecasting validates on rolling origins (n_cross_validations).")
        raw = data if isinstance(data, (TimeSeriesDataset, TabularDataset)) else self._frame(data)
        valid = None if validation_data is None else self._frame(validation_data)
        dataset = self._dataset(raw)  # bad columns fail here, before anything is stored
        if output_dir is None:
            with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
                return self._execute(dataset, valid, None, None, Path(tmp), started, {},
                                     reporter)
        store = RunStore(output_dir)
        frame = dataset.frame if isinstance(dataset, TimeSeriesDataset) else dataset.X
        exp = store.create_experiment(name, settings_to_json(self.settings), fingerprint(frame))
        reporter = reporter or default_reporter(self.settings.verbosity)
        note = _store_data(store.artifacts(exp), raw, valid)
        if note:
            reporter.note(f"Warning: {note}")
        return self._execute(dataset, valid, store, exp, store.artifacts(exp), started, {},
                             reporter)

    def fit_many(self, data: pd.DataFrame | str | Path, partition_by: str | list[str],
                 engine=None, output_dir: str | Path | None = None, workers: int | None = None):
        """One AutoML per partition (the rows sharing the values of ``partition_by``), fitted in
        parallel through Fugue and stored in ``output_dir``; returns a ``ManyModels``.  ``engine``:
        None (local processes), "dask", "ray", "spark" (a local cluster of ``workers`` one-core
        workers, default one per core), or a Dask client / Spark session.  Each partition gets
        the whole ``time_budget``.  A failed partition is recorded with its error; a rerun on
        the same ``output_dir`` skips the partitions completed on the same data.  See
        docs/many_models.md."""
        from tsauto.many import fit_many

        return fit_many(self.settings, data, partition_by, engine, output_dir, workers)

    @classmethod
    def resume(cls, output_dir: str | Path, experiment: int | None = None,
               reporter: Reporter | None = None) -> Run:
        """Continue an interrupted experiment: every recorded trial is replayed, whatever the
        time budget, not redone; trials that were running when it stopped are recorded as
        canceled and run again; the ensembles are rebuilt from the trials and the best is
        refitted.  With one worker (``max_concurrent_trials=1``) this ends with the model the
        uninterrupted run would have chosen.  A completed experiment returns its stored model
        without any new work.  ``reporter`` follows the progress, as in ``fit``."""
        store = RunStore(output_dir, create=False)
        row = store.experiment(experiment)
        exp = int(row["id"])
        automl = cls(settings_from_json(row["settings"], f"experiment {exp} of {store.folder}"))
        if row["status"] == "completed" and (store.artifacts(exp) / "model.pkl").is_file():
            reporter = reporter or default_reporter(automl.settings.verbosity)
            try:
                run = automl._stored_run(store, row, reporter)
                run.published = store.publish(exp, OUTPUTS)  # a no-op unless it is the latest
                reporter.note(f"Experiment {exp} is complete: its stored model is returned, "
                              f"nothing was rerun.")
                return run
            finally:
                reporter.close()
        raw, valid = _load_data(store.artifacts(exp), exp)
        store.forget_unfinished(exp)
        store.clear_cancel(exp)
        store.set_status(exp, "running")  # by this process now
        finished = {config_key(t.learner, t.params): t for t in store.finished_trials(exp)}
        automl._plan = _stored_plan(store.artifacts(exp), finished.values())
        started = time.monotonic() - float(row["elapsed"] or 0.0)
        return automl._execute(automl._dataset(raw), valid, store, exp, store.artifacts(exp),
                               started, finished, reporter)

    @classmethod
    def load(cls, output_dir: str | Path, experiment: int | None = None) -> Run:
        """A stored experiment as a ``Run`` (trials, out-of-fold forecasts, guardrails, model),
        without searching again: for reports and analysis of a finished ``fit``."""
        store = RunStore(output_dir, create=False)
        row = store.experiment(experiment)
        where = f"experiment {row['id']} of {store.folder}"
        return cls(settings_from_json(row["settings"], where))._stored_run(store, row)

    @staticmethod
    def cancel(output_dir: str | Path, experiment: int | None = None, trial: int | None = None
               ) -> None:
        """Ask a running experiment (any process) to stop, or one of its running trials."""
        store = RunStore(output_dir, create=False)
        store.request_cancel(int(store.experiment(experiment)["id"]), trial)

    def stop(self) -> None:
        """Stop this object's running fit (from another thread); the best so far is kept."""
        self._cancel.set()

    def _prepare(self, dataset, valid, reporter: Reporter) -> Prepared:
        return task_module(self.settings.task).prepare(self.settings, dataset, valid, reporter,
                                                       self._plan)

    def _stored_run(self, store: RunStore, row, reporter: Reporter | None = None) -> Run:
        """An experiment as it was stored: its trials and its model (None if it has none), no
        search and no refit (the data are prepared again, for the run's guardrails and folds,
        reported to ``reporter`` if one is given; the skipped learners are recomputed: the
        store does not keep them)."""
        s = self.settings
        exp = int(row["id"])
        raw, valid = _load_data(store.artifacts(exp), exp)
        trials = store.stored_trials(exp)
        self._plan = _stored_plan(store.artifacts(exp), trials)
        prepared = self._prepare(self._dataset(raw), valid, reporter or Reporter())
        result = SearchResult(trials, s.primary_metric,
                              row["stopped_because"] or "", float(row["elapsed"] or 0.0),
                              candidate_learners(s, prepared.task, len(prepared.folds),
                                                 s.time_budget)[1],
                              reference=prepared.task.reference)
        path = store.artifacts(exp) / "model.pkl"
        try:
            model = load_model(path) if path.is_file() else None
        except DataError as exc:  # the store keeps what writing it again takes
            raise DataError(f"{exc} It is the model of experiment {exp}: delete it and resume "
                            f"the experiment (tsauto resume) to refit its best trial from the "
                            f"stored ones.") from None
        run = Run(s, prepared.dataset, model.guardrails if model else prepared.report, result,
                  model, prepared.validation, result.elapsed, store.folder, exp)
        run._refit_by = partial(refit_best_by, result, prepared, s)
        run._refit_each = partial(refit_each, result, prepared, s)
        run.outputs = store.artifacts(exp)
        return run

    def _execute(self, dataset, valid, store, exp, work: Path, started: float,
                 finished: dict, reporter: Reporter | None = None) -> Run:
        reporter = reporter or default_reporter(self.settings.verbosity)
        try:
            return self._search_and_refit(dataset, valid, store, exp, work, started, finished,
                                          reporter)
        except BaseException as exc:
            # Ctrl-C or a signal, not a failure: what finished is kept for a resume
            if store is not None and not isinstance(exc, Exception):
                store.set_status(exp, "interrupted", time.monotonic() - started)
                exc.add_note(f"experiment {exp} keeps its finished trials; resume it with "
                             f"`tsauto resume {store.folder} --experiment {exp}` (Python: "
                             f"AutoML.resume)")
            raise
        finally:
            reporter.close()

    def _search_and_refit(self, dataset, valid, store, exp, work: Path, started: float,
                          finished: dict, reporter: Reporter) -> Run:
        s = self.settings
        prepared = self._prepare(dataset, valid, reporter)
        if store is not None:  # before any trial, so that a resume searches as planned now
            _atomic_text(store.artifacts(exp) / _PLAN, json.dumps(prepared.plan))
        reporter.validation(prepared.validation)

        def on_trial(trial: TrialResult) -> None:
            if store is not None:
                store.trial_finished(exp, trial)
                store.set_status(exp, "running", elapsed=time.monotonic() - started)
            reporter.trial_finished(trial)

        def on_submit(spec: TrialSpec) -> None:
            if store is not None:
                store.trial_started(exp, spec.trial_id, spec.learner, spec.params)
                _crash_point("search")
            reporter.trial_started(spec.trial_id, spec.learner, spec.params)

        def poll_cancel() -> tuple[bool, set]:
            if store is None:
                return self._cancel.is_set(), set()
            whole, trials = store.cancel_requests(exp)
            return whole or self._cancel.is_set(), trials

        hooks = Hooks(on_start=lambda learners, skipped: reporter.search_started(
                          learners, skipped, s.primary_metric, s.time_budget, started),
                      on_submit=on_submit, on_trial=on_trial,
                      on_replayed=reporter.trial_replayed, poll_cancel=poll_cancel,
                      finished=finished)
        if prepared.folds:
            result = search(prepared.task, prepared.folds, s, prepared.context, work / "trials",
                            started, hooks)
            ensembles = [t for t in result.trials if is_ensemble(t)]
            if store is not None:
                for trial in ensembles:
                    store.trial_finished(exp, trial)
                    _crash_point("ensembles")
            if ensembles:
                reporter.ensembles(ensembles, {t.trial_id: t for t in result.trials})
            best = result.best()
            reporter.refit(best.learner if best else "the best trial")
            # A resumed experiment may have spent its budget before the kill: its refit
            # gets the time the search kept back for it, as the uninterrupted run's did.
            model, refit_errors = refit_best(
                result, prepared, s, work / "refit", started,
                floor=result.refit_reserve if finished else 1.0,
                on_fitted=partial(_crash_point, "refit"))
        else:  # no series can fill a validation window: every one gets the fallback
            result = SearchResult([], s.primary_metric, "no series long enough to validate "
                                  "a model: fallback forecasts", 0.0)
            model, refit_errors = prepared.make_model(None, []), []
        elapsed = time.monotonic() - started
        run = Run(s, prepared.dataset, model.guardrails if model else prepared.report, result,
                  model, prepared.validation, elapsed, None if store is None else store.folder,
                  exp)
        run._refit_by = partial(refit_best_by, result, prepared, s)
        run._refit_each = partial(refit_each, result, prepared, s)
        run.refit_errors = refit_errors
        if model is None:
            self._no_model(run, store, exp, elapsed, refit_errors)
        if store is not None:
            run.outputs = _save_outputs(run, store.artifacts(exp))
            # Ended, its model saved: so it stays even if the copies to the top then fail.
            final = "canceled" if result.stopped_because == "canceled" else "completed"
            store.set_status(exp, final, elapsed, result.stopped_because)
            run.published = store.publish(exp, OUTPUTS)
        reporter.done(run)
        return run

    @staticmethod
    def _no_model(run: Run, store, exp, elapsed: float, refit_errors: list[str]) -> None:
        """Raise why the fit has no model, after writing the experiment's outputs (its
        leaderboard) in its own folder; the top of the output folder keeps showing the latest
        experiment that has a model."""
        result = run.result
        counts = pd.Series([t.status for t in result.trials], dtype=object).value_counts()
        ran = ", ".join(f"{n} {status}" for status, n in counts.items()) or "none"
        if result.ranking_metric is None and counts.get("completed", 0):
            why = (f"no completed trial has a finite {result.primary_metric} or "
                   f"{fallback_metric(result.primary_metric)}")
        elif result.ranked():
            why = ("no trial could be refitted on the full data"
                   + (f" ({refit_errors[0]})" if refit_errors else ""))
        else:
            why = "no trial completed"
        errors = [t.error.splitlines()[0].rstrip(".") for t in result.trials if t.error]
        message = (f"no usable model: {why}; trials: {ran} (stopped: {result.stopped_because})"
                   + (f"; first error: {errors[0]}" if errors else ""))
        if store is not None:
            run.outputs = _save_outputs(run, store.artifacts(exp))
            board = run.outputs / "leaderboard.csv"
            store.set_status(exp, "failed", elapsed, result.stopped_because)
            message += f". The leaderboard is in {board}"
        raise NoModelError(message + ".")

    def _frame(self, data) -> pd.DataFrame:
        if isinstance(data, (str, Path)):
            data = read_table(data)
        if not isinstance(data, pd.DataFrame):
            raise SettingsError(f"fit expects a DataFrame, a CSV/Parquet path or a "
                                f"TimeSeriesDataset, got {type(data).__name__}.")
        return data

    def _dataset(self, data) -> TimeSeriesDataset | TabularDataset:
        if isinstance(data, (TimeSeriesDataset, TabularDataset)):
            return data
        return task_module(self.settings.task).make_dataset(self.settings, data)


def _save_outputs(run: Run, folder: Path) -> Path:
    """The experiment's outputs in its own folder, each written whole: the model, the
    leaderboard, the learners skipped and why, the guardrail report, the settings and (pivoted
    learners) the featurization.  A write that fails (a full disk) leaves the experiment
    unfinished, with its trials, for a resume."""
    try:
        _write_outputs(run, folder)
    except OSError as exc:
        raise SettingsError(f"cannot write the outputs of the experiment in '{folder}': "
                            f"{exc.strerror or exc}. Its finished trials are kept: free some "
                            f"space and resume it (tsauto resume).") from None
    return folder


def _write_outputs(run: Run, folder: Path) -> None:
    if run.best_model is not None:
        run.best_model.save(folder / "model.pkl")
    board = run.leaderboard()
    _atomic_text(folder / "leaderboard.csv", board.to_csv(index=False))
    _atomic_text(folder / "leaderboard.json", board.to_json(orient="records", indent=1))
    _atomic_text(folder / "skipped.json", json.dumps(skipped_learners(run.result), indent=1))
    _atomic_text(folder / "guardrails.json", run.guardrails.to_json(indent=1))
    _atomic_text(folder / "settings.json", settings_to_json(run.settings))
    featurization = getattr(getattr(run.best_model, "learner", None), "featurization_summary",
                            None)
    if callable(featurization):  # pivoted learners report what they did to every column
        summary = featurization()
        _atomic_text(folder / "featurization.json", summary.to_json(
            orient="records", indent=1, default_handler=str) if hasattr(summary, "to_json")
            else json.dumps(summary, default=str, indent=1))


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:  # a failed write (a full disk) leaves no temporary file
        tmp.unlink(missing_ok=True)


# The resume copy of the data: Parquet (never a pickle), and a JSON note of what it was.
_DATA, _VALID, _DATA_NOTE = "data.parquet", "validation_data.parquet", "data.json"
_PLAN = "plan.json"  # how the search was planned (``Prepared.plan``)


def _stored_plan(folder: Path, trials) -> dict | None:
    """The plan a stored experiment was searched by; for one stored before plans were kept,
    the validation windows its completed trials were scored on; None when neither is known
    (nothing recorded: the resume plans afresh)."""
    if (folder / _PLAN).is_file():
        return read_stored(folder / _PLAN)
    windows = recorded_windows(trials)
    return None if windows is None else {"windows": windows}


def _store_data(folder: Path, raw, valid) -> str:
    """Store what ``fit`` was given, for ``resume``; returns a warning when it cannot be."""
    if isinstance(raw, TimeSeriesDataset):  # its regular long frame, rebuilt with its roles
        note = {"kind": "TimeSeriesDataset", "roles": {
            "time_column": raw.time_column, "target_column": raw.target_column,
            "grain_columns": raw.grain_columns, "known_covariates": raw.known_covariates,
            "past_covariates": raw.past_covariates, "static_features": raw.static_features,
            "freq": raw.freq}}
        frame = raw.to_frame()
    elif isinstance(raw, TabularDataset):
        note = {"kind": "TabularDataset", "roles": {"target_column": raw.target_column,
                                                    "task": raw.task}}
        frame = raw.X.assign(**{raw.target_column: raw.y.to_numpy()})
    else:
        note, frame = {"kind": "frame"}, raw
    try:
        for name, table in ((_DATA, frame), (_VALID, valid)):
            (folder / name).unlink(missing_ok=True)
            if table is not None:
                tmp = folder / f".{name}.tmp"
                # Parquet wants text column names; tsauto reads columns by their text name.
                table.set_axis([str(c) for c in table.columns], axis=1).to_parquet(tmp,
                                                                                   index=False)
                os.replace(tmp, folder / name)
    except Exception as exc:  # pyarrow refuses some frames (e.g. an object column of mixed types)
        note = {"kind": "unavailable", "reason": f"{type(exc).__name__}: {exc}"}
    _atomic_text(folder / _DATA_NOTE, json.dumps(note))
    if note["kind"] == "unavailable":
        return (f"the data could not be stored as Parquet ({note['reason']}); this experiment "
                f"runs, but it cannot be resumed.")
    return ""


def _load_data(folder: Path, exp: int):
    """The (data, validation_data) stored by ``fit`` for ``resume``."""
    note_path = folder / _DATA_NOTE
    if not note_path.is_file():
        raise DataError(f"experiment {exp} has no stored data in '{folder}' (written by an "
                        f"older tsauto, or the fit was killed before storing it): it cannot be "
                        f"resumed; fit again.")
    note = read_stored(note_path)
    if note["kind"] == "unavailable":
        raise DataError(f"experiment {exp} cannot be resumed: its data could not be stored "
                        f"({note['reason']}).")
    frame = read_stored(folder / _DATA, pd.read_parquet)
    valid = read_stored(folder / _VALID, pd.read_parquet) if (folder / _VALID).exists() else None
    if note["kind"] == "TimeSeriesDataset":
        return TimeSeriesDataset(frame, **note["roles"]), valid
    if note["kind"] == "TabularDataset":
        return TabularDataset(frame, note["roles"]["target_column"], note["roles"]["task"]), valid
    return frame, valid


_CRASHES: dict[str, int] = {}


def _crash_point(phase: str) -> None:
    """Test seam for the resume tests, inert unless ``TSAUTO_TEST_KILL_AT`` is set: with
    ``TSAUTO_TEST_KILL_AT=phase[:n]`` the process kills itself (SIGKILL, as ``kill -9`` would)
    the n-th time (default 1) it reaches ``phase``: search (a trial just started), ensembles
    (an ensemble trial stored) or refit (a member refitted, the model not saved yet)."""
    wanted = os.environ.get("TSAUTO_TEST_KILL_AT")
    if not wanted or wanted.partition(":")[0] != phase:
        return
    _CRASHES[phase] = _CRASHES.get(phase, 0) + 1
    if _CRASHES[phase] >= int(wanted.partition(":")[2] or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of the data the experiment saw."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
