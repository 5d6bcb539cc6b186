"""Forecast accuracy metrics, vectorised over series.

Scoring follows the forecasting competitions: MASE scales each series' mean absolute error by
the in-sample mean absolute seasonal-naive error of that series' training part (season 1 when
the series is too short for its season), and is averaged over series; sMAPE is
200 * mean(|y - yhat| / (|y| + |yhat|)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.learners.base import quantile_column


def naive_scale(train: pd.DataFrame, target: str, season_length: int) -> pd.Series:
    """Per-series mean absolute seasonal difference of the training target (MASE denominator)."""
    y = train[target].to_numpy(dtype="float64")
    codes = train[SERIES_ID].astype("category").cat.codes.to_numpy()
    ids = train[SERIES_ID].astype(str).to_numpy()
    lengths = np.bincount(codes)
    out = {}
    for m in {season_length, 1}:
        same = np.zeros(len(y), dtype=bool)
        same[m:] = codes[m:] == codes[:-m]
        diff = np.zeros(len(y))
        diff[m:] = np.abs(y[m:] - y[:-m])
        frame = pd.DataFrame({"c": codes[same], "d": diff[same]})
        out[m] = frame.groupby("c")["d"].mean().reindex(range(len(lengths)))
    scale = out[season_length].where(pd.Series(lengths > season_length), out[1])
    first = pd.Series(ids).groupby(codes).first()
    return pd.Series(scale.to_numpy(), index=first.reindex(range(len(lengths))).to_numpy())


def mase(y: pd.Series, yhat: pd.Series, series: pd.Series, scale: pd.Series) -> float:
    """Mean over series of MAE / in-sample seasonal-naive MAE (series with zero scale skipped)."""
    err = (y - yhat).abs().groupby(series.astype(str).to_numpy()).mean()
    ratio = err / scale.reindex(err.index)
    ratio = ratio.replace([np.inf, -np.inf], np.nan).dropna()
    return float(ratio.mean())


def smape(y: pd.Series, yhat: pd.Series) -> float:
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
