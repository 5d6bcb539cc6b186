"""Per-series target transforms: a power transform, differencing and scaling, inverted exactly.

The forward transform runs, per series, ``power -> differences -> scale``:

- power: ``boxcox`` (lambda per series by Guerrero's method, searched in [0, 1]) where the
  series is strictly positive, ``log1p`` where it is above -1; a series the data does not allow
  is left as is and the summary says how many were;
- differences: lags applied one after the other (``first`` = [1], ``seasonal`` = [m],
  ``both`` = [m, 1]);
- scale: ``standard`` (mean, std), ``mean`` (0, mean |x|), ``robust`` (median, IQR) or ``none``.

Every statistic is learned from the training data only.  ``inverse`` maps forecasts of the
transformed target back, given each series' recent raw values (needed to undo differencing).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from tsauto.data.grouped import grouped_shift, position_in_series, series_codes
from tsauto.errors import SettingsError, is_int

SCALERS = ("standard", "mean", "robust", "none")
POWERS = ("none", "boxcox", "log1p")
DIFFERENCES = ("none", "first", "seasonal", "both")
_LAMBDAS = np.round(np.linspace(0.0, 1.0, 21), 4)
_TINY = 1e-12


class TargetTransform:
    """Per-series power transform, differencing and scaling of the target."""

    onnx_exportable = True  # Log/Pow, Sub of shifted slices and an affine map are ONNX ops

    def __init__(self, scaler: str = "standard", difference: str | list[int] | None = None,
                 power: str | None = None, season_length: int = 1) -> None:
        self.scaler = scaler
        self.difference = difference
        self.power = power
        self.season_length = season_length

    # -- settings ------------------------------------------------------------------------------
    def _check(self) -> None:
        if self.scaler not in SCALERS:
            raise SettingsError(f"target_scaler={self.scaler!r} is not valid; use one of "
                                f"{', '.join(SCALERS)}.")
        if (self.power or "none") not in POWERS:
            raise SettingsError(f"target_power={self.power!r} is not valid; use one of "
                                f"{', '.join(POWERS)} (or None).")

    def difference_lags(self) -> list[int]:
        d, m = self.difference, self.season_length
        if d is None or d == "none":
            return []
        if isinstance(d, str):
            if d not in DIFFERENCES:
                raise SettingsError(f"target_difference={d!r} is not valid; use one of "
                                    f"{', '.join(DIFFERENCES)}, a list of lags, or None.")
            if d == "first":
                return [1]
            if m <= 1:
                raise SettingsError(f"target_difference={d!r} needs a seasonal period, but the "
                                    f"data's frequency has none (season length 1); use 'first'.")
            return [m] if d == "seasonal" else [m, 1]
        lags = list(d)
        if not lags or not all(is_int(v) for v in lags):
            raise SettingsError(f"target_difference={d!r}: a list must hold positive integer "
                                f"lags, e.g. [1] or [12, 1].")
        return [int(v) for v in lags]

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, values: np.ndarray, indptr: np.ndarray) -> TargetTransform:
        """Learn per-series statistics from training values (grouped, no NaN)."""
        self._check()
        self.diffs_ = self.difference_lags()
        n = len(indptr) - 1
        codes = series_codes(indptr)
        power = self.power or "none"
        self.lambdas_ = np.ones(n)
        self.powered_ = np.zeros(n, dtype=bool)
        if power == "boxcox":
            positive = np.bincount(codes, values <= 0, minlength=n) == 0
            self.powered_ = positive
            self.lambdas_ = _guerrero(values, indptr, max(self.season_length, 2), positive)
        elif power == "log1p":
            self.powered_ = np.bincount(codes, values <= -1, minlength=n) == 0
        x = self._power(values, codes)
        for lag in self.diffs_:
            x = x - grouped_shift(x, indptr, lag)
        self.loc_, self.scale_ = _scale_stats(x, codes, n, self.scaler)
        return self

    def for_series(self, positions: np.ndarray, values: np.ndarray,
                   indptr: np.ndarray) -> TargetTransform:
        """A copy for the series of new data (``values``/``indptr``): series seen at training
        (``positions`` >= 0, their index there) keep their learned statistics, the others get
        them from their own values."""
        other = copy.copy(self).fit(values, indptr)
        seen = positions >= 0
        for name in ("lambdas_", "powered_", "loc_", "scale_"):
            column = getattr(other, name).copy()
            column[seen] = getattr(self, name)[positions[seen]]
            setattr(other, name, column)
        return other

    @property
    def kind(self) -> str:
        return self.power or "none"

    def describe(self) -> list[str]:
        out = []
        n = len(self.powered_)
        if self.kind != "none":
            done = int(self.powered_.sum())
            text = f"{self.kind} on {done}/{n} series"
            if done < n:
                need = "> 0" if self.kind == "boxcox" else "> -1"
                text += f" (the others have values not {need})"
            if self.kind == "boxcox" and done:
                lam = self.lambdas_[self.powered_]
                text += f", lambda {lam.min():.2f}..{lam.max():.2f}"
            out.append(text)
        if self.diffs_:
            out.append("differences at lags " + ", ".join(map(str, self.diffs_)))
        if self.scaler != "none":
            out.append(f"{self.scaler} scaling per series")
        return out

    @property
    def lookback(self) -> int:
        """Raw values before a position that its transformed value depends on."""
        return int(sum(self.diffs_))

    # -- forward and inverse -------------------------------------------------------------------
    def _power(self, values: np.ndarray, codes: np.ndarray) -> np.ndarray:
        kind = self.kind
        if kind == "none":
            return values.astype(np.float64, copy=True)
        on = self.powered_[codes]
        out = values.astype(np.float64, copy=True)
        if kind == "log1p":
            out[on] = np.log1p(values[on])
            return out
        lam = self.lambdas_[codes][on]
        v = values[on]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[on] = np.where(lam == 0, np.log(v), (np.power(v, lam) - 1) / np.where(lam == 0, 1, lam))
        return out

    def _inverse_power(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        kind = self.kind
        if kind == "none":
            return x
        on = self.powered_[codes]
        out = x.copy()
        if kind == "log1p":
            out[on] = np.expm1(x[on])
            return out
        lam = self.lambdas_[codes][on]
        v = x[on]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            base = np.maximum(lam * v + 1, _TINY)  # forecasts past the transform's range clip
            out[on] = np.where(lam == 0, np.exp(v), np.power(base, 1 / np.where(lam == 0, 1, lam)))
        return out

    def transform(self, values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        """Transformed values, position by position (NaN where differencing lacks history)."""
        codes = series_codes(indptr)
        x = self._power(np.asarray(values, dtype=np.float64), codes)
        for lag in self.diffs_:
            x = x - grouped_shift(x, indptr, lag)
        return (x - self.loc_[codes]) / self.scale_[codes]

    def inverse(self, z_future: np.ndarray, y_tail: np.ndarray) -> np.ndarray:
        """Raw-scale values of transformed forecasts.

        ``z_future`` is (n_series, horizon) in the transformed space; ``y_tail`` (n_series, L)
        holds each series' last raw values, right-aligned (NaN padding on the left), with L at
        least ``lookback``.
        """
        n, horizon = z_future.shape
        codes = np.arange(n)
        x = z_future * self.scale_[:, None] + self.loc_[:, None]
        # The stages of the history: s0 = power(y), s_k = s_{k-1} - shift(s_{k-1}, lag_k).
        tail_codes = np.repeat(codes, y_tail.shape[1])
        stages = [self._power(y_tail.ravel(), tail_codes).reshape(y_tail.shape)]
        for lag in self.diffs_[:-1]:
            s = stages[-1]
            shifted = np.full_like(s, np.nan)
            shifted[:, lag:] = s[:, :-lag]
            stages.append(s - shifted)
        for k in range(len(self.diffs_) - 1, -1, -1):
            lag, hist = self.diffs_[k], stages[k]
            full = np.concatenate([hist, np.empty((n, horizon))], axis=1)
            base = hist.shape[1]
            for h in range(horizon):
                full[:, base + h] = x[:, h] + full[:, base + h - lag]
            x = full[:, base:]
        flat_codes = np.repeat(codes, horizon)
        return self._inverse_power(x.ravel(), flat_codes).reshape(n, horizon)

    def inverse_scale(self, z: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Undo only the scaling (for values that are not differenced or powered)."""
        return z * self.scale_[codes] + self.loc_[codes]


