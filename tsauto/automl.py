"""``AutoML(settings).fit(data) -> Run``: guardrails, validation folds, search, refit, model.

    run = AutoML(ForecastSettings(time_column="date", target_column="sales", horizon=14)).fit(df)
    run.leaderboard()
    run.best_model.forecast()

    run = AutoML(ClassificationSettings(target_column="label")).fit(table)
    run.best_model.predict_proba(new_rows)

One flow for every task: only the preparation (dataset, guardrails, folds, what a trial needs)
and the artifact differ, in ``_prepare_forecasting`` and ``_prepare_tabular``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from tsauto.data.dataset import TimeSeriesDataset, read_table
from tsauto.data.guardrails import GuardrailReport, run_guardrails
from tsauto.data.tabular import TabularDataset
from tsauto.data.tabular_guardrails import apply_fixes, run_tabular_guardrails
from tsauto.ensemble.weighted import WeightedEnsemble, WeightedTabularEnsemble
from tsauto.errors import SettingsError
from tsauto.evaluation.metrics import is_better, metrics_for
from tsauto.evaluation.splits import auto_n_windows, rolling_origin
from tsauto.evaluation.tabular_splits import holdout, kfold, user_validation
from tsauto.model import ForecastModel, TabularModel, history_of, load_model
from tsauto.runs.store import RunStore
from tsauto.search.engine import (Hooks, SearchResult, SearchTask, config_key, ranking_key,
                                  search)
from tsauto.search.ensembles import is_ensemble
from tsauto.search.executor import Executor
from tsauto.search.refit import refit_forecaster, refit_tabular
from tsauto.search.tasks import forecasting_task, tabular_task
from tsauto.search.trial import TrialResult, TrialSpec
from tsauto.settings import SETTINGS, settings_from_json, settings_to_json


@dataclass
class _Prepared:
    """What one task hands the shared flow: the cleaned data, its report, the validation folds,
    what every trial is given, and how the winner is refitted and wrapped as the artifact."""

    dataset: TimeSeriesDataset | TabularDataset
    report: GuardrailReport
    folds: list
    context: dict
    task: SearchTask
    validation: str                                  # the validation scheme, in words
    refit_job: Callable                              # (spec, *refit_args) -> fitted learner
    refit_args: tuple
    make_model: Callable                             # (trial, fitted members) -> artifact


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
        self._refit_by = None  # set by AutoML: metric -> ForecastModel
        self._refit_each = None  # set by AutoML: () -> [(trial, model or None, error)]

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
        metric, time, error.  With ``test_data`` (data the search never saw: for forecasting
        the periods right after the training data) every completed trial is refitted on all
        the run's data and scored on it instead, best first on the test score."""
        if test_data is not None:
            from tsauto.runs.analysis import test_leaderboard

            return test_leaderboard(self, test_data)
        metric = self.settings.primary_metric
        rows = []
        for t in self.result.trials:
            row = {"trial": t.trial_id, "learner": t.learner,
                   "params": json.dumps(t.params, sort_keys=True, default=str), "status": t.status,
                   metric: t.metrics.get(metric, np.nan)}
            row.update({f"{metric}_fold{i}": m.get(metric, np.nan) for i, m in enumerate(t.fold_metrics)})
            row.update({k: v for k, v in t.metrics.items() if k != metric})
            row.update({"seconds": round(t.duration, 3),
                        "error": (t.error or "").splitlines()[0] if t.error else ""})
            rows.append(row)
        board = pd.DataFrame(rows)
        if board.empty:
            return board
        order = sorted(range(len(board)), key=lambda i: ranking_key(
            self.result.trials[i].metrics, metric, self.result.trials[i].trial_id))
        return board.iloc[order].reset_index(drop=True)

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

    def fit(self, data: pd.DataFrame | str | Path | TimeSeriesDataset | TabularDataset,
            output_dir: str | Path | None = None, name: str = "experiment",
            validation_data: pd.DataFrame | str | Path | None = None) -> Run:
        """Search, validate, ensemble and refit.  ``validation_data`` (classification and
        regression only) replaces cross-validation by the user's own validation rows."""
        started = time.monotonic()
        if validation_data is not None and self.settings.task == "forecasting":
            raise SettingsError("validation_data is for classification and regression; "
                                "forecasting validates on rolling origins (n_cross_validations).")
        raw = data if isinstance(data, (TimeSeriesDataset, TabularDataset)) else self._frame(data)
        valid = None if validation_data is None else self._frame(validation_data)
        dataset = self._dataset(raw)  # bad columns fail here, before anything is stored
        if output_dir is None:
            with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
                return self._execute(dataset, valid, None, None, Path(tmp), started, {})
        store = RunStore(output_dir)
        frame = dataset.frame if isinstance(dataset, TimeSeriesDataset) else dataset.X
        exp = store.create_experiment(name, settings_to_json(self.settings), fingerprint(frame))
        with open(store.artifacts(exp) / "data.pkl", "wb") as fh:
            pickle.dump((raw, valid), fh, protocol=pickle.HIGHEST_PROTOCOL)
        return self._execute(dataset, valid, store, exp, store.artifacts(exp), started, {})

    @classmethod
    def resume(cls, output_dir: str | Path, experiment: int | None = None) -> Run:
        """Continue an interrupted experiment: finished trials are kept, not redone; trials that
        were running when it stopped are recorded as canceled and run again."""
        store = RunStore(output_dir)
        row = store.experiment(experiment)
        exp = int(row["id"])
        automl = cls(settings_from_json(row["settings"]))
        with open(store.artifacts(exp) / "data.pkl", "rb") as fh:
            raw, valid = pickle.load(fh)
        store.forget_unfinished(exp)
        store.clear_cancel(exp)
        finished = {config_key(t.learner, t.params): t for t in store.finished_trials(exp)}
        started = time.monotonic() - float(row["elapsed"] or 0.0)
        return automl._execute(automl._dataset(raw), valid, store, exp, store.artifacts(exp),
                               started, finished)

    @classmethod
    def load(cls, output_dir: str | Path, experiment: int | None = None) -> Run:
        """A stored experiment as a ``Run`` (trials, out-of-fold forecasts, guardrails, model),
        without searching again: for reports and analysis of a finished ``fit``."""
        store = RunStore(output_dir)
        row = store.experiment(experiment)
        exp = int(row["id"])
        automl = cls(settings_from_json(row["settings"]))
        raw, valid = _data_copy(store.artifacts(exp))
        prepared = (automl._prepare_forecasting(automl._dataset(raw))
                    if automl.settings.task == "forecasting"
                    else automl._prepare_tabular(automl._dataset(raw), valid))
        result = SearchResult(store.trial_results(exp), automl.settings.primary_metric,
                              row["stopped_because"] or "", float(row["elapsed"] or 0.0),
                              _skipped(automl.settings, prepared))
        path = store.artifacts(exp) / "model.pkl"
        model = load_model(path) if path.exists() else None
        run = Run(automl.settings, prepared.dataset, prepared.report, result, model,
                  prepared.validation, float(row["elapsed"] or 0.0), store.folder, exp)
        run._refit_by = partial(automl._refit_best_by, result, prepared)
        run._refit_each = partial(automl._refit_each, result, prepared)
        return run

    @staticmethod
    def cancel(output_dir: str | Path, experiment: int | None = None, trial: int | None = None
               ) -> None:
        """Ask a running experiment (any process) to stop, or one of its trials."""
        store = RunStore(output_dir)
        store.request_cancel(int(store.experiment(experiment)["id"]), trial)

    def stop(self) -> None:
        """Stop this object's running fit (from another thread); the best so far is kept."""
        self._cancel.set()

    def _execute(self, dataset, valid, store, exp, work: Path, started: float,
                 finished: dict) -> Run:
        s = self.settings
        console = Console(stderr=True, quiet=s.verbosity == 0)
        prepared = (self._prepare_forecasting(dataset) if s.task == "forecasting"
                    else self._prepare_tabular(dataset, valid))
        console.print(f"Validation: {prepared.validation}")
        best: list[TrialResult | None] = [None]
        with console.status("Searching") as status:
            def on_trial(trial: TrialResult) -> None:
                if store is not None:
                    store.trial_finished(exp, trial)
                    store.set_status(exp, "running", elapsed=time.monotonic() - started)
                left = "" if s.time_budget is None else \
                    f", {max(0, s.time_budget - (time.monotonic() - started)):.0f}s left"
                best[0] = _better(best[0], trial, s.primary_metric)
                status.update(f"trial {trial.trial_id + 1} done" + (
                    f", best {s.primary_metric} {best[0].metrics[s.primary_metric]:.4f} "
                    f"({best[0].learner})" if best[0] else "") + left)
                if s.verbosity >= 2:
                    score = trial.metrics.get(s.primary_metric, np.nan)
                    console.print(f"trial {trial.trial_id} {trial.learner} {trial.status} "
                                  f"{s.primary_metric}={score:.4f} {trial.duration:.1f}s")

            def poll_cancel() -> tuple[bool, set]:
                if store is None:
                    return self._cancel.is_set(), set()
                whole, trials = store.cancel_requests(exp)
                return whole or self._cancel.is_set(), trials

            hooks = Hooks(
                on_submit=(lambda spec: store.trial_started(exp, spec.trial_id, spec.learner,
                                                            spec.params)) if store else None,
                on_trial=on_trial, poll_cancel=poll_cancel, finished=finished)
            result = search(prepared.task, prepared.folds, s, prepared.context,
                            work / "trials", started, hooks)
            if store is not None:
                for trial in result.trials:
                    if is_ensemble(trial):
                        store.trial_finished(exp, trial)
            status.update("Refitting the best model on the full history")
            model = self._refit(result, prepared, work / "refit", started)
        elapsed = time.monotonic() - started
        if store is not None:
            if model is not None:
                model.save(store.artifacts(exp) / "model.pkl")
            final = "canceled" if result.stopped_because == "canceled" else "completed"
            store.set_status(exp, final, elapsed, result.stopped_because)
        console.print(f"{len(result.trials)} trials in {elapsed:.1f}s ({result.stopped_because})"
                      + (f"; best: {model.description}" if model else "; no trial completed"))
        run = Run(s, prepared.dataset, prepared.report, result, model, prepared.validation,
                  elapsed, None if store is None else store.folder, exp)
        run._refit_by = partial(self._refit_best_by, result, prepared)
        run._refit_each = partial(self._refit_each, result, prepared)
        return run

    def _prepare_forecasting(self, dataset: TimeSeriesDataset) -> _Prepared:
        s = self.settings
        step = s.cv_step_size or s.horizon
        n_cv = (auto_n_windows(dataset, s.horizon, step) if s.n_cross_validations == "auto"
                else s.n_cross_validations)
        dataset, report = run_guardrails(dataset, horizon=s.horizon, n_cross_validations=n_cv,
                                         cv_step_size=step,
                                         short_series_handling=s.short_series_handling)
        report.raise_if_failed()
        context = {"horizon": s.horizon, "quantiles": tuple(s.quantiles),
                   "season_length": dataset.season_length, "country_or_region": s.country_or_region,
                   "subdivision": s.subdivision, "target_lags": s.target_lags,
                   "target_rolling_window_size": s.target_rolling_window_size,
                   "feature_lags": s.feature_lags, "featurization": s.featurization,
                   "seed": s.seed, "random_state": s.seed}

        def make_model(trial: TrialResult, fitted: list) -> ForecastModel:
            learner = (WeightedEnsemble.of_fitted(fitted, trial.params["weights"], trial.learner)
                       if is_ensemble(trial) else fitted[0])
            return ForecastModel(learner, dataset.schema(), history_of(dataset), s.horizon,
                                 s.quantiles, report, s.model_dump(), _describe(trial))

        return _Prepared(dataset, report, rolling_origin(dataset, s.horizon, n_cv, step), context,
                         forecasting_task(dataset),
                         f"{n_cv} rolling-origin window(s) of {s.horizon} periods, {step} apart",
                         refit_forecaster, (dataset, context), make_model)

    def _prepare_tabular(self, dataset: TabularDataset, valid: pd.DataFrame | None) -> _Prepared:
        s = self.settings
        report = run_tabular_guardrails(dataset, s.n_folds, s.seed)
        report.raise_if_failed()
        dataset = apply_fixes(dataset, report)
        if s.featurization == "off":  # numbers only: what is left is imputed, not encoded
            kinds = dataset.column_kinds()
            dataset = dataset.without_columns([c for c, k in kinds.items() if k != "numeric"])
        X, y = dataset.X, dataset.y
        if valid is not None:
            held = self._dataset(valid)
            X = pd.concat([X, dataset.schema().validate(held.X, "validation_data")],
                          ignore_index=True)
            y = pd.concat([y, held.y], ignore_index=True)
            split = user_validation(dataset.n_rows, held.n_rows)
        elif s.validation_scheme(dataset.n_rows) == "kfold":
            split = kfold(y, s.n_folds, s.task, s.seed)
        else:
            split = holdout(y, s.holdout_fraction, s.task, s.seed)
        context = {"task": s.task, "classes": dataset.classes, "data": (X, y),
                   "seed": s.seed, "random_state": s.seed}

        def make_model(trial: TrialResult, fitted: list) -> TabularModel:
            learner = (WeightedTabularEnsemble(fitted, trial.params["weights"], trial.learner)
                       if is_ensemble(trial) else fitted[0])
            return TabularModel(learner, dataset.schema(), report, s.model_dump(),
                                _describe(trial))

        validation = {"kfold": f"{len(split.folds)}-fold cross-validation" + (
                          " (stratified)" if s.task == "classification" else ""),
                      "holdout": f"a {s.holdout_fraction:.0%} holdout"}.get(
            split.scheme, f"the given validation_data ({len(y) - dataset.n_rows:,} rows)")
        if split.note:
            validation += f"; {split.note}"
        # The winner is refitted on every row, the user's validation rows included.
        return _Prepared(dataset, report, split.folds, context,
                         tabular_task(s.task, len(X)), validation, refit_tabular,
                         (X, y, context), make_model)

    def _refit_best_by(self, result: SearchResult, prepared: _Prepared, metric: str):
        with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
            return self._refit(result, prepared, Path(tmp), None, metric)

    def _refit_each(self, result: SearchResult, prepared: _Prepared) -> list:
        """Every completed trial refitted on all the data, best first, as (trial, model or
        None, error); each single learner is fitted once and shared by the ensembles."""
        singles = [t for t in result.completed if not is_ensemble(t)]
        fitted, errors = {}, {}
        with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
            executor = Executor(Path(tmp), prepared.refit_job, prepared.refit_args,
                                self.settings.max_concurrent_trials)
            try:
                queue = list(singles)
                while queue or executor.running:
                    while queue and executor.free:
                        t = queue.pop(0)
                        executor.submit(t.trial_id, TrialSpec(
                            t.trial_id, t.learner, t.params, prepared.task.registry.get(t.learner)),
                            None)
                    for key, status, payload, _ in executor.wait_any():
                        if status == "ok":
                            fitted[key] = payload
                        else:
                            errors[key] = str(payload).splitlines()[0] if payload else status
            finally:
                executor.shutdown()
        out = []
        for trial in result.ranked():
            ids = trial.params["members"] if is_ensemble(trial) else [trial.trial_id]
            missing = [i for i in ids if i not in fitted]
            if missing:
                out.append((trial, None, "; ".join(f"trial {i}: {errors.get(i, 'not refitted')}"
                                                   for i in missing)))
                continue
            out.append((trial, prepared.make_model(trial, [fitted[i] for i in ids]), None))
        return out

    def _frame(self, data) -> pd.DataFrame:
        if isinstance(data, (str, Path)):
            data = read_table(data)
        if not isinstance(data, pd.DataFrame):
            raise SettingsError(f"fit expects a DataFrame, a CSV/Parquet path or a "
                                f"TimeSeriesDataset, got {type(data).__name__}.")
        return data

    def _dataset(self, data) -> TimeSeriesDataset | TabularDataset:
        s = self.settings
        if isinstance(data, (TimeSeriesDataset, TabularDataset)):
            return data
        if s.task == "forecasting":
            return TimeSeriesDataset(data, **s.dataset_roles())
        return TabularDataset(data, s.target_column, s.task, s.drop_columns)

    def _refit(self, result: SearchResult, prepared: _Prepared, workdir, started,
               metric: str | None = None):
        """Refit the best trial (every member of an ensemble) on all the data in workers, so
        that it honours the budget; if that fails, the next best trial is tried."""
        s = self.settings
        metric = metric or s.primary_metric
        ranked = result.ranked(metric)
        by_id = {t.trial_id: t for t in result.trials}
        executor = Executor(workdir, prepared.refit_job, prepared.refit_args,
                            s.max_concurrent_trials)
        try:
            for trial in ranked:
                members = ([by_id[i] for i in trial.params["members"]] if is_ensemble(trial)
                           else [trial])
                fitted = self._fit_members(executor, members, prepared.task.registry, started)
                if fitted is not None:
                    return prepared.make_model(trial, fitted)
                if started is not None and s.time_budget is not None and \
                        time.monotonic() - started > s.time_budget:
                    break
            # Out of time: a model past the budget beats no model.  The best single trial is
            # refitted without a time limit.
            single = next((t for t in ranked if not is_ensemble(t)), None)
            if single is not None and started is not None:
                fitted = self._fit_members(executor, [single], prepared.task.registry, None)
                if fitted is not None:
                    return prepared.make_model(single, fitted)
        finally:
            executor.shutdown()
        return None

    def _fit_members(self, executor: Executor, members, registry, started):
        """Fitted learners of the members in order, or None if one fails or runs out of time."""
        s = self.settings
        remaining = None if s.time_budget is None or started is None else \
            max(s.time_budget - (time.monotonic() - started), 1.0)
        fitted, queue = {}, list(members)
        while queue or executor.running:
            while queue and executor.free:
                t = queue.pop(0)
                executor.submit(t.trial_id, TrialSpec(t.trial_id, t.learner, t.params,
                                                      registry.get(t.learner)), remaining)
            for key, status, payload, _ in executor.wait_any():
                if status != "ok":
                    executor.shutdown()
                    return None
                fitted[key] = payload
        return [fitted[t.trial_id] for t in members]


def _data_copy(folder: Path) -> tuple:
    """The experiment's copy of its data: (training frame, validation frame or None).  The one
    place that reads it back besides ``resume``."""
    with open(folder / "data.pkl", "rb") as fh:
        return pickle.load(fh)


def _skipped(settings, prepared: _Prepared) -> dict:
    """The learners the search left out and why (recomputed: the store does not keep them)."""
    from tsauto.search.engine import candidate_learners

    return candidate_learners(settings, prepared.task, len(prepared.folds),
                              settings.time_budget)[1]


def fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of the data the experiment saw."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _describe(trial: TrialResult) -> str:
    return f"{trial.learner} {json.dumps(trial.params, default=str)}"


def _better(best: TrialResult | None, trial: TrialResult, metric: str) -> TrialResult | None:
    score = trial.metrics.get(metric, np.nan) if trial.status == "completed" else np.nan
    if best is None:
        return trial if not np.isnan(score) else None
    return trial if is_better(metric, score, best.metrics[metric]) else best

