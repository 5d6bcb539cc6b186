"""Forecast accuracy metrics, vectorised over series, each knowing its direction.

Scoring follows the forecasting competitions: MASE scales each series' mean absolute error by
the in-sample mean absolute seasonal-naive error of that series' training part (season 1 when
the series is too short for its season; for zero-scale series see ``naive_scale``), and is
averaged over series; sMAPE is
200 * mean(|y - yhat| / (|y| + |yhat|)).  ``evaluate`` computes every metric at once.

The registry also holds the classification metrics; each metric lists the tasks it scores
(``metrics_for(task)``).  Each metric carries its one implementation, on arrays (``value``,
and ``per_series`` where a backtest reports it): forecasting and regression metrics read a
``Scoring``, classification metrics a ``ClassScoring``.  ``evaluate`` (forecasting) and
``evaluation/tabular.py`` (input checks for the tabular tasks) score through them, and so do the
greedy ensemble loops, which build a ``Scoring`` once per fold and swap only the forecasts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT, central_intervals, interval_level, quantile_column
from tsauto.errors import DataError, SettingsError


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    description: str
    optimisable: bool = True  # can be a primary metric
    tasks: tuple[str, ...] = ("forecasting",)
    # The array forms: the metric over all rows (of a ``Scoring`` for forecasting and
    # regression, a ``ClassScoring`` for classification), and per series.
    value: Callable | None = None
    per_series: Callable[[Scoring], np.ndarray] | None = None


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
    Metric("coverage", True, "share of actuals inside the outer quantiles; each central "
           "interval (q, 1 - q) also gets coverage_<level>, e.g. coverage_80", optimisable=False),
    Metric("width", False, "width of the outer interval in units of the series' MASE scale, "
           "mean over series", optimisable=False),
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


def point_metric(metric: str) -> str:
    """The metric that scores point forecasts alone in place of ``metric``: itself, or MASE
    for a metric of quantiles (the ensembles choose weights on the point forecast, and the
    same weights blend every quantile)."""
    return "mase" if metric in QUANTILE_METRICS else metric


def naive_scale(train: pd.DataFrame, target: str, season_length: int) -> pd.Series:
    """Per-series scale of MASE: the mean absolute seasonal difference of the training target
    (season 1 for series no longer than their season).

    Where that is zero (a constant or exactly periodic training part) or undefined (one
    point), the scale falls back, in order, to the mean absolute one-step difference, then to
    the mean absolute level of the training part: the error of a constant series is then read
    as a share of its level, still free of units.  A training part that is all zeros has no
    scale at all (NaN): MASE leaves that series out."""
    y = train[target].to_numpy(dtype="float64")
    series = train[SERIES_ID].to_numpy()
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


@dataclass(frozen=True)
class Scoring:
    """What the forecasting metrics read, as aligned arrays: actuals ``y``, point forecasts
    ``yhat``, each row's series ``codes`` (0..n_series-1), each row's MASE ``scale``, each
    series' training ``spread`` (max - min, NaN where 0) and the quantile forecasts ``bands``
    (rows x quantiles).  Built once per fold; the greedy ensemble loop swaps only ``yhat``."""
    y: np.ndarray
    yhat: np.ndarray
    codes: np.ndarray
    n_series: int
    scale: np.ndarray
    spread: np.ndarray
    quantiles: tuple = ()
    bands: np.ndarray | None = None
    ids: np.ndarray | None = None  # the series id of each code, sorted

    @classmethod
    def of(cls, actual, forecast: pd.DataFrame, series, train: pd.DataFrame, target: str,
           season_length: int, quantiles=()) -> Scoring:
        """Aligned actuals and forecasts (``forecast`` holds ``forecast`` and the quantile
        columns) of ``series``; ``train`` (long frame with series_id and target) gives the
        scales."""
        codes, ids = pd.factorize(np.asarray(series), sort=True)
        scale = naive_scale(train, target, season_length).reindex(ids).to_numpy()
        grouped = train.groupby(SERIES_ID, observed=True)[target]
        spread = (grouped.max() - grouped.min()).replace(0, np.nan).reindex(ids).to_numpy()
        quantiles = tuple(quantiles)
        bands = (forecast[[quantile_column(q) for q in quantiles]].to_numpy(dtype="float64")
                 if quantiles else None)
        return cls(np.asarray(actual, dtype="float64"), forecast[POINT].to_numpy(dtype="float64"),
                   codes, len(ids), scale[codes], spread, quantiles, bands, np.asarray(ids))

    def with_forecast(self, yhat: np.ndarray) -> Scoring:
        return replace(self, yhat=yhat)

    def with_scale(self, scale: np.ndarray) -> Scoring:
        """Each row scaled by its own MASE scale (a backtest step mixes cutoffs)."""
        return replace(self, scale=np.asarray(scale, dtype="float64"))


def _series_mean(s: Scoring, values: np.ndarray) -> np.ndarray:
    """Mean of ``values`` per series, NaN rows left out (NaN for a series without any)."""
    ok = ~np.isnan(values)
    total = np.bincount(s.codes[ok], values[ok], minlength=s.n_series)
    count = np.bincount(s.codes[ok], minlength=s.n_series)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _mean(values: np.ndarray) -> float:
    """Mean over the non-NaN values (NaN when there is none)."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else np.nan