def _scale_stats(x: np.ndarray, codes: np.ndarray, n: int, scaler: str):
    if scaler == "none":
        return np.zeros(n), np.ones(n)
    frame = pd.DataFrame({"c": codes, "x": x}).dropna()
    g = frame.groupby("c")["x"]
    if scaler == "standard":
        loc = g.mean().reindex(range(n)).to_numpy()
        scale = g.std(ddof=0).reindex(range(n)).to_numpy()
    elif scaler == "mean":
        loc = np.zeros(n)
        scale = frame["x"].abs().groupby(frame["c"]).mean().reindex(range(n)).to_numpy()
    else:
        loc = g.median().reindex(range(n)).to_numpy()
        scale = (g.quantile(0.75) - g.quantile(0.25)).reindex(range(n)).to_numpy()
        # A series that is mostly constant has IQR 0: fall back to its std.
        fallback = g.std(ddof=0).reindex(range(n)).to_numpy()
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, fallback)
    loc = np.nan_to_num(loc, nan=0.0)
    scale = np.where(np.isfinite(scale) & (scale > _TINY * np.maximum(np.abs(loc), 1)), scale, 1.0)
    return loc, scale


def _guerrero(values: np.ndarray, indptr: np.ndarray, period: int, positive: np.ndarray) -> np.ndarray:
    """Box-Cox lambda per series by Guerrero's method, vectorised over series.

    Each series is cut into blocks of ``period`` values (the incomplete first block dropped);
    lambda minimises the coefficient of variation of block std / block mean^(1 - lambda).
    Series with fewer than two blocks, or not positive, get lambda 1.
    """
    n = len(indptr) - 1
    lengths = np.diff(indptr)
    pos = position_in_series(indptr)
    offset = np.repeat(lengths % period, lengths)
    keep = (pos >= offset) & positive[series_codes(indptr)]
    codes = series_codes(indptr)[keep]
    block_in_series = (pos[keep] - offset[keep]) // period
    frame = pd.DataFrame({"c": codes, "b": block_in_series, "v": values[keep]})
    stats = frame.groupby(["c", "b"])["v"].agg(["mean", "std"]).dropna()
    stats = stats[(stats["mean"] > 0) & (stats["std"] > 0)]
    c = stats.index.get_level_values(0).to_numpy()
    log_mean = np.log(stats["mean"].to_numpy())
    sd = stats["std"].to_numpy()
    blocks = np.bincount(c, minlength=n)
    best = np.full(n, np.inf)
    out = np.ones(n)
    for lam in _LAMBDAS:
        r = sd * np.exp(-(1 - lam) * log_mean)
        m1 = np.bincount(c, r, minlength=n) / np.maximum(blocks, 1)
        m2 = np.bincount(c, r * r, minlength=n) / np.maximum(blocks, 1)
        cv = np.sqrt(np.maximum(m2 - m1 * m1, 0)) / np.where(m1 > 0, m1, np.inf)
        better = cv < best - 1e-12
        best = np.where(better, cv, best)
        out = np.where(better, lam, out)
    out[(blocks < 2) | ~positive] = 1.0
    return out
