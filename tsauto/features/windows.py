"""Rolling-window statistics, computed only from values at or before the row's origin.

``RollingWindows``: mean/std/min/max (and quantiles) over the last ``w`` values a row may know.
``SeasonalRollingWindows``: statistics over the same season position in the last ``k`` seasons
(the same weekday over the last k weeks for daily data, the same month over the last k years
for monthly data), anchored on the target period: for a row at ``step`` it reads the values at
``target - j*m`` for ``j = ceil(step/m) .. ceil(step/m)+k-1``, all at or before the origin.
"""

from __future__ import annotations

import numpy as np

from tsauto.data.grouped import History, gather
from tsauto.errors import SettingsError, is_int, preview
from tsauto.features.base import (
    ROLLING_STATS,
    TARGET,
    FeatureTransformer,
    Rows,
    rolling,
)


def check_stats(stats, setting: str) -> list[str]:
    stats = [stats] if isinstance(stats, str) else list(stats)
    bad = [s for s in stats if s not in ROLLING_STATS]
    if bad or not stats:
        raise SettingsError(f"{setting}: statistics {preview(bad) or 'none'} are not valid; use "
                            f"some of {', '.join(ROLLING_STATS)}.")
    return stats


def check_windows(windows, setting: str) -> list[int]:
    if is_int(windows, minimum=1):
        windows = [windows]
    if not isinstance(windows, (list, tuple)) or not all(is_int(w) for w in windows):
        raise SettingsError(f"{setting}={windows!r} is not valid: use 'auto', a positive integer "
                            f"or a list of them (window sizes in periods).")
    return sorted({int(w) for w in windows})


def auto_windows(season_length: int) -> list[int]:
    """A short window and one season (at least 3 periods)."""
    m = max(int(season_length), 1)
    return sorted({3, max(m, 3)}) if m >= 6 else [max(m, 3)]


class RollingWindows(FeatureTransformer):
    """Rolling statistics of one history column over windows ending at the row's origin."""

    onnx_exportable = True  # ReduceMean/Max/Min over Slices

    def __init__(self, column: str = TARGET, window_sizes="auto",
                 stats=("mean", "std", "min", "max"), origin: str = "origin",
                 prefix: str | None = None) -> None:
        self.column = column
        self.window_sizes = window_sizes
        self.stats = stats
        self.origin = origin
        self.prefix = prefix

    def fit(self, ds, context: dict) -> RollingWindows:
        setting = context.get("setting", "target_rolling_window_size")
        if isinstance(self.window_sizes, str):
            if self.window_sizes != "auto":
                raise SettingsError(f"{setting}={self.window_sizes!r} is not valid: use 'auto' or "
                                    f"window sizes in periods.")
            self.windows_ = auto_windows(context["season_length"])
        else:
            self.windows_ = check_windows(self.window_sizes, setting)
        self.stats_ = check_stats(self.stats, "rolling_stats")
        self.prefix_ = self.prefix or ("roll" if self.column == TARGET else f"{self.column}_roll")
        self.feature_names_ = [f"{self.prefix_}{w}_{s}" for w in self.windows_ for s in self.stats_
                               if not (s == "std" and w == 1)]
        return self

    @property
    def lookback(self) -> int:
        return max(self.windows_) if self.windows_ else 0

    def transform(self, history: History, rows: Rows) -> dict[str, np.ndarray]:
        values = history.columns[self.column]
        origin = getattr(rows, self.origin)
        out = {}
        for w in self.windows_:
            for s in self.stats_:
                if s == "std" and w == 1:
                    continue
                per_position = rolling(values, history.indptr, w, s)
                out[f"{self.prefix_}{w}_{s}"] = gather(per_position, origin, rows.series,
                                                       history.indptr)
        return out

    def describe(self) -> dict[str, dict]:
        return {self.column: {"transformations": [
            f"rolling {'/'.join(self.stats_)} over windows {self.windows_} ending at the origin"],
            "features": self.feature_names_out}}


class SeasonalRollingWindows(FeatureTransformer):
    """Statistics of the same season position over the last ``seasons`` seasons, plus the
    seasonal lag itself (``seasonal_lag``: the latest known value at the target's position in
    the season)."""

    onnx_exportable = True  # strided Slices and reductions

    def __init__(self, seasons="auto", stats=("mean",), season_length: int | None = None) -> None:
        self.seasons = seasons
        self.stats = stats
        self.season_length = season_length

    def fit(self, ds, context: dict) -> SeasonalRollingWindows:
        m = int(self.season_length or context["season_length"])
        if m <= 1:
            raise SettingsError("seasonal rolling windows need a seasonal period, but the data's "
                                "frequency has none (season length 1).")
        self.m_ = m
        if self.seasons == "auto":
            self.k_ = 4 if m <= 24 else 2
        elif is_int(self.seasons):
            self.k_ = int(self.seasons)
        else:
            raise SettingsError(f"seasonal_window_size={self.seasons!r} is not valid: use 'auto' "
                                f"or a positive number of seasons.")
        self.stats_ = check_stats(self.stats, "seasonal_rolling_stats")
        names = ["seasonal_lag"]
        # Direct rows also get the season-ago path from origin to target: with differenced
        # targets it is last year's change over the same months.
        self.path_ = context.get("strategy") == "direct"
        if self.path_:
            names.append("seasonal_path_sum")
        if self.k_ > 1:
            names += [f"seasonal{self.k_}_{s}" for s in self.stats_]
        self.feature_names_ = names
        return self

    @property
    def lookback(self) -> int:
        return self.k_ * self.m_

    def transform(self, history: History, rows: Rows) -> dict[str, np.ndarray]:
        values = history.columns[TARGET]
        m = self.m_
        j0 = -(-rows.step // m)  # ceil(step / m): the latest season at or before the origin
        anchor = rows.target - j0 * m
        out = {"seasonal_lag": gather(values, anchor, rows.series, history.indptr)}
        if self.path_:
            # sum of values at (origin - j0*m, target - j0*m], NaN if any is missing
            nan = np.isnan(values)
            csum = np.concatenate([[0.0], np.cumsum(np.where(nan, 0.0, values))])
            cnan = np.concatenate([[0], np.cumsum(nan)])
            lo = rows.origin - j0 * m  # exclusive
            ok = lo >= history.indptr[rows.series]
            lo_c = np.where(ok, lo + 1, 0)
            total = csum[anchor + 1] - csum[lo_c]
            holes = cnan[anchor + 1] - cnan[lo_c]
            out["seasonal_path_sum"] = np.where(ok & (holes == 0), total, np.nan)
        if self.k_ > 1:
            for s in self.stats_:
                per_position = rolling(values, history.indptr, self.k_, s, spacing=m)
                out[f"seasonal{self.k_}_{s}"] = gather(per_position, anchor, rows.series,
                                                       history.indptr)
        return out

    def describe(self) -> dict[str, dict]:
        return {TARGET: {"transformations": [
            (f"seasonal rolling {'/'.join(self.stats_)} of the same position in the last "
            f"{self.k_} seasons (season {self.m_})")], "features": self.feature_names_out}}
