"""Forecast accuracy metrics, vectorised over series, each knowing its direction.

Scoring follows the forecasting competitions: MASE scales each series' mean absolute error by
the in-sample mean absolute seasonal-naive error of that series' training part (season 1 when
the series is too short for its season; for zero-scale series see ``naive_scale``), and is
averaged over series; sMAPE is
200 * mean(|y - yhat| / (|y| + |yhat|)).  ``evaluate`` computes every metric at once.

The registry also holds the classification metrics; each metric lists the tasks it scores
(``metrics_for(task)``), and ``evaluation/tabular.py`` computes the tabular ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.errors import SettingsError


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    description: str
    optimisable: bool = True  # can be a primary metric
    tasks: tuple[str, ...] = ("forecasting",)


_FR = ("forecasting", "regression")
_CL = ("classification",)
TASKS = ("forecasting", "classification", "regression")

METRICS = {m.name: m for m in [
    Metric("mase", False, "mean absolute scaled error (seasonal-naive scale), mean over series"),
    Metric("smape", False, "symmetric MAPE in percent, 200 * mean(|e| / (|y| + |yhat|))"),
    Metric("mape", False, "mean absolute percentage error (points with y = 0 left out)",
           tasks=_FR),
    Metric("wape", False, "weighted APE: sum |e| / sum |y|, in percent"),
    Metric("rmse", False, "root mean squared error", tasks=_FR),
    Metric("mae", False, "mean absolute error", tasks=_FR),
    Metric("nrmse", False, "RMSE / range of the series' training target, mean over series "
           "(regression: of the whole training target)", tasks=_FR),
    Metric("nmae", False, "MAE / range of the series' training target, mean over series "
           "(regression: of the whole training target)", tasks=_FR),
    Metric("r2", True, "coefficient of determination over all points", tasks=_FR),
    Metric("spearman", True, "Spearman rank correlation of forecasts and actuals", tasks=_FR),
    Metric("pinball", False, "pinball loss averaged over the forecast quantiles"),
    Metric("wql", False, "weighted quantile loss: 2 * sum pinball / sum |y|"),
    Metric("coverage", True, "share of actuals inside the outer quantiles", optimisable=False),
    Metric("accuracy", True, "share of rows whose most probable class is right", tasks=_CL),
    Metric("balanced_accuracy", True, "mean recall over classes", tasks=_CL),
    Metric("auc_weighted", True, "ROC AUC, one-vs-rest weighted by class support (binary: AUC of "
           "the positive class)", tasks=_CL),
    Metric("log_loss", False, "cross-entropy of the predicted class probabilities", tasks=_CL),
    Metric("f1_macro", True, "F1 score, unweighted mean over classes", tasks=_CL),
    Metric("f1_weighted", True, "F1 score, mean over classes weighted by support", tasks=_CL),
    Metric("precision_macro", True, "precision, unweighted mean over classes", tasks=_CL),
    Metric("recall_macro", True, "recall, unweighted mean over classes", tasks=_CL),
    Metric("precision_weighted", True, "precision, mean over classes weighted by support",
           tasks=_CL),
    Metric("recall_weighted", True, "recall, mean over classes weighted by support", tasks=_CL),
    Metric("average_precision", True, "area under the precision-recall curve, weighted over "
           "classes (binary: of the positive class)", tasks=_CL),
]}


def metrics_for(task: str) -> list[str]:
    """Names of the metrics that score ``task`` ('forecasting', 'classification' or
    'regression'), in registry order."""
    if task not in TASKS:
        raise SettingsError(f"task={task!r} is not valid; use one of {', '.join(TASKS)}.")
    return [name for name, m in METRICS.items() if task in m.tasks]


def is_better(metric: str, a: float, b: float) -> bool:
    """Whether score ``a`` beats score ``b`` on ``metric`` (NaN never wins)."""
    if np.isnan(a):
        return False
    if np.isnan(b):
        return True
    return a > b if METRICS[metric].greater_is_better else a < b


def fallback_metric(metric: str) -> str | None:
    """The metric that ranks trials when ``metric`` is undefined (NaN) for every one of them:
    MAE for forecasting and regression (the numerator of MASE, defined whenever there are
    forecasts), accuracy for classification; None when ``metric`` is that metric already."""
    other = "accuracy" if METRICS[metric].tasks == _CL else "mae"
    return None if other == metric else other


def naive_scale(train: pd.DataFrame, target: str, season_length: int) -> pd.Series:
    """Per-series scale of MASE: the mean absolute seasonal difference of the training target
    (season 1 for series no longer than their season).

    Where that is zero (a constant or exactly periodic training part) or undefined (one
    point), the scale falls back, in order, to the mean absolute one-step difference, then to
    the mean absolute level of the training part: the error of a constant series is then read
    as a share of its level, still free of units.  A training part that is all zeros has no
    scale at all (NaN): MASE leaves that series out."""
    y = train[target].to_numpy(dtype="float64")
    series = train[SERIES_ID].astype(str).to_numpy()
    codes, ids = pd.factorize(series)
    lengths = np.bincount(codes, minlength=len(ids))
    out = {}
    for m in {max(season_length, 1), 1}:
        same = np.zeros(len(y), dtype=bool)
        same[m:] = codes[m:] == codes[:-m]
        diff = np.zeros(len(y))
        diff[m:] = np.abs(y[m:] - y[:-m])
        out[m] = pd.Series(diff[same]).groupby(codes[same]).mean().reindex(range(len(ids)))
    level = pd.Series(np.abs(y)).groupby(codes).mean().reindex(range(len(ids)))
    scale = out[max(season_length, 1)].where(pd.Series(lengths > season_length), out[1])
    for fallback in (out[1], level):
        scale = scale.where(scale > 0, fallback)  # NaN compares False: falls back too
    return pd.Series(scale.where(scale > 0).to_numpy(), index=ids)


def _per_series_mean(values: np.ndarray, series: np.ndarray) -> pd.Series:
    return pd.Series(values).groupby(series).mean()


def mase(y, yhat, series, scale: pd.Series) -> float:
    """Mean over series of MAE / ``naive_scale`` (series without a scale left out)."""
    err = _per_series_mean(np.abs(np.asarray(y) - np.asarray(yhat)), np.asarray(series).astype(str))
    ratio = (err / scale.reindex(err.index)).replace([np.inf, -np.inf], np.nan).dropna()
    return float(ratio.mean())


def smape(y, yhat) -> float:
    y, yhat = np.asarray(y, dtype="float64"), np.asarray(yhat, dtype="float64")
    denom = np.abs(y) + np.abs(yhat)
    terms = np.where(denom == 0, 0.0, np.abs(y - yhat) / np.where(denom == 0, 1, denom))
    return float(200.0 * terms.mean())


def pinball(y, quantile_forecast, q: float) -> float:
    """Mean pinball (quantile) loss of one quantile's forecasts."""
    diff = np.asarray(y, dtype="float64") - np.asarray(quantile_forecast, dtype="float64")
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def mean_pinball(y, forecasts: pd.DataFrame, quantiles) -> float:
    """Pinball loss averaged over quantiles; ``forecasts`` has one column per quantile."""
    return float(np.mean([pinball(y, forecasts[quantile_column(q)], q) for q in quantiles]))


