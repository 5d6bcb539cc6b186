"""What a finished run can tell after the search: its out-of-fold forecasts as one frame, the
backtest of a trial, and every trial scored on data the search never saw.

Functions take a ``Run`` (``tsauto.automl``); metrics come from the evaluation modules and the
models' own ``evaluate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT
from tsauto.errors import SettingsError
from tsauto.evaluation.backtest import Backtest, backtest_of_folds
from tsauto.evaluation.splits import rolling_origin


def _trial(run, trial: int | None):
    if trial is None:
        best = run.result.best()
        if best is None:
            raise SettingsError("no trial completed in this run: nothing to show.")
        return best
    found = [t for t in run.result.trials if t.trial_id == trial]
    if not found:
        ids = [t.trial_id for t in run.result.trials]
        raise SettingsError(f"trial {trial} is not in this run; trials: {ids[0]}..{ids[-1]}.")
    if found[0].oof is None:
        raise SettingsError(f"trial {trial} ({found[0].learner}) is {found[0].status}: it has no "
                            f"out-of-fold forecasts.")
    return found[0]


def validation_folds(run) -> list:
    """The rolling-origin folds the search validated on (rebuilt from the settings: they are
    deterministic in the guardrailed dataset, the horizon, the window count and the step)."""
    s = run.settings
    done = run.result.completed
    if not done:
        raise SettingsError("no trial completed in this run: it has no validation folds.")
    n_windows = len(done[0].fold_metrics)
    return rolling_origin(run.dataset, s.horizon, n_windows, s.cv_step_size or s.horizon)


def trial_backtest(run, trial: int | None = None) -> Backtest:
    """The backtest of one trial (default: the best) from its out-of-fold forecasts: metrics
    per cutoff, per horizon step and per series, and interval coverage."""
    if run.settings.task != "forecasting":
        raise SettingsError("trial_backtest is for forecasting runs; tabular runs are shown by "
                            "their out-of-fold predictions (cross_validation).")
    chosen = _trial(run, trial)
    return backtest_of_folds(chosen.oof, validation_folds(run), run.dataset,
                             list(run.settings.quantiles))


def cross_validation(run) -> pd.DataFrame:
    """Every trial's out-of-fold predictions side by side, one column ``trial_<id>`` per trial
    that has them (ensembles included).

    Forecasting: series_id (and the grain columns), time, cutoff (the series' last training
    period of that window), actual, then the point forecasts.  Classification and regression:
    row (position in the training table), fold, actual, then the predicted label or value."""
    trials = [t for t in run.result.trials if t.oof is not None]
    if not trials:
        raise SettingsError("no trial of this run has out-of-fold predictions.")
    if run.settings.task == "forecasting":
        return _forecast_cv(run, trials)
    return _tabular_cv(run, trials)


def _wide(trials, keys: list[str], value_of) -> pd.DataFrame:
    parts = [t.oof[keys + ["actual"]].assign(trial=f"trial_{t.trial_id}", value=value_of(t))
             for t in trials]
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(index=keys, columns="trial", values="value", aggfunc="first",
                            sort=True, observed=True)  # the rows there are, not every combination
    wide = wide[[f"trial_{t.trial_id}" for t in trials if f"trial_{t.trial_id}" in wide]]
    actual = long.drop_duplicates(keys).set_index(keys)["actual"]
    return wide.join(actual).reset_index()


def _forecast_cv(run, trials) -> pd.DataFrame:
    ds = run.dataset
    time = ds.time_column
    frame = _wide(trials, ["fold", SERIES_ID, time], lambda t: t.oof[POINT].to_numpy())
    cutoffs = pd.concat([f.train.frame.groupby(SERIES_ID, observed=True)[time].max()
                         .rename("cutoff").reset_index().assign(fold=f.index)
                         for f in validation_folds(run)])
    frame = frame.merge(cutoffs, on=["fold", SERIES_ID], how="left")
    grains = [c for c in ds.grain_columns if c != SERIES_ID]
    if grains:
        table = ds.schema().series[[SERIES_ID, *grains]]
        frame = frame.merge(table, on=SERIES_ID, how="left")
    trial_columns = [c for c in frame.columns if c.startswith("trial_")]
    columns = [SERIES_ID, *grains, time, "cutoff", "actual", *trial_columns]
    return frame[columns].sort_values([SERIES_ID, "cutoff", time], kind="stable") \
        .reset_index(drop=True)


def _tabular_cv(run, trials) -> pd.DataFrame:
    classes = run.dataset.classes

    def value_of(t):
        if classes is None:
            return t.oof["prediction"].to_numpy()
        proba = t.oof[[f"p{i}" for i in range(len(classes))]].to_numpy()
        return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]

    frame = _wide(trials, ["row", "fold"], value_of)
    trial_columns = [c for c in frame.columns if c.startswith("trial_")]
    return frame[["row", "fold", "actual", *trial_columns]]


def test_leaderboard(run, test_data: pd.DataFrame) -> pd.DataFrame:
    """Every completed trial refitted on the run's data and scored on ``test_data`` with every
    metric of the task, best first by the primary metric on the test data; the validation score
    stands beside it.  Forecasting: ``test_data`` holds the periods right after the training
    data (and the known covariates, when the run used them)."""
    if not isinstance(test_data, pd.DataFrame):
        raise SettingsError(f"test_data must be a pandas DataFrame, got "
                            f"{type(test_data).__name__}.")
    metric = run.settings.primary_metric
    rows = []
    for trial, model, error in run._refit_each():
        row = {"trial": trial.trial_id, "learner": trial.learner,
               f"validation_{metric}": trial.metrics.get(metric, np.nan)}
        if model is None:
            rows.append({**row, "status": "failed", "error": error or "refit failed"})
            continue
        if run.settings.task == "forecasting":
            future = test_data if run.dataset.known_covariates else None
            scores = model.evaluate(test_data, future=future)
        else:
            scores = model.evaluate(test_data)
        rows.append({**row, "status": "completed", metric: scores.get(metric, np.nan),
                     **{k: v for k, v in scores.items() if k != metric}, "error": ""})
    board = pd.DataFrame(rows)
    if board.empty:
        return board
    from tsauto.search.engine import ranking_key

    order = sorted(range(len(board)), key=lambda i: (
        board["status"].iloc[i] != "completed",
        ranking_key(board.iloc[i].to_dict(), metric, int(board["trial"].iloc[i]))))
    return board.iloc[order].reset_index(drop=True)
