"""Calendar features of the period being forecast, chosen from the grid's frequency.

Only features that vary at the data's frequency are made: an hour of day for hourly data, a
day of week for daily data, a month for monthly data, and so on.  Cyclical features get a
sin/cos pair so that linear and distance-based learners see December next to January.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.grouped import History
from tsauto.errors import SettingsError, preview
from tsauto.features.base import FeatureTransformer, Rows

_NS_HOUR = 3600 * 10**9
_NS_DAY = 24 * _NS_HOUR

# name -> (function of a DatetimeIndex, period for sin/cos or None)
_FEATURES = {
    "minute": (lambda t: t.minute, 60),
    "hour": (lambda t: t.hour, 24),
    "day_of_week": (lambda t: t.dayofweek, 7),
    "is_weekend": (lambda t: (t.dayofweek >= 5).astype(int), None),
    "day_of_month": (lambda t: t.day, None),
    "day_of_year": (lambda t: t.dayofyear, 366),
    "week_of_year": (lambda t: t.isocalendar().week.to_numpy(), 53),
    "month": (lambda t: t.month, 12),
    "quarter": (lambda t: t.quarter, 4),
    "year": (lambda t: t.year, None),
    "month_start": (lambda t: t.is_month_start.astype(int), None),
    "month_end": (lambda t: t.is_month_end.astype(int), None),
    "quarter_start": (lambda t: t.is_quarter_start.astype(int), None),
    "quarter_end": (lambda t: t.is_quarter_end.astype(int), None),
}
CALENDAR_FEATURES = tuple(_FEATURES)


def features_for_grid(grid) -> list[str]:
    """The calendar features that make sense for a time grid."""
    if grid.kind == "month":
        if grid.step == 1:
            return ["month", "quarter", "year"]
        if grid.step == 3:
            return ["quarter", "year"]
        return ["month", "year"] if grid.step < 12 else ["year"]
    if grid.kind == "business":
        return ["day_of_week", "day_of_month", "week_of_year", "month", "year", "month_start",
                "month_end", "quarter_start", "quarter_end"]
    step = grid.step
    if step >= 7 * _NS_DAY:
        return ["week_of_year", "month", "year"]
    if step >= _NS_DAY:
        return ["day_of_week", "is_weekend", "day_of_month", "day_of_year", "week_of_year",
                "month", "year", "month_start", "month_end", "quarter_start", "quarter_end"]
    names = ["hour", "day_of_week", "is_weekend", "day_of_year", "month", "year"]
    if step < _NS_HOUR:
        names.insert(0, "minute")
    return names


class CalendarFeatures(FeatureTransformer):
    """Calendar features of each row's target period; ``features='auto'`` picks them from the
    grid frequency, or pass a list of names from ``CALENDAR_FEATURES``.  ``cyclical`` adds
    sin/cos pairs for periodic features."""

    onnx_exportable = True  # integer date arithmetic (civil-from-days) and Sin/Cos

    def __init__(self, features: str | list[str] = "auto", cyclical: bool = True) -> None:
        self.features = features
        self.cyclical = cyclical

    def fit(self, ds, context: dict | None = None) -> CalendarFeatures:
        if self.features == "auto":
            names = features_for_grid(ds.grid)
        else:
            names = list(self.features)
            bad = [n for n in names if n not in _FEATURES]
            if bad:
                raise SettingsError(f"calendar features {preview(bad)} are unknown; valid: "
                                    f"{', '.join(CALENDAR_FEATURES)}.")
        self.names_ = names
        out = []
        for name in names:
            out.append(f"cal_{name}")
            period = _FEATURES[name][1]
            if self.cyclical and period is not None:
                out += [f"cal_{name}_sin", f"cal_{name}_cos"]
        self.feature_names_ = out
        return self

    def transform(self, history: History | None, rows: Rows | np.ndarray) -> dict[str, np.ndarray]:
        times = rows.time if isinstance(rows, Rows) else rows
        return self.transform_times(times)

    def transform_times(self, times) -> dict[str, np.ndarray]:
        """Features of timestamps (naive, on the grid's clock)."""
        # Many series share their timestamps: compute on the distinct ones, then spread.
        codes, uniques = pd.factorize(np.asarray(times, dtype="datetime64[ns]"))
        t = pd.DatetimeIndex(uniques)
        out = {}
        for name in self.names_:
            fn, period = _FEATURES[name]
            values = np.asarray(fn(t), dtype=np.float64)[codes]
            out[f"cal_{name}"] = values
            if self.cyclical and period is not None:
                angle = 2 * np.pi * values / period
                out[f"cal_{name}_sin"] = np.sin(angle)
                out[f"cal_{name}_cos"] = np.cos(angle)
        return out

    def describe(self) -> dict[str, dict]:
        return {"__time__": {"transformations": [f"calendar: {', '.join(self.names_)}"
                                                 + (" (+ sin/cos)" if self.cyclical else "")],
                             "features": self.feature_names_out}}
