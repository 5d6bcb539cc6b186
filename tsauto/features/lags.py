"""Lags of the target (and of past-only covariates), counted back from the row's origin.

``lag_k`` is the k-th most recent value a row may know: the value at ``origin - k + 1``.  In the
recursive strategy a training row's origin is the period just before its target, so ``lag_k``
is the usual lag k of the target; in the direct strategy it is lag ``step + k - 1`` of the
target, the same features at every step.  ``lags='auto'`` picks lags from the season length and
the autocorrelation of the training data (see ``auto_lags``).
"""

from __future__ import annotations

import numpy as np

from tsauto.data.grouped import History, gather, grouped_shift, series_codes, subset
from tsauto.errors import SettingsError, is_int
from tsauto.features.base import (
    TARGET,
    FeatureTransformer,
    Rows,
    encoded_names,
    one_hot_or_codes,
)


def check_lags(lags, setting: str) -> list[int]:
    if is_int(lags, minimum=1):
        lags = [lags]
    if not isinstance(lags, (list, tuple)) or not lags or not all(is_int(v) for v in lags):
        raise SettingsError(f"{setting}={lags!r} is not valid: use 'auto' or a list of positive "
                            f"integers, e.g. [1, 2, 3, 12].")
    return sorted({int(v) for v in lags})


def autocorrelation(values: np.ndarray, indptr: np.ndarray, max_lag: int,
                    max_series: int = 2000) -> np.ndarray:
    """Mean over series of the autocorrelation at lags 1..max_lag (NaN-aware).

    At most ``max_series`` evenly spaced series are used: the mean ACF settles long before.
    """
    n = len(indptr) - 1
    if n > max_series:
        pick = np.unique(np.linspace(0, n - 1, max_series).astype(int))
        values, indptr = subset(values, indptr, pick)
        n = len(pick)
    codes = series_codes(indptr)
    ok = ~np.isnan(values)
    count = np.bincount(codes, ok, minlength=n)
    mean = np.bincount(codes, np.where(ok, values, 0), minlength=n) / np.maximum(count, 1)
    x = np.where(ok, values - mean[codes], 0.0)
    var = np.bincount(codes, x * x, minlength=n)
    out = np.zeros(max_lag)
    usable = var > 0
    if not usable.any():
        return out
    for k in range(1, max_lag + 1):
        shifted = np.nan_to_num(grouped_shift(x, indptr, k))
        acf = np.bincount(codes, x * shifted, minlength=n)[usable] / var[usable]
        out[k - 1] = acf.mean()
    return out


def auto_lags(values: np.ndarray, indptr: np.ndarray, season_length: int,
              max_extra: int = 4) -> tuple[list[int], str]:
    """Lags 1..min(m, 12) and m (the season), plus up to ``max_extra`` longer lags whose mean
    autocorrelation on the training data is significant (|acf| > 2/sqrt(median length)).
    Returns the lags and a sentence saying why."""
    m = max(int(season_length), 1)
    lengths = np.diff(indptr)
    median = float(np.median(lengths))
    base = set(range(1, min(m, 12) + 1)) | ({m} if m > 1 else set()) | {1, 2, 3}
    base = {k for k in base if k < max(median, 4)}
    horizon = int(min(max(2 * m, 8), max(median // 3, 4), 400))
    acf = autocorrelation(values, indptr, horizon)
    threshold = 2.0 / np.sqrt(max(median, 1.0))
    candidates = [k for k in range(1, horizon + 1) if k not in base and abs(acf[k - 1]) > threshold]
    candidates.sort(key=lambda k: -abs(acf[k - 1]))
    extra = sorted(candidates[:max_extra])
    why = (f"auto: 1..{min(m, 12)}" + (f" and the season {m}" if m > 12 else "")
           + (f", plus {extra} by autocorrelation" if extra else "")
           + f" (acf over lags 1..{horizon} of the training target)")
    return sorted(base | set(extra)), why


class Lags(FeatureTransformer):
    """Lags of one history column counted back from each row's ``origin`` field.

    For the target, ``origin='origin'``; for past-only covariates ``origin='cov_origin'``, so
    a covariate's lag 1 is its last value known at the forecast origin.  Categorical columns
    (``levels`` given) are encoded after lagging.
    """

    onnx_exportable = True  # Gather at fixed offsets

    def __init__(self, column: str = TARGET, lags="auto", origin: str = "origin",
                 prefix: str | None = None, levels: list | None = None,
                 encoding: str = "ordinal", max_onehot: int = 10) -> None:
        self.column = column
        self.lags = lags
        self.origin = origin
        self.prefix = prefix
        self.levels = levels
        self.encoding = encoding
        self.max_onehot = max_onehot

    def fit(self, ds, context: dict) -> Lags:
        setting = context.get("setting", "lags")
        if isinstance(self.lags, str):
            if self.lags != "auto":
                raise SettingsError(f"{setting}={self.lags!r} is not valid: use 'auto' or a list "
                                    f"of positive integers.")
            self.lags_, self.why_ = auto_lags(context["values"], context["indptr"],
                                              context["season_length"])
        else:
            self.lags_ = check_lags(self.lags, setting)
            self.why_ = "given"
        prefix = self.prefix or ("lag" if self.column == TARGET else f"{self.column}_lag")
        self.prefix_ = prefix
        names, cats = [], []
        for k in self.lags_:
            if self.levels is None:
                names.append(f"{prefix}{k}")
            else:
                n, c = encoded_names(f"{prefix}{k}", self.levels, self.encoding, self.max_onehot)
                names += n
                cats += c
        self.feature_names_, self.categorical_ = names, cats
        return self

    @property
    def max_lag(self) -> int:
        return max(self.lags_)

    def transform(self, history: History, rows: Rows) -> dict[str, np.ndarray]:
        values = history.columns[self.column]
        origin = getattr(rows, self.origin)
        out = {}
        for k in self.lags_:
            v = gather(values, origin - k + 1, rows.series, history.indptr)
            if self.levels is None:
                out[f"{self.prefix_}{k}"] = v
            else:
                enc, _ = one_hot_or_codes(f"{self.prefix_}{k}", np.nan_to_num(v, nan=-1),
                                          self.levels, self.encoding, self.max_onehot)
                out.update(enc)
        return out

    def describe(self) -> dict[str, dict]:
        return {self.column: {"transformations": [f"lags {self.lags_} ({self.why_})"],
                              "features": self.feature_names_out}}
