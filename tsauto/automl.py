"""``AutoML(settings).fit(data) -> Run``: guardrails, validation folds, search, refit, model.

    run = AutoML(ForecastSettings(time_column="date", target_column="sales", horizon=14)).fit(df)
    run.leaderboard()
    run.best_model.forecast()
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from tsauto.data.dataset import TimeSeriesDataset, read_table
from tsauto.data.guardrails import GuardrailReport, run_guardrails
from tsauto.errors import SettingsError
from tsauto.evaluation.metrics import METRICS, is_better
from tsauto.evaluation.splits import auto_n_windows, rolling_origin
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of
from tsauto.ensemble.weighted import WeightedEnsemble
from tsauto.runs.store import RunStore
from tsauto.search.engine import Hooks, SearchResult, config_key, search
from tsauto.search.ensembles import is_ensemble
from tsauto.search.executor import Executor
from tsauto.search.trial import TrialResult, TrialSpec, build_learner
from tsauto.settings import ForecastSettings


def _refit_job(spec: TrialSpec, dataset: TimeSeriesDataset, context: dict):
    learner = build_learner(spec, context).fit(dataset)
    # Local statistical models fit at predict time and cache the forecast: do it here, inside
    # the budget, so that the user's first forecast is immediate.
    if not (learner.capabilities.known_covariates and dataset.known_covariates):
        learner.predict(context["horizon"])
    return learner


class Run:
    """The outcome of an experiment: every trial, the guardrail report and the best model."""

    def __init__(self, settings: ForecastSettings, dataset: TimeSeriesDataset,
                 guardrails: GuardrailReport, result: SearchResult, best_model: ForecastModel | None,
                 n_cross_validations: int, elapsed: float, folder: Path | None = None,
                 experiment: int | None = None) -> None:
        self.settings = settings
        self.dataset = dataset
        self.guardrails = guardrails
        self.result = result
        self.best_model = best_model
        self.n_cross_validations = n_cross_validations
        self.elapsed = elapsed
        self.folder = folder
        self.experiment = experiment
        self._refit_by = None  # set by AutoML: metric -> ForecastModel

    def best_model_by(self, metric: str) -> ForecastModel | None:
        """The best trial by another metric than the primary one, refitted on the full history."""
        if metric not in METRICS:
            raise SettingsError(f"unknown metric {metric!r}; valid: {', '.join(sorted(METRICS))}.")
        if metric == self.settings.primary_metric:
            return self.best_model
        return self._refit_by(metric)

    def cancel(self, trial: int | None = None) -> None:
        """Ask this run's experiment (e.g. resumed in another process) or one trial to stop."""
        if self.folder is None:
            raise SettingsError("this run was not stored (fit without output_dir): nothing to "
                                "cancel.")
        AutoML.cancel(self.folder, self.experiment, trial)

    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first: learner, parameters, status, metrics, per-fold primary
        metric, time, error."""
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
        ascending = not METRICS[metric].greater_is_better
        return board.sort_values([metric, "trial"], ascending=[ascending, True],
                                 na_position="last").reset_index(drop=True)

    def __repr__(self) -> str:
        best = self.result.best()
        return (f"Run({len(self.result.trials)} trials, best={best.learner if best else None}, "
                f"stopped: {self.result.stopped_because}, {self.elapsed:.1f}s)")


class AutoML:
    """Runs experiments.  With ``output_dir`` everything is stored there (SQLite database,
    data, out-of-fold forecasts, model) and an interrupted experiment can be resumed."""

    def __init__(self, settings: ForecastSettings) -> None:
        if not isinstance(settings, ForecastSettings):
            raise SettingsError(f"AutoML expects ForecastSettings, got {type(settings).__name__}.")
        self.settings = settings
        self._cancel = threading.Event()

    def fit(self, data: pd.DataFrame | str | Path | TimeSeriesDataset,
            output_dir: str | Path | None = None, name: str = "experiment") -> Run:
        started = time.monotonic()
        raw = data if isinstance(data, TimeSeriesDataset) else self._frame(data)
        dataset = self._dataset(raw)
        if output_dir is None:
            with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
                return self._execute(dataset, None, None, Path(tmp), started, {})
        store = RunStore(output_dir)
        exp = store.create_experiment(name, self.settings.model_dump_json(), fingerprint(dataset))
        with open(store.artifacts(exp) / "data.pkl", "wb") as fh:
            pickle.dump(raw, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return self._execute(dataset, store, exp, store.artifacts(exp), started, {})

    @classmethod
    def resume(cls, output_dir: str | Path, experiment: int | None = None) -> Run:
        """Continue an interrupted experiment: finished trials are kept, not redone; trials that
        were running when it stopped are recorded as canceled and run again."""
        store = RunStore(output_dir)
        row = store.experiment(experiment)
        exp = int(row["id"])
        automl = cls(ForecastSettings.model_validate_json(row["settings"]))
        with open(store.artifacts(exp) / "data.pkl", "rb") as fh:
            raw = pickle.load(fh)
        store.forget_unfinished(exp)
        store.clear_cancel(exp)
        finished = {config_key(t.learner, t.params): t for t in store.finished_trials(exp)}
        started = time.monotonic() - float(row["elapsed"] or 0.0)
        return automl._execute(automl._dataset(raw), store, exp, store.artifacts(exp), started,
                               finished)

    @staticmethod
    def cancel(output_dir: str | Path, experiment: int | None = None, trial: int | None = None
               ) -> None:
        """Ask a running experiment (any process) to stop, or one of its trials."""
        store = RunStore(output_dir)
        store.request_cancel(int(store.experiment(experiment)["id"]), trial)

    def stop(self) -> None:
        """Stop this object's running fit (from another thread); the best so far is kept."""
        self._cancel.set()

    def _execute(self, dataset, store, exp, work: Path, started: float, finished: dict) -> Run:
        s = self.settings
        console = Console(stderr=True, quiet=s.verbosity == 0)
        step = s.cv_step_size or s.horizon
        n_cv = (auto_n_windows(dataset, s.horizon, step) if s.n_cross_validations == "auto"
                else s.n_cross_validations)
        dataset, report = run_guardrails(dataset, horizon=s.horizon, n_cross_validations=n_cv,
                                         cv_step_size=step,
                                         short_series_handling=s.short_series_handling)
        report.raise_if_failed()
        folds = rolling_origin(dataset, s.horizon, n_cv, step)
        context = {"horizon": s.horizon, "quantiles": tuple(s.quantiles),
                   "season_length": dataset.season_length, "country_or_region": s.country_or_region,
                   "subdivision": s.subdivision, "target_lags": s.target_lags,
                   "target_rolling_window_size": s.target_rolling_window_size,
                   "feature_lags": s.feature_lags, "featurization": s.featurization,
                   "seed": s.seed, "random_state": s.seed}
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
            result = search(dataset, folds, s, context, work / "trials", started, hooks)
            if store is not None:
                for trial in result.trials:
                    if is_ensemble(trial):
                        store.trial_finished(exp, trial)
            status.update("Refitting the best model on the full history")
            model = self._refit(result, dataset, context, report, work / "refit", started)
        elapsed = time.monotonic() - started
        if store is not None:
            if model is not None:
                model.save(store.artifacts(exp) / "model.pkl")
            final = "canceled" if result.stopped_because == "canceled" else "completed"
            store.set_status(exp, final, elapsed, result.stopped_because)
        console.print(f"{len(result.trials)} trials in {elapsed:.1f}s ({result.stopped_because})"
                      + (f"; best: {model.description}" if model else "; no trial completed"))
        run = Run(s, dataset, report, result, model, n_cv, elapsed,
                  None if store is None else store.folder, exp)
        run._refit_by = partial(self._refit_best_by, result, dataset, context, report)
        return run

    def _refit_best_by(self, result, dataset, context, report, metric: str):
        with tempfile.TemporaryDirectory(prefix="tsauto-") as tmp:
            return self._refit(result, dataset, context, report, Path(tmp), None, metric)

    def _frame(self, data) -> pd.DataFrame:
        if isinstance(data, (str, Path)):
            data = read_table(data)
        if not isinstance(data, pd.DataFrame):
            raise SettingsError(f"fit expects a DataFrame, a CSV/Parquet path or a "
                                f"TimeSeriesDataset, got {type(data).__name__}.")
        return data

    def _dataset(self, data) -> TimeSeriesDataset:
        if isinstance(data, TimeSeriesDataset):
            return data
        return TimeSeriesDataset(data, **self.settings.dataset_roles())

    def _refit(self, result: SearchResult, dataset, context, report, workdir, started,
               metric: str | None = None):
        """Refit the best trial (every member of an ensemble) on the full history in workers,
        so that it honours the budget; if that fails, the next best trial is tried."""
        s = self.settings
        metric = metric or s.primary_metric
        ranked = sorted([t for t in result.completed if np.isfinite(t.metrics.get(metric, np.nan))],
                        key=lambda t: t.metrics[metric], reverse=METRICS[metric].greater_is_better)
        by_id = {t.trial_id: t for t in result.trials}
        executor = Executor(workdir, _refit_job, (dataset, context), s.max_concurrent_trials)
        try:
            for trial in ranked:
                members = ([by_id[i] for i in trial.params["members"]] if is_ensemble(trial)
                           else [trial])
                fitted = self._fit_members(executor, members, started)
                if fitted is not None:
                    learner = (WeightedEnsemble.of_fitted(fitted, trial.params["weights"],
                                                          trial.learner)
                               if is_ensemble(trial) else fitted[0])
                    return ForecastModel(learner, dataset.schema(), history_of(dataset),
                                         s.horizon, s.quantiles, report, s.model_dump(),
                                         f"{trial.learner} {json.dumps(trial.params, default=str)}")
                if started is not None and s.time_budget is not None and \
                        time.monotonic() - started > s.time_budget:
                    break
        finally:
            executor.shutdown()
        return None

    def _fit_members(self, executor: Executor, members, started):
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


def fingerprint(ds: TimeSeriesDataset) -> str:
    """A short hash of the data the experiment saw."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(ds.frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _better(best: TrialResult | None, trial: TrialResult, metric: str) -> TrialResult | None:
    score = trial.metrics.get(metric, np.nan) if trial.status == "completed" else np.nan
    if best is None:
        return trial if not np.isnan(score) else None
    return trial if is_better(metric, score, best.metrics[metric]) else best