def _bands(s: Scoring) -> np.ndarray:
    if s.bands is None:
        raise DataError("this metric scores quantile forecasts, and none were given; use a "
                        "point metric (mase, smape, mae, rmse...) or give quantiles.")
    return s.bands


def _abs_error(s: Scoring) -> np.ndarray:
    return np.abs(s.y - s.yhat)


def _smape_terms(s: Scoring) -> np.ndarray:
    denom = np.abs(s.y) + np.abs(s.yhat)
    return np.where(denom == 0, 0.0, 200.0 * _abs_error(s) / np.where(denom == 0, 1, denom))


def _mase_per_series(s: Scoring) -> np.ndarray:
    ratio = _abs_error(s) / s.scale
    return _series_mean(s, np.where(np.isfinite(ratio), ratio, np.nan))


def _rmse_per_series(s: Scoring) -> np.ndarray:
    return np.sqrt(_series_mean(s, (s.y - s.yhat) ** 2))


def _mape(s: Scoring) -> float:
    nonzero = s.y != 0
    return float(100 * np.mean(_abs_error(s)[nonzero] / np.abs(s.y[nonzero]))) \
        if nonzero.any() else np.nan


def _wape(s: Scoring) -> float:
    total = np.abs(s.y).sum()
    return float(100 * _abs_error(s).sum() / total) if total else np.nan


def _r2(s: Scoring) -> float:
    if np.ptp(s.y) == 0:
        return np.nan
    return float(1 - np.sum((s.y - s.yhat) ** 2) / np.sum((s.y - s.y.mean()) ** 2))


def _spearman(y: np.ndarray, yhat: np.ndarray) -> float:
    if np.ptp(y) == 0 or np.ptp(yhat) == 0:
        return np.nan
    ranks = pd.DataFrame({"y": y, "yhat": yhat}).rank()
    return float(np.corrcoef(ranks["y"], ranks["yhat"])[0, 1])


def _pinball_losses(s: Scoring) -> np.ndarray:
    """Mean pinball loss of each quantile's forecasts."""
    diff = s.y[:, None] - _bands(s)
    q = np.asarray(s.quantiles, dtype="float64")[None, :]
    return np.mean(np.maximum(q * diff, (q - 1) * diff), axis=0)


def _wql(s: Scoring) -> float:
    total = np.abs(s.y).sum()
    losses = _pinball_losses(s)
    return float(2 * np.sum(losses) * len(s.y) / total / len(s.quantiles)) if total else np.nan


def _inside(s: Scoring, low: float | None = None, high: float | None = None) -> np.ndarray:
    """1.0 where the actual lies within the quantiles ``low`` and ``high`` (default: the
    outer ones), else 0.0."""
    bands = _bands(s)
    qs = np.asarray(s.quantiles, dtype="float64")
    i = int(np.argmin(qs) if low is None else np.argmin(np.abs(qs - low)))
    j = int(np.argmax(qs) if high is None else np.argmin(np.abs(qs - high)))
    return ((s.y >= bands[:, i]) & (s.y <= bands[:, j])).astype("float64")


def _width_per_series(s: Scoring) -> np.ndarray:
    """Mean width of the outer interval per series, in units of the series' MASE scale."""
    qs = np.asarray(s.quantiles, dtype="float64")
    width = (_bands(s)[:, int(np.argmax(qs))] - _bands(s)[:, int(np.argmin(qs))]) / s.scale
    return _series_mean(s, np.where(np.isfinite(width), width, np.nan))


def level_coverage(s: Scoring) -> dict[str, float]:
    """``coverage_<level>``: the share of actuals inside each central interval (q, 1 - q) of
    the quantiles, e.g. coverage_80 for q0.1-q0.9."""
    return {f"coverage_{interval_level(low, high)}": float(_inside(s, low, high).mean())
            for low, high in central_intervals(s.quantiles)}


