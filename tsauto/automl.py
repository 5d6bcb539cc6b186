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
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset, read_table
from tsauto.data.guardrails import (
    FALLBACK_CHAIN,
    MIN_TRAIN,
    GuardrailReport,
    GuardrailResult,
    run_guardrails,
    validation_windows,
    windows_filled,
)
from tsauto.data.io import check_output_dir
from tsauto.data.tabular import TabularDataset
from tsauto.data.tabular_guardrails import apply_fixes, run_tabular_guardrails
from tsauto.ensemble.weighted import WeightedEnsemble, WeightedTabularEnsemble
from tsauto.errors import DataError, NoModelError, SettingsError
from tsauto.evaluation.metrics import fallback_metric, is_better, metrics_for
from tsauto.evaluation.splits import rolling_origin
from tsauto.evaluation.tabular_splits import holdout, kfold, user_validation
from tsauto.features.spec import FeaturizationSpec
from tsauto.learners._stat_common import seasonal_naive_fits
from tsauto.model import ForecastModel, TabularModel, history_of, load_model
from tsauto.progress import Reporter, default_reporter, members_summary, skipped_learners
from tsauto.runs.store import OUTPUTS, RunStore
from tsauto.search.context import ForecastContext, TabularContext
from tsauto.search.engine import (Hooks, SearchResult, SearchTask, candidate_learners,
                                  config_key, ranking_key, search)
from tsauto.search.ensembles import is_ensemble
from tsauto.search.executor import Executor
from tsauto.search.refit import refit_forecaster, refit_tabular
from tsauto.search.tasks import forecasting_task, tabular_task
from tsauto.search.trial import TrialResult, TrialSpec, build_learner
from tsauto.settings import SETTINGS, settings_from_json, settings_to_json


