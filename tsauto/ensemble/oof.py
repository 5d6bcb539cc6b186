"""The arithmetic of ensembles over out-of-fold predictions, for every task: aligning the
candidates' predictions into one models x rows x columns array, which rows choose weights
together, fast fold scorers over the aligned arrays, and the stacker's blends.

Scorers are built once per ensemble and called thousands of times by the greedy loop: each
fold's scales (e.g. MASE's in-sample errors) are computed up front, only the blend changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT
from tsauto.evaluation.metrics import METRICS, ClassScoring, Scoring
from tsauto.evaluation.splits import Fold


def aligned(oofs: list[pd.DataFrame], keys: list[str], columns: list[str],
            complete_only: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """The candidates' out-of-fold ``columns`` on the rows (``keys``) of the first, as (its keys
    and actuals, models x rows x columns array); with ``complete_only``, only the rows where
    every candidate has every column."""
    base = oofs[0][keys + ["actual"]]
    stack = np.stack([base[keys].merge(oof[keys + columns], on=keys, how="left")[columns]
                      .to_numpy(dtype="float64") for oof in oofs])
    if not complete_only:
        return base, stack
    complete = ~np.isnan(stack).any(axis=(0, 2))
    return base[complete].reset_index(drop=True), stack[:, complete, :]


def weight_groups(fold_ids: np.ndarray, units: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """The group of each row: weights are chosen on some groups and judged on the others.  The
    folds; or, with a single fold, two seeded halves of the ``units`` (series, rows)."""
    if n_folds > 1 or not len(fold_ids):
        return fold_ids
    codes = pd.factorize(units)[0]  # in order of appearance
    return (np.random.default_rng(seed).permutation(codes.max() + 1) % 2)[codes]


def forecast_fold_scorer(keys: pd.DataFrame, actual: np.ndarray, folds: list[Fold], metric: str,
                         season_length: int, target: str, within: np.ndarray | None = None):
    """score(point forecasts) -> the metric averaged over folds, lower is better, on the rows
    in ``within`` (default: all)."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    value = METRICS[metric].value
    fold_ids = keys["fold"].to_numpy()
    parts = []
    for fold in folds:
        rows = fold_ids == fold.index
        if within is not None:
            rows &= within
        if not rows.any():
            continue
        point = pd.DataFrame({POINT: np.zeros(int(rows.sum()))})
        parts.append((rows, Scoring.of(actual[rows], point, keys.loc[rows, SERIES_ID],
                                       fold.train.frame, target, season_length)))

    def scorer(yhat: np.ndarray) -> float:
        return sign * float(np.mean([value(s.with_forecast(yhat[rows])) for rows, s in parts]))

    return scorer


def tabular_row_metric(metric: str, actual: np.ndarray, classes):
    """metric(rows, predictions): the registry's array form straight on the arrays, without
    the input checks of the tabular scorers; None for nrmse and nmae, which need each fold's
    training target."""
    # Imported here: it brings scikit-learn, which a forecasting trial's worker (it imports
    # this module with its task) does not need.
    from tsauto.evaluation.tabular import regression_scoring

    if metric in ("nrmse", "nmae"):
        return None
    value = METRICS[metric].value
    if classes is None:
        y = actual.astype("float64")
        return lambda rows, p: value(regression_scoring(y[rows], p[:, 0]))
    codes = pd.Categorical(actual, categories=list(classes)).codes
    return lambda rows, p: value(ClassScoring(codes[rows], p))


def stacked_forecast(coef: np.ndarray, stack: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """The stacker's rows x columns blend (point first, then quantiles) whose point is the
    cross-fitted ``meta``: the quantiles move with the point."""
    blend = np.tensordot(coef, stack, axes=1)
    blend[:, 1:] += (meta - blend[:, 0])[:, None]
    blend[:, 0] = meta
    return blend


def as_probabilities(meta: np.ndarray) -> np.ndarray:
    """A stacker's rows x classes predictions made probabilities: clipped at 0, each row
    renormalised to sum to 1 (an all-zero row stays 0)."""
    meta = np.clip(meta, 0, None)
    return meta / np.where(meta.sum(axis=1, keepdims=True) > 0,
                           meta.sum(axis=1, keepdims=True), 1.0)
