"""Matplotlib figures of forecasts, backtests, leaderboards and tabular validation results.

Every function takes data objects that already hold the numbers (a ``Backtest``, a leaderboard
frame, the curves of ``evaluation.tabular.classification_curves``) and returns a
``matplotlib.figure.Figure``; nothing here computes a metric.  Figures are built with the
object API on the Agg canvas, so they work without a display and never touch pyplot's state
(a notebook shows a returned figure as it shows any other).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.errors import DataError, preview

_ACTUAL, _FORECAST, _BAND = "#222222", "#1f77b4", "#1f77b4"


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _grid(n: int, width: float = 11.0, row_height: float = 2.6, columns: int = 2):
    columns = min(columns, max(n, 1))
    rows = int(np.ceil(max(n, 1) / columns))
    figure = _figure(width, row_height * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure, axes[:n]


def _bands(ax, times, frame: pd.DataFrame, quantiles, label: bool = True) -> None:
    """Central intervals of the quantiles, widest palest."""
    qs = sorted(quantiles)
    pairs = [(lo, hi) for lo, hi in zip(qs, qs[::-1]) if lo < hi]
    for i, (lo, hi) in enumerate(pairs):
        ax.fill_between(times, frame[quantile_column(lo)], frame[quantile_column(hi)],
                        color=_BAND, alpha=0.12 + 0.1 * i, linewidth=0,
                        label=f"{quantile_column(lo)}–{quantile_column(hi)}" if label else None)


def pick_series(wanted, known, n: int) -> list[str]:
    """The series ids asked for (each must exist), or the first ``n``."""
    known = [str(k) for k in known]
    if wanted is None:
        return known[:n]
    wanted = [str(s) for s in ([wanted] if isinstance(wanted, (str, int)) else wanted)]
    missing = [s for s in wanted if s not in set(known)]
    if missing:
        raise DataError(f"plot: unknown series {preview(missing)}; known: {preview(known)}.")
    return wanted


def forecast_figure(history: pd.DataFrame, forecast: pd.DataFrame, time_column: str,
                    target: str, quantiles, series: list[str], last: int | None) -> Figure:
    """History (its ``last`` periods) and the forecast with quantile bands, one panel a series."""
    figure, axes = _grid(len(series))
    hist = history.groupby(SERIES_ID, sort=False, observed=True)
    fc = forecast.groupby(SERIES_ID, observed=True)
    for ax, sid in zip(axes, series):
        past = hist.get_group(sid) if sid in hist.groups else history.iloc[:0]
        if last:
            past = past.tail(last)
        ax.plot(past[time_column], past[target], color=_ACTUAL, linewidth=1, label="actual")
        if sid in fc.groups:
            rows = fc.get_group(sid)
            _bands(ax, rows[time_column], rows, quantiles)
            ax.plot(rows[time_column], rows[POINT], color=_FORECAST, linewidth=1.4,
                    label="forecast")
        ax.set_title(str(sid), fontsize=9)
        ax.tick_params(labelsize=7)
    if len(series):
        axes[0].legend(fontsize=7, loc="upper left")
    return figure


def series_to_show(by_series: pd.DataFrame, n: int, seed: int = 0) -> dict[str, list[str]]:
    """The best and worst ``n // 2`` series by MASE (else MAE) and a seeded random few."""
    metric = "mase" if "mase" in by_series and by_series["mase"].notna().any() else "mae"
    ranked = by_series.dropna(subset=[metric]).sort_values(metric, kind="stable")
    ids = ranked[SERIES_ID].tolist()
    k = max(n // 2, 1)
    best, worst = ids[:k], [s for s in ids[::-1][:k] if s not in ids[:k]]
    rest = [s for s in ids if s not in best and s not in worst]
    picked = np.random.default_rng(seed).choice(len(rest), min(k, len(rest)), replace=False) \
        if rest else []
    return {"best": best, "worst": worst, "random": [rest[i] for i in sorted(picked)]}


def backtest_series_figure(bt, series=None, n_series: int = 4, history: int | None = None,
                           title: str | None = None) -> Figure:
    """Actuals against the forecast at every cutoff (quantile bands, cutoffs dashed)."""
    frame = bt.forecasts
    known = frame[SERIES_ID].unique()
    if series is None:
        chosen = series_to_show(bt.by_series, n_series)
        series = list(dict.fromkeys(chosen["worst"] + chosen["best"]))[:n_series]
    else:
        series = pick_series(series, known, n_series)
    figure, axes = _grid(len(series))
    time_col = bt.time_column
    groups = frame.groupby(SERIES_ID, observed=True)
    past = None if bt.history is None else bt.history.groupby(SERIES_ID, observed=True)
    span = history if history is not None else 4 * max(int(frame["step"].max()), 1) \
        if "step" in frame else None
    for ax, sid in zip(axes, series):
        rows = groups.get_group(sid).sort_values(["cutoff", time_col])
        if past is not None and sid in past.groups:
            actual = past.get_group(sid)
            start = rows["cutoff"].min()
            before = actual[actual[time_col] <= start].tail(span or len(actual))
            actual = pd.concat([before, actual[actual[time_col] > start]])
            ax.plot(actual[time_col], actual[bt.history.columns[2]], color=_ACTUAL, linewidth=1,
                    label="actual")
        else:
            ax.plot(rows[time_col], rows["actual"], ".", color=_ACTUAL, label="actual")
        for i, (cutoff, part) in enumerate(rows.groupby("cutoff", sort=True)):
            _bands(ax, part[time_col], part, bt.quantiles, label=i == 0)
            ax.plot(part[time_col], part[POINT], color=_FORECAST, linewidth=1.4,
                    label="forecast" if i == 0 else None)
            ax.axvline(cutoff, color="#999999", linestyle="--", linewidth=0.7)
        ax.set_title(str(sid), fontsize=9)
        ax.tick_params(labelsize=7)
    if series:
        axes[0].legend(fontsize=7, loc="upper left")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def error_by_step_figure(by_step: pd.DataFrame, metrics=("mase", "smape")) -> Figure:
    """Each metric against the horizon step."""
    metrics = [m for m in metrics if m in by_step and by_step[m].notna().any()]
    figure, axes = _grid(len(metrics), width=9, row_height=2.8, columns=len(metrics) or 1)
    for ax, metric in zip(axes, metrics):
        ax.plot(by_step["step"], by_step[metric], marker="o", color=_FORECAST)
        ax.set_xlabel("horizon step", fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.set_title(f"{metric} by horizon step", fontsize=9)
        ax.tick_params(labelsize=7)
    return figure


def mase_distribution_figure(by_series: pd.DataFrame) -> Figure:
    """Histogram of per-series MASE; 1 is the in-sample seasonal-naive error."""
    figure = _figure(6, 3)
    ax = figure.subplots()
    values = by_series["mase"].replace([np.inf, -np.inf], np.nan).dropna() \
        if "mase" in by_series else pd.Series(dtype=float)
    if len(values):
        ax.hist(values, bins=min(40, max(5, len(values) // 5)), color=_FORECAST, alpha=0.8)
        ax.axvline(1.0, color="#d62728", linestyle="--", linewidth=1,
                   label="in-sample seasonal-naive error (MASE = 1)")
        ax.legend(fontsize=7)
    ax.set_xlabel("MASE per series", fontsize=8)
    ax.set_ylabel("series", fontsize=8)
    ax.set_title(f"Per-series MASE ({len(values)} series; "
                 f"{int((values < 1).sum())} below 1)", fontsize=9)
    ax.tick_params(labelsize=7)
    return figure


def coverage_figure(coverage: pd.DataFrame) -> Figure:
    """Observed against nominal coverage of each central interval; the diagonal is perfect."""
    figure = _figure(4.2, 3.6)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8, label="nominal")
    if len(coverage):
        ax.plot(coverage["nominal"], coverage["observed"], marker="o", color=_FORECAST,
                label="observed")
        for _, row in coverage.iterrows():
            ax.annotate(row["interval"], (row["nominal"], row["observed"]), fontsize=6,
                        xytext=(3, -8), textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal coverage", fontsize=8)
    ax.set_ylabel("observed coverage", fontsize=8)
    ax.set_title("Interval coverage", fontsize=9)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    return figure


def leaderboard_figure(board: pd.DataFrame, metric: str, top: int = 20) -> Figure:
    """The primary metric of the best ``top`` completed trials, with each fold's value."""
    done = board[board["status"] == "completed"].dropna(subset=[metric]).head(top)
    figure = _figure(8, 0.8 + 0.28 * max(len(done), 1))
    ax = figure.subplots()
    labels = [f"{r.trial}: {r.learner}" for r in done.itertuples()]
    y = np.arange(len(done))[::-1]
    ax.barh(y, done[metric], color=_FORECAST, alpha=0.75)
    folds = [c for c in done.columns if c.startswith(f"{metric}_fold")]
    for c in folds:
        ax.plot(done[c], y, "|", color=_ACTUAL, markersize=9)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(metric + (" (bars: mean; ticks: folds)" if folds else ""), fontsize=8)
    ax.set_title("Leaderboard", fontsize=9)
    ax.tick_params(labelsize=7)
    return figure


def classification_figure(curves: dict) -> Figure:
    """The confusion matrix, then ROC and precision-recall curves (one-vs-rest per class)."""
    matrix = curves["confusion"]
    n = len(matrix)
    figure = _figure(13, max(3.8, min(0.35 * n + 2, 8)))
    cm_ax, roc_ax, pr_ax = figure.subplots(1, 3)
    values = matrix.to_numpy()
    cm_ax.imshow(values, cmap="Blues")
    labels = [str(c) for c in matrix.columns]
    cm_ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=7)
    cm_ax.set_yticks(range(n), labels, fontsize=7)
    if n <= 30:
        top = values.max() or 1
        for (i, j), v in np.ndenumerate(values):
            cm_ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                       color="white" if v > top / 2 else "black")
    cm_ax.set_xlabel("predicted", fontsize=8)
    cm_ax.set_ylabel("true", fontsize=8)
    cm_ax.set_title("Confusion matrix", fontsize=9)
    for name, (fpr, tpr, area) in list(curves["roc"].items())[:10]:
        roc_ax.plot(fpr, tpr, linewidth=1.2, label=f"{name} (AUC {area:.3f})")
    roc_ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8)
    for name, (recall, precision, ap) in list(curves["pr"].items())[:10]:
        pr_ax.plot(recall, precision, linewidth=1.2, label=f"{name} (AP {ap:.3f})")
    for ax, (x, y, title) in zip((roc_ax, pr_ax), (("false positive rate", "true positive rate",
                                                     "ROC"),
                                                    ("recall", "precision", "Precision-recall"))):
        ax.set_xlabel(x, fontsize=8)
        ax.set_ylabel(y, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6)
    for ax in (cm_ax, roc_ax, pr_ax):
        ax.tick_params(labelsize=7)
    return figure


def residual_figure(actual: np.ndarray, predicted: np.ndarray) -> Figure:
    """Predicted against actual, and residuals against predicted."""
    figure = _figure(9, 3.8)
    fit_ax, res_ax = figure.subplots(1, 2)
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    low = np.nanmin([actual.min(), predicted.min()])
    high = np.nanmax([actual.max(), predicted.max()])
    fit_ax.scatter(actual, predicted, s=6, alpha=0.5, color=_FORECAST)
    fit_ax.plot([low, high], [low, high], color="#999999", linestyle="--", linewidth=0.8)
    fit_ax.set_xlabel("actual", fontsize=8)
    fit_ax.set_ylabel("predicted", fontsize=8)
    fit_ax.set_title("Predicted vs actual", fontsize=9)
    res_ax.scatter(predicted, actual - predicted, s=6, alpha=0.5, color=_FORECAST)
    res_ax.axhline(0, color="#999999", linestyle="--", linewidth=0.8)
    res_ax.set_xlabel("predicted", fontsize=8)
    res_ax.set_ylabel("residual (actual − predicted)", fontsize=8)
    res_ax.set_title("Residuals", fontsize=9)
    for ax in (fit_ax, res_ax):
        ax.tick_params(labelsize=7)
    return figure


def importance_figure(importance: pd.Series, top: int = 20, title: str = "Feature importance"
                      ) -> Figure:
    shown = importance.head(top)[::-1]
    figure = _figure(7, 0.8 + 0.25 * max(len(shown), 1))
    ax = figure.subplots()
    ax.barh(range(len(shown)), shown.to_numpy(), color=_FORECAST, alpha=0.8)
    ax.set_yticks(range(len(shown)), [str(i) for i in shown.index], fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return figure


def tabular_figure(actual, scores: np.ndarray, classes) -> Figure:
    """Classification (``scores``: probabilities, one column per class): the confusion matrix
    and ROC / precision-recall curves; regression (``scores``: predictions): residual plots."""
    if classes is None:
        return residual_figure(actual, np.asarray(scores, dtype="float64").ravel())
    from tsauto.evaluation.tabular import classification_curves

    return classification_figure(classification_curves(actual, scores, classes))