@dataclass
class _Prepared:
    """What one task hands the shared flow: the cleaned data, its report, the validation folds,
    what every trial is given, and how the winner is refitted and wrapped as the artifact."""

    dataset: TimeSeriesDataset | TabularDataset
    report: GuardrailReport
    folds: list                                      # empty: nothing to search on
    context: ForecastContext | TabularContext
    task: SearchTask
    validation: str                                  # the validation scheme, in words
    refit_job: Callable                              # (spec, *refit_args) -> fitted learner
    refit_args: Callable                             # (member trials) -> args, None: no data
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
        # Stored runs: the experiment's own folder of outputs (model.pkl, leaderboard...), and
        # the experiment whose copies the top of the output folder shows (the latest).
        self.outputs: Path | None = None
        self.published: int | None = None
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
                        "members": members_summary(t.params, learner_of) if members else "",
                        "error": (t.error or "").splitlines()[0] if t.error else ""})
            rows.append(row)
        board = pd.DataFrame(rows)
        if board.empty:
            return board
        # Ranked like the search: by the fallback metric when the primary is undefined
        ranking = self.result.ranking_metric or metric
        order = sorted(range(len(board)), key=lambda i: ranking_key(
            self.result.trials[i].metrics, ranking, self.result.trials[i].trial_id))
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
        automl = cls(settings_from_json(row["settings"]))
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
        finished = {config_key(t.learner, t.params): t for t in store.finished_trials(exp)}
        started = time.monotonic() - float(row["elapsed"] or 0.0)
        return automl._execute(automl._dataset(raw), valid, store, exp, store.artifacts(exp),
                               started, finished, reporter)

    @classmethod
    def load(cls, output_dir: str | Path, experiment: int | None = None) -> Run:
        """A stored experiment as a ``Run`` (trials, out-of-fold forecasts, guardrails, model),
        without searching again: for reports and analysis of a finished ``fit``."""
        store = RunStore(output_dir, create=False)
        row = store.experiment(experiment)
        return cls(settings_from_json(row["settings"]))._stored_run(store, row)

    @staticmethod
    def cancel(output_dir: str | Path, experiment: int | None = None, trial: int | None = None
               ) -> None:
        """Ask a running experiment (any process) to stop, or one of its running trials."""
        store = RunStore(output_dir, create=False)
        store.request_cancel(int(store.experiment(experiment)["id"]), trial)

    def stop(self) -> None:
        """Stop this object's running fit (from another thread); the best so far is kept."""
        self._cancel.set()

    def _prepare(self, dataset, valid, reporter: Reporter) -> _Prepared:
        return (self._prepare_forecasting(dataset, reporter) if self.settings.task == "forecasting"
                else self._prepare_tabular(dataset, valid, reporter))

    def _stored_run(self, store: RunStore, row, reporter: Reporter | None = None) -> Run:
        """An experiment as it was stored: its trials and its model (None if it has none), no
        search and no refit (the data are prepared again, for the run's guardrails and folds,
        reported to ``reporter`` if one is given; the skipped learners are recomputed: the
        store does not keep them)."""
        s = self.settings
        exp = int(row["id"])
        raw, valid = _load_data(store.artifacts(exp), exp)
        prepared = self._prepare(self._dataset(raw), valid, reporter or Reporter())
        result = SearchResult(store.stored_trials(exp), s.primary_metric,
                              row["stopped_because"] or "", float(row["elapsed"] or 0.0),
                              candidate_learners(s, prepared.task, len(prepared.folds),
                                                 s.time_budget)[1])
        path = store.artifacts(exp) / "model.pkl"
        model = load_model(path) if path.is_file() else None
        run = Run(s, prepared.dataset, model.guardrails if model else prepared.report, result,
                  model, prepared.validation, result.elapsed, store.folder, exp)
        run._refit_by = partial(self._refit_best_by, result, prepared)
        run._refit_each = partial(self._refit_each, result, prepared)
        run.outputs = store.artifacts(exp)
        return run

    def _execute(self, dataset, valid, store, exp, work: Path, started: float,
                 finished: dict, reporter: Reporter | None = None) -> Run:
        reporter = reporter or default_reporter(self.settings.verbosity)
        try:
            return self._search_and_refit(dataset, valid, store, exp, work, started, finished,
                                          reporter)
        finally:
            reporter.close()

    def _search_and_refit(self, dataset, valid, store, exp, work: Path, started: float,
                          finished: dict, reporter: Reporter) -> Run:
        s = self.settings
        prepared = self._prepare(dataset, valid, reporter)
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
                      on_submit=on_submit, on_trial=on_trial, poll_cancel=poll_cancel,
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
            model, refit_errors = self._refit(
                result, prepared, work / "refit", started,
                floor=result.refit_reserve if finished else 1.0)
        else:  # no series can fill a validation window: every one gets the fallback
            result = SearchResult([], s.primary_metric, "no series long enough to validate "
                                  "a model: fallback forecasts", 0.0)
            model, refit_errors = prepared.make_model(None, []), []
        elapsed = time.monotonic() - started
        run = Run(s, prepared.dataset, model.guardrails if model else prepared.report, result,
                  model, prepared.validation, elapsed, None if store is None else store.folder,
                  exp)
        run._refit_by = partial(self._refit_best_by, result, prepared)
        run._refit_each = partial(self._refit_each, result, prepared)
        if model is None:
            self._no_model(run, store, exp, elapsed, refit_errors)
        if store is not None:
            run.outputs = _save_outputs(run, store.artifacts(exp))
            run.published = store.publish(exp, OUTPUTS)
            final = "canceled" if result.stopped_because == "canceled" else "completed"
            store.set_status(exp, final, elapsed, result.stopped_because)
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
        errors = [t.error.splitlines()[0] for t in result.trials if t.error]
        message = (f"no usable model: {why}; trials: {ran} (stopped: {result.stopped_because})"
                   + (f"; first error: {errors[0]}" if errors else ""))
        if store is not None:
            run.outputs = _save_outputs(run, store.artifacts(exp))
            board = run.outputs / "leaderboard.csv"
            store.set_status(exp, "failed", elapsed, result.stopped_because)
            message += f". The leaderboard is in {board}"
        raise NoModelError(message + ".")

    def _prepare_forecasting(self, dataset: TimeSeriesDataset, reporter: Reporter) -> _Prepared:
        s = self.settings
        n_cv, step = validation_windows(dataset, s.horizon, s.n_cross_validations, s.cv_step_size)
        dataset, report = run_guardrails(dataset, horizon=s.horizon, n_cross_validations=n_cv,
                                         cv_step_size=step,
                                         short_series_handling=s.short_series_handling,
                                         max_filled_share=s.max_filled_share)
        reporter.guardrails(report)
        report.raise_if_failed()
        featurization = FeaturizationSpec(
            target_lags=s.target_lags, target_rolling_window_size=s.target_rolling_window_size,
            feature_lags=s.feature_lags, country_or_region=s.country_or_region,
            subdivision=s.subdivision, featurization=s.featurization)
        context = ForecastContext(s.horizon, tuple(s.quantiles), dataset.season_length,
                                  featurization, s.seed)
        filled = windows_filled(dataset.lengths, s.horizon, n_cv, step)
        task = forecasting_task(dataset)

        def refit_args(members: list[TrialResult]):
            """The learner is refitted on the series it forecasts: not the fallback's."""
            need, name = _min_history([task.registry.get(t.learner) for t in members])
            away = _fallback_reasons(dataset, filled, s.horizon, need, name)
            keep = ~np.isin(dataset.series_ids, list(away))
            if not keep.any():
                return None
            return dataset.only(keep), context

        def make_model(trial: TrialResult | None, fitted: list) -> ForecastModel:
            if trial is None:  # nothing could be validated: the fallback is the model
                away = _fallback_reasons(dataset, filled, s.horizon, 0, "")
                learner, series = self._fallback(dataset, away, context)
                checked = _with_fallback_check(report, dataset, series, "a searched model")
                return ForecastModel(learner, dataset.schema(), history_of(dataset), s.horizon,
                                     s.quantiles, checked, s.model_dump(),
                                     f"fallback: {FALLBACK_CHAIN} (no series is long enough to "
                                     f"validate a model)", None, series)
            learner = (WeightedEnsemble.of_fitted(fitted, trial.params["weights"], trial.learner)
                       if is_ensemble(trial) else fitted[0])
            away = _fallback_reasons(dataset, filled, s.horizon,
                                     *_min_history([type(m) for m in fitted]))
            fallback, series = (self._fallback(dataset, away, context) if away else (None, {}))
            checked = _with_fallback_check(report, dataset, series, trial.learner)
            return ForecastModel(learner, dataset.schema(), history_of(dataset), s.horizon,
                                 s.quantiles, checked, s.model_dump(), _describe(trial, fitted), fallback,
                                 series)

        folds = (rolling_origin(dataset, s.horizon, n_cv, step) if filled.any() else [])
        validation = f"{n_cv} rolling-origin window(s) of {s.horizon} periods, {step} apart"
        if not folds:
            validation = f"none: no series can fill one window of {s.horizon} periods"
        return _Prepared(dataset, report, folds, context, task, validation, refit_forecaster,
                         refit_args, make_model)

    @staticmethod
    def _fallback(dataset: TimeSeriesDataset, away: dict[str, str], context: ForecastContext):
        """The fallback learner fitted on the series in ``away`` (id -> why), and those series
        with the method that forecasts each and why."""
        part = dataset.only(np.isin(dataset.series_ids, list(away)))
        learner = build_learner(TrialSpec(-1, "seasonal_naive", {}), context).fit(part)
        learner.prepare(context.horizon)  # forecast kept: a failure shows now, not later
        lengths = part.lengths
        methods = np.where(seasonal_naive_fits(lengths, learner.season_length_),
                           "seasonal_naive", "naive")
        series = {}
        for sid, method, n in zip(part.series_ids.tolist(), methods, lengths):
            reason = away[sid] + ("; one observation: its quantiles have no spread" if n == 1
                                  else "")
            series[sid] = {"method": str(method), "reason": reason}
        return learner, series

    def _prepare_tabular(self, dataset: TabularDataset, valid: pd.DataFrame | None,
                         reporter: Reporter) -> _Prepared:
        s = self.settings
        report = run_tabular_guardrails(dataset, s.n_folds, s.seed)
        reporter.guardrails(report)
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
        context = TabularContext(s.task, dataset.classes, (X, y), s.seed)

        def make_model(trial: TrialResult, fitted: list) -> TabularModel:
            learner = (WeightedTabularEnsemble(fitted, trial.params["weights"], trial.learner)
                       if is_ensemble(trial) else fitted[0])
            return TabularModel(learner, dataset.schema(), report, s.model_dump(),
                                _describe(trial, fitted))

        validation = {"kfold": f"{len(split.folds)}-fold cross-validation" + (
                          " (stratified)" if s.task == "classification" else ""),
                      "holdout": f"a {s.holdout_fraction:.0%} holdout"}.get(
            split.scheme, f"the given validation_data ({len(y) - dataset.n_rows:,} rows)")
        if split.note:
            validation += f"; {split.note}"
        # The winner is refitted on every row, the user's validation rows included.
        return _Prepared(dataset, report, split.folds, context,
                         tabular_task(s.task, len(X)), validation, refit_tabular,
                         lambda members: (X, y, context), make_model)

    def _refit_best_by(self, result: SearchResult, prepared: _Prepared, metric: str):
        with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
            model, errors = self._refit(result, prepared, Path(tmp), None, metric)
        if model is None:
            raise NoModelError(f"no trial scored on {metric} could be refitted"
                               + (f": {errors[0]}" if errors else "") + ".")
        return model

    def _refit_each(self, result: SearchResult, prepared: _Prepared) -> list:
        """Every completed trial refitted on all the data, best first, as (trial, model or
        None, error), each as the final refit would fit it (an ensemble's members together,
        on the series they can fit)."""
        by_id = {t.trial_id: t for t in result.trials}
        out = []
        with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
            for trial in result.ranked():
                members = ([by_id[i] for i in trial.params["members"]] if is_ensemble(trial)
                           else [trial])
                errors: list[str] = []
                fitted = self._fit_members(prepared, Path(tmp) / str(trial.trial_id), members,
                                           None, errors)
                out.append((trial, None, "; ".join(errors) or "not refitted") if fitted is None
                           else (trial, prepared.make_model(trial, fitted), None))
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
               metric: str | None = None, floor: float = 1.0):
        """Refit the best trial (every member of an ensemble) on all the data in workers, so
        that it honours the budget; if that fails, the next best trial is tried.  Returns the
        model (None if no trial could be refitted) and the refit errors."""
        s = self.settings
        ranked = result.ranked(metric)
        by_id = {t.trial_id: t for t in result.trials}
        errors: list[str] = []
        for trial in ranked:
            members = ([by_id[i] for i in trial.params["members"]] if is_ensemble(trial)
                       else [trial])
            fitted = self._fit_members(prepared, workdir, members, started, errors, floor)
            if fitted is not None:
                return prepared.make_model(trial, fitted), errors
            if started is not None and s.time_budget is not None and \
                    time.monotonic() - started > s.time_budget:
                break
        # Out of time: a model past the budget beats no model.  The best single trial is
        # refitted without a time limit.
        single = next((t for t in ranked if not is_ensemble(t)), None)
        if single is not None and started is not None:
            fitted = self._fit_members(prepared, workdir, [single], None, errors)
            if fitted is not None:
                return prepared.make_model(single, fitted), errors
        return None, errors

    def _fit_members(self, prepared: _Prepared, workdir, members, started, errors: list,
                     floor: float = 1.0):
        """Fitted learners of the members in order, or None if one fails or runs out of time
        (why is appended to ``errors``); each member gets what is left of the budget, at least
        ``floor`` seconds."""
        s = self.settings
        args = prepared.refit_args(members)
        if args is None:
            errors.append(f"{members[0].learner}: no series long enough for it")
            return None
        remaining = None if s.time_budget is None or started is None else \
            max(s.time_budget - (time.monotonic() - started), floor)
        registry = prepared.task.registry
        executor = Executor(workdir, prepared.refit_job, args, s.max_concurrent_trials)
        fitted, queue = {}, list(members)
        try:
            while queue or executor.running:
                while queue and executor.free:
                    t = queue.pop(0)
                    executor.submit(t.trial_id, TrialSpec(t.trial_id, t.learner, t.params,
                                                          registry.get(t.learner)), remaining)
                for key, status, payload, _ in executor.wait_any():
                    if status != "ok":
                        errors.append(f"refit of trial {key}: {str(payload).splitlines()[0]}")
                        return None
                    fitted[key] = payload
                    _crash_point("refit")
        finally:
            executor.shutdown()
        return [fitted[t.trial_id] for t in members]