# Each forecasting metric's array form: value (all rows) and, where a backtest reports it per
# series, the per-series form.  The only implementation trials, ensembles, backtests and
# ``model.evaluate`` use.
_FORMS = {
    "mase": (lambda s: _mean(_mase_per_series(s)), _mase_per_series),
    "smape": (lambda s: float(_smape_terms(s).mean()), lambda s: _series_mean(s, _smape_terms(s))),
    "mape": (_mape, None),
    "wape": (_wape, None),
    "rmse": (lambda s: float(np.sqrt(np.mean((s.y - s.yhat) ** 2))), _rmse_per_series),
    "mae": (lambda s: float(_abs_error(s).mean()), lambda s: _series_mean(s, _abs_error(s))),
    "nrmse": (lambda s: _mean(_rmse_per_series(s) / s.spread), None),
    "nmae": (lambda s: _mean(_series_mean(s, _abs_error(s)) / s.spread), None),
    "r2": (_r2, None),
    "spearman": (lambda s: _spearman(s.y, s.yhat), None),
    "pinball": (lambda s: float(np.mean(_pinball_losses(s))), None),
    "wql": (_wql, None),
    "coverage": (lambda s: float(_inside(s).mean()), lambda s: _series_mean(s, _inside(s))),
    "width": (lambda s: _mean(_width_per_series(s)), _width_per_series),
}
QUANTILE_METRICS = ("pinball", "wql", "coverage", "width")


@dataclass(frozen=True)
class ClassScoring:
    """What the classification metrics read: each row's true class position ``codes`` and
    the predicted probabilities ``proba`` (rows x classes); the prediction is the most
    probable class."""
    codes: np.ndarray
    proba: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        return self.proba.argmax(axis=1)


# Probabilities are clipped away from 0 and 1 so that one confident mistake gives a large but
# finite log loss.
_EPS = 1e-15


def _log_loss(c: ClassScoring) -> float:
    clipped = np.clip(c.proba, _EPS, 1 - _EPS)
    clipped /= clipped.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(clipped[np.arange(len(c.codes)), c.codes])))


def _balanced_accuracy(c: ClassScoring) -> float:
    """Mean recall over the classes present in the true labels."""
    n = c.proba.shape[1]
    support = np.bincount(c.codes, minlength=n)
    hits = np.bincount(c.codes, c.predicted == c.codes, minlength=n)
    return float(np.mean((hits / np.maximum(support, 1))[support > 0]))


def _ranking_score(score, c: ClassScoring) -> float:
    """A one-vs-rest ranking score (ROC AUC, average precision) weighted by class support over
    the classes present; binary tasks score the positive (second) class alone."""
    codes, p = c.codes, c.proba
    present = np.flatnonzero(np.bincount(codes, minlength=p.shape[1]))
    if len(present) < 2:
        return np.nan
    if p.shape[1] == 2:
        return float(score(codes == 1, p[:, 1]))
    onehot = codes[:, None] == present[None, :]
    return float(score(onehot, p[:, present], average="weighted"))


def _averaged(name: str):
    """F1, precision or recall, averaged as ``name`` says (e.g. 'f1_macro')."""
    kind, average = name.split("_")

    def value(c: ClassScoring) -> float:
        from sklearn import metrics as skm

        score = {"f1": skm.f1_score, "precision": skm.precision_score,
                 "recall": skm.recall_score}[kind]
        # Labels never predicted, or absent from a fold, make sklearn warn about ill-defined
        # precision/recall; zero_division=0 already decides those cases.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(score(c.codes, c.predicted, average=average, zero_division=0))
    return value


def _ranking(name: str):
    def value(c: ClassScoring) -> float:
        from sklearn import metrics as skm

        return _ranking_score({"auc_weighted": skm.roc_auc_score,
                               "average_precision": skm.average_precision_score}[name], c)
    return value


_CLASS_FORMS = {
    "accuracy": lambda c: float(np.mean(c.predicted == c.codes)),
    "balanced_accuracy": _balanced_accuracy,
    "log_loss": _log_loss,
    **{name: _ranking(name) for name in ("auc_weighted", "average_precision")},
    **{name: _averaged(name) for name in ("f1_macro", "f1_weighted", "precision_macro",
                                          "recall_macro", "precision_weighted",
                                          "recall_weighted")},
}
for _name, (_value, _per_series) in _FORMS.items():
    METRICS[_name] = replace(METRICS[_name], value=_value, per_series=_per_series)
for _name, _value in _CLASS_FORMS.items():
    METRICS[_name] = replace(METRICS[_name], value=_value)


def evaluate(actual: np.ndarray, forecast: pd.DataFrame, series: np.ndarray, train: pd.DataFrame,
             target: str, season_length: int, quantiles=()) -> dict[str, float]:
    """Every metric for aligned actuals and forecasts (``forecast`` holds ``forecast`` and the
    quantile columns); ``train`` (long frame with series_id and target) gives the scales."""
    return score(Scoring.of(actual, forecast, series, train, target, season_length, quantiles))


def score(s: Scoring) -> dict[str, float]:
    """Every forecasting metric of ``s`` (the quantile ones only where it has quantiles)."""
    scores = {name: METRICS[name].value(s) for name in _FORMS
              if s.quantiles or name not in QUANTILE_METRICS}
    return {**scores, **level_coverage(s)} if s.quantiles else scores