def _spearman(y: np.ndarray, yhat: np.ndarray) -> float:
    if np.ptp(y) == 0 or np.ptp(yhat) == 0:
        return np.nan
    ranks = pd.DataFrame({"y": y, "yhat": yhat}).rank()
    return float(np.corrcoef(ranks["y"], ranks["yhat"])[0, 1])


def evaluate(actual: np.ndarray, forecast: pd.DataFrame, series: np.ndarray, train: pd.DataFrame,
             target: str, season_length: int, quantiles=()) -> dict[str, float]:
    """Every metric for aligned actuals and forecasts (``forecast`` holds ``forecast`` and the
    quantile columns); ``train`` (long frame with series_id and target) gives the scales."""
    y = np.asarray(actual, dtype="float64")
    yhat = forecast[POINT].to_numpy(dtype="float64")
    series = np.asarray(series).astype(str)
    err = y - yhat
    abs_err = np.abs(err)
    scale = naive_scale(train, target, season_length)
    grouped = train.groupby(train[SERIES_ID].astype(str), observed=True)[target]
    spread = (grouped.max() - grouped.min()).replace(0, np.nan)
    per_rmse = np.sqrt(_per_series_mean(err**2, series))
    per_mae = _per_series_mean(abs_err, series)
    nonzero = y != 0
    total = np.abs(y).sum()
    out = {
        "mase": mase(y, yhat, series, scale),
        "smape": smape(y, yhat),
        "mape": float(100 * np.mean(abs_err[nonzero] / np.abs(y[nonzero]))) if nonzero.any() else np.nan,
        "wape": float(100 * abs_err.sum() / total) if total else np.nan,
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(abs_err.mean()),
        "nrmse": float((per_rmse / spread.reindex(per_rmse.index)).mean()),
        "nmae": float((per_mae / spread.reindex(per_mae.index)).mean()),
        "r2": float(1 - np.sum(err**2) / np.sum((y - y.mean()) ** 2)) if np.ptp(y) > 0 else np.nan,
        "spearman": _spearman(y, yhat),
    }
    if quantiles:
        losses = [pinball(y, forecast[quantile_column(q)], q) for q in quantiles]
        out["pinball"] = float(np.mean(losses))
        out["wql"] = float(2 * np.sum(losses) * len(y) / total / len(quantiles)) if total else np.nan
        low = forecast[quantile_column(min(quantiles))].to_numpy()
        high = forecast[quantile_column(max(quantiles))].to_numpy()
        out["coverage"] = float(np.mean((y >= low) & (y <= high)))
    return out