def _save_outputs(run: Run, folder: Path) -> Path:
    """The experiment's outputs in its own folder, each written whole: the model, the
    leaderboard, the learners skipped and why, the guardrail report, the settings and (pivoted
    learners) the featurization."""
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
    return folder


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# The resume copy of the data: Parquet (never a pickle), and a JSON note of what it was.
_DATA, _VALID, _DATA_NOTE = "data.parquet", "validation_data.parquet", "data.json"


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
    note = json.loads(note_path.read_text())
    if note["kind"] == "unavailable":
        raise DataError(f"experiment {exp} cannot be resumed: its data could not be stored "
                        f"({note['reason']}).")
    try:
        frame = pd.read_parquet(folder / _DATA)
        valid = pd.read_parquet(folder / _VALID) if (folder / _VALID).exists() else None
    except Exception as exc:
        raise DataError(f"the stored data of experiment {exp} in '{folder}' cannot be read "
                        f"({type(exc).__name__}: {exc}); fit again.") from None
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


def _min_history(classes: list) -> tuple[int, str]:
    """The most history any of these learners needs to fit a series as itself, and whose."""
    need = {cls.name: cls.capabilities.min_history for cls in classes}
    name = max(need, key=need.get)
    return need[name], name


def _fallback_reasons(dataset: TimeSeriesDataset, filled: np.ndarray, horizon: int,
                      min_history: int, learner: str) -> dict[str, str]:
    """Series the chosen learner does not forecast, id -> why: those no validation window
    could score (``filled`` 0) and those shorter than the learner's ``min_history``."""
    lengths = dataset.lengths
    ids = dataset.series_ids.tolist()
    def periods(n: int) -> str:
        return f"{n} period" + ("s" if n != 1 else "")

    out = {ids[i]: f"too short for any validation window: {periods(lengths[i])}, one window "
                   f"needs {MIN_TRAIN + horizon}" for i in np.flatnonzero(filled == 0)}
    out.update({ids[i]: f"{periods(lengths[i])}, fewer than the {min_history} that {learner} "
                        f"needs" for i in np.flatnonzero((filled > 0) & (lengths < min_history))})
    return out


