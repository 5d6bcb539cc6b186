"""Shared pieces of the featurizers: the pivoted rows they describe, the featurizer protocol and
the rolling-window kernel they use (the grouped layout and its operations are in
``tsauto.data.grouped``).

A pivoted design has one row per (series, forecast origin, step).  The *origin* is the position
of the last target value the row may know; the *target* is the position of the period being
forecast (origin + step).  Every feature is computed from positions at or before the origin (or
from the target's timestamp and known-future covariates), which is what makes the design free of
leakage by construction.  For past-only covariates the last usable position is ``cov_origin``
(the forecast origin, also in the recursive strategy where a training row's origin is one step
before its target).

History (``tsauto.data.grouped``) is the training data (or, at predict time, each series' recent
tail followed by empty future slots) laid out as grouped arrays: column values back to back,
series ``i`` occupying ``indptr[i]:indptr[i+1]``.  All positions are absolute positions into
those arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from tsauto.data.grouped import History, position_in_series, series_codes

TARGET = "__target__"  # key of the transformed target in History.columns


@dataclass
class Rows:
    """The rows of a pivoted design, all arrays of one length."""

    series: np.ndarray      # series code (0..n_series-1)
    origin: np.ndarray      # position of the last target value the row may use
    target: np.ndarray      # position of the period forecast (origin + step)
    step: np.ndarray        # 1..horizon
    cov_origin: np.ndarray  # position of the last past-covariate value the row may use
    time: np.ndarray        # naive datetime64[ns] of the target period

    def __len__(self) -> int:
        return len(self.series)

    def take(self, mask: np.ndarray) -> Rows:
        return Rows(*(getattr(self, f)[mask] for f in
                      ("series", "origin", "target", "step", "cov_origin", "time")))


class FeatureTransformer:
    """Protocol of every featurizer.

    ``fit(ds, context)`` learns from the training dataset only; ``transform(history, rows)``
    returns a dict of feature name -> float array (one value per row).  ``feature_names_out``
    lists the names ``transform`` returns, ``categorical_features`` those holding integer
    category codes (NaN for unknown), and ``onnx_exportable`` says whether the transformation
    can be written with ONNX operators.  ``describe()`` feeds the featurization summary:
    {raw column: {"transformations": [...], "features": [...]}}.
    """

    onnx_exportable: bool = True

    def fit(self, ds, context: dict) -> FeatureTransformer:
        return self

    def transform(self, history: History, rows: Rows) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @property
    def feature_names_out(self) -> list[str]:
        return list(self.feature_names_)

    @property
    def categorical_features(self) -> list[str]:
        return list(getattr(self, "categorical_", []))

    def describe(self) -> dict[str, dict]:
        return {}


# -- rolling windows ---------------------------------------------------------------------------
ROLLING_STATS = ("mean", "std", "min", "max", "median", "q10", "q25", "q75", "q90")


def rolling(values: np.ndarray, indptr: np.ndarray, window: int, stat: str,
            spacing: int = 1) -> np.ndarray:
    """Per-position ``stat`` of values[p], values[p-spacing], ..., ``window`` values in all.

    NaN where the window reaches before the series start or holds a NaN, so that a short
    history never produces a half-informed value.  ``std`` is the population std (ddof=0).
    """
    n = len(values)
    span = (window - 1) * spacing + 1
    out = np.full(n, np.nan)
    if n < span:
        return out
    nan = np.isnan(values)
    clean = np.where(nan, 0.0, values)
    if spacing == 1 and stat in ("mean", "std", "min", "max"):
        counts = _window_sum(nan.astype(np.float64), window)
        if stat in ("mean", "std"):
            # Centre each series so that the running sums stay small and exact enough.
            codes = series_codes(indptr)
            sums = np.bincount(codes, clean, minlength=len(indptr) - 1)
            valid = np.bincount(codes, ~nan, minlength=len(indptr) - 1)
            centre = (sums / np.maximum(valid, 1))[codes]
            x = clean - np.where(nan, 0.0, centre)
            s1 = _window_sum(x, window)
            mean = s1 / window
            if stat == "mean":
                res = mean + centre[span - 1:]
            else:
                s2 = _window_sum(x * x, window)
                res = np.sqrt(np.maximum(s2 / window - mean * mean, 0.0))
        else:
            filt = minimum_filter1d if stat == "min" else maximum_filter1d
            res = filt(clean, window, origin=(window - 1) // 2, mode="nearest")[window - 1:]
        res = np.where(counts > 0, np.nan, res)
    else:
        res = _strided_stat(values, span, spacing, stat)
    out[span - 1:] = res
    out[position_in_series(indptr) < span - 1] = np.nan
    return out


def _window_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sums of x over each run of ``window`` consecutive positions (len(x) - window + 1 sums)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    return c[window:] - c[:-window]


def _strided_stat(values: np.ndarray, span: int, spacing: int, stat: str,
                  chunk: int = 500_000) -> np.ndarray:
    """Window reductions on a strided view, in chunks so that quantiles copy little."""
    view = np.lib.stride_tricks.sliding_window_view(values, span)[:, ::spacing]
    out = np.empty(view.shape[0])
    for lo in range(0, view.shape[0], chunk):
        part = view[lo:lo + chunk]
        if stat == "mean":
            out[lo:lo + chunk] = part.mean(axis=1)
        elif stat == "std":
            out[lo:lo + chunk] = part.std(axis=1)
        elif stat == "min":
            out[lo:lo + chunk] = part.min(axis=1)
        elif stat == "max":
            out[lo:lo + chunk] = part.max(axis=1)
        else:
            q = 0.5 if stat == "median" else int(stat[1:]) / 100
            res = np.quantile(part, q, axis=1)
            res[np.isnan(part).any(axis=1)] = np.nan
            out[lo:lo + chunk] = res
    return out


def one_hot_or_codes(name: str, codes: np.ndarray, levels: list, mode: str,
                     max_onehot: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Encode integer category codes (-1 or NaN = missing/unseen).

    ``mode`` 'onehot' expands low-cardinality columns into 0/1 columns (unknown -> all zero)
    and falls back to ordinal codes above ``max_onehot`` levels; 'ordinal' and 'native' keep
    the codes (NaN for unknown) and report them as categorical.
    Returns (features, names of categorical features among them).
    """
    codes = np.asarray(codes, dtype=np.float64)
    if mode == "onehot" and len(levels) <= max_onehot:
        return {f"{name}={level}": (codes == i).astype(np.float64)
                for i, level in enumerate(levels)}, []
    out = np.where(codes < 0, np.nan, codes)
    return {name: out}, [name]


def encoded_names(name: str, levels: list, mode: str, max_onehot: int) -> tuple[list[str], list[str]]:
    """The names ``one_hot_or_codes`` returns, without data."""
    if mode == "onehot" and len(levels) <= max_onehot:
        return [f"{name}={level}" for level in levels], []
    return [name], [name]
