"""The vocabulary of a forecast frame, shared by every stage that writes or reads one.

A forecast frame has one row per series and future step: ``series_id``, the dataset's time
column, ``step`` (1..horizon), ``forecast`` (the point forecast) and one column per requested
quantile named by ``quantile_column`` (``q0.1``, ``q0.5``, ...), monotone in the quantile.
"""

from __future__ import annotations

from collections.abc import Sequence

from tsauto.errors import SettingsError, is_number, preview

STEP = "step"
POINT = "forecast"


def quantile_column(q: float) -> str:
    """Name of the column holding quantile ``q``: 0.1 -> 'q0.1'."""
    return f"q{float(q):g}"


def central_intervals(quantiles: Sequence[float]) -> list[tuple[float, float]]:
    """The central intervals ``(q, 1 - q)`` the quantiles form, widest first."""
    qs = {round(float(q), 10) for q in quantiles}
    return [(q, round(1 - q, 10)) for q in sorted(qs) if q < 0.5 and round(1 - q, 10) in qs]


def interval_level(low: float, high: float) -> str:
    """The nominal level of the interval ``[low, high]`` in percent, as text: 0.1, 0.9 -> '80'."""
    return f"{100 * (high - low):.10g}"


def check_quantiles(quantiles: Sequence[float] | None) -> tuple[float, ...]:
    """Sorted, unique quantiles strictly between 0 and 1, rounded to 10 decimals: the 0.1 of
    an 80% level (0.5 - 80 / 200 = 0.09999999999999998 in floating point) is the fitted 0.1."""
    qs = tuple(sorted({round(float(q), 10) for q in (quantiles or ())}))
    bad = [q for q in qs if not 0.0 < q < 1.0]
    if bad:
        raise SettingsError(f"quantiles must lie strictly between 0 and 1, got {preview(bad)}.")
    return qs


def asked_quantiles(level: Sequence[float] | None = None,
                    quantiles: Sequence[float] | None = None) -> tuple[float, ...] | None:
    """Quantiles asked at forecast time: central interval levels (80 -> 0.1 and 0.9, the
    median added) or quantiles; None when neither is given."""
    if level is not None and quantiles is not None:
        raise SettingsError("give level= (interval levels, e.g. [80, 95]) or quantiles= (e.g. "
                            "[0.1, 0.9]), not both.")
    if level is not None:
        if isinstance(level, str):  # list("80") would be the levels 8 and 0
            raise SettingsError(f"level must be a number or a list of numbers between 0 and 100 "
                                f"(e.g. [80, 95]), got the text {level!r}.")
        levels = [level] if isinstance(level, (int, float)) else list(level)
        bad = [lv for lv in levels if not (is_number(lv) and 0 < lv < 100)]
        if bad:
            raise SettingsError(f"level must hold interval levels strictly between 0 and 100 "
                                f"(e.g. [80, 95]), got {preview(bad)}.")
        return check_quantiles([0.5] + [q for lv in levels
                                        for q in (0.5 - lv / 200, 0.5 + lv / 200)])
    if quantiles is not None:
        return check_quantiles(quantiles)
    return None