def _with_fallback_check(report: GuardrailReport, dataset: TimeSeriesDataset,
                         series: dict[str, dict], learner: str) -> GuardrailReport:
    """The model's copy of the guardrail report, with the series it forecasts by fallback."""
    if not series:
        return GuardrailReport(list(report.results))
    ids = list(series)
    shown = "; ".join(f"{k!r}: {v['reason']}" for k, v in list(series.items())[:3])
    result = GuardrailResult(
        "fallback_series", "fixed",
        f"{len(ids)} series are forecast by the fallback, not by {learner}: {shown}"
        + (f"; and {len(ids) - 3} more" if len(ids) > 3 else ""), ids,
        int(dataset.lengths[np.isin(dataset.series_ids, ids)].sum()),
        f"forecast from their own history by {FALLBACK_CHAIN}; see model.fallback_series")
    return GuardrailReport([*report.results, result])


def _describe(trial: TrialResult, fitted: list) -> str:
    """The model in words; an ensemble by its members' learner names and weights."""
    if is_ensemble(trial):
        names = {i: getattr(f, "name", type(f).__name__)
                 for i, f in zip(trial.params["members"], fitted)}
        return f"{trial.learner} of {members_summary(trial.params, names)}"
    return f"{trial.learner} {json.dumps(trial.params, default=str)}"


def _better(best: TrialResult | None, trial: TrialResult, metric: str) -> TrialResult | None:
    score = trial.metrics.get(metric, np.nan) if trial.status == "completed" else np.nan
    if best is None:
        return trial if not np.isnan(score) else None
    return trial if is_better(metric, score, best.metrics[metric]) else best

