"""Calendar features of the forecast periods, computed in the graph from the ``origin`` input.

``origin`` is the period of a series' last value in whole units: months since 1970-01 on month
grids (monthly, quarterly, yearly), business days since Monday 1970-01-05 on business-day
grids, seconds since 1970-01-01T00:00 on fixed-step grids (the data's own clock).  Dates come
from integer arithmetic (Howard Hinnant's civil-from-days; a business day b is day
4 + 7 (b // 5) + b % 5), so the scorer has no date table and no range of years.
"""

from __future__ import annotations

import numpy as np

from tsauto.errors import ExportError
from tsauto.export.graph import DOUBLE, Graph

_EPOCH_MONTH = 1970 * 12
_DAY = 86_400
_FIRST_MONDAY = np.datetime64("1970-01-05")  # business day 0; day 4 since 1970-01-01
_MONTH_GRID = {"month", "quarter", "year"}
_PERIOD = {"minute": 60, "hour": 24, "day_of_week": 7, "day_of_year": 366, "week_of_year": 53,
           "month": 12, "quarter": 4}


def origin_unit(grid) -> str:
    if grid.kind == "month":
        return "months since 1970-01"
    if grid.kind == "business":
        return "business days since 1970-01-05"
    if grid.kind == "fixed" and grid.step % 10**9 == 0:
        return "seconds since 1970-01-01T00:00"
    raise ExportError(f"calendar features on the '{grid.freq}' grid cannot be exported (steps "
                      f"below a second do not); turn calendar features off "
                      f"(featurization={{'calendar': False}}) to export.")


def origin_values(grid, index: np.ndarray) -> np.ndarray:
    """The ``origin`` input of periods numbered ``index`` on ``grid``."""
    index = np.asarray(index, dtype=np.int64)
    if grid.kind == "month":  # the month of each period's time, counted without datetimes:
        # period 0 is in year 0, which nanosecond times cannot hold
        return index * grid.step + grid.anchor - _EPOCH_MONTH + \
            (grid.step - 1 if grid.month_end else 0)
    times = grid.times(index)
    if grid.kind == "business":
        return np.busday_count(_FIRST_MONDAY, times.astype("datetime64[D]")).astype(np.int64)
    origin_unit(grid)
    return times.astype("datetime64[s]").view("i8").astype(np.int64)


def grid_sidecar(grid) -> dict | None:
    """The time grid for a scorer without pandas: period k of a series is at ``origin`` (in
    ``unit``, as the ``origin`` input is counted) ``first + k * step``; None on grids of steps
    below a second."""
    try:
        unit = origin_unit(grid)
    except ExportError:
        return None
    first, second = origin_values(grid, np.array([0, 1])).tolist()
    return {"unit": unit, "first": first, "step": second - first}


def step_units(grid) -> int:
    """How far one period moves ``origin``."""
    if grid.kind == "business":
        return 1
    return int(grid.step) if grid.kind == "month" else int(grid.step // 10**9)


class _Ints:
    """Integer arithmetic on int64 tensors, written like Python's (floor division and modulo
    for the non-negative values used here)."""

    def __init__(self, g: Graph) -> None:
        self.g = g

    def _c(self, v):
        return self.g.ints(v) if isinstance(v, int) else v

    def add(self, a, b):
        return self.g.op("Add", self._c(a), self._c(b))

    def sub(self, a, b):
        return self.g.op("Sub", self._c(a), self._c(b))

    def mul(self, a, b):
        return self.g.op("Mul", self._c(a), self._c(b))

    def div(self, a, b):
        # floor division: subtract the (Python-signed) remainder first, then divide exactly
        return self.g.op("Div", self.sub(a, self.mod(a, b)), self._c(b))

    def mod(self, a, b):
        return self.g.op("Mod", self._c(a), self._c(b), fmod=0)

    def eq(self, a, b):
        return self.g.op("Equal", self._c(a), self._c(b))

    def where(self, cond, a, b):
        return self.g.op("Where", cond, self._c(a), self._c(b))


def _civil(k: _Ints, days):
    """(year, month, day) of day numbers since 1970-01-01."""
    z = k.add(days, 719468)
    era = k.div(z, 146097)
    doe = k.sub(z, k.mul(era, 146097))
    yoe = k.div(k.add(k.sub(doe, k.div(doe, 1460)), k.sub(k.div(doe, 36524), k.div(doe, 146096))),
                365)
    doy = k.sub(doe, k.add(k.mul(yoe, 365), k.sub(k.div(yoe, 4), k.div(yoe, 100))))
    mp = k.div(k.add(k.mul(doy, 5), 2), 153)
    day = k.add(k.sub(doy, k.div(k.add(k.mul(mp, 153), 2), 5)), 1)
    month = k.where(k.g.op("Less", mp, k.g.ints(10)), k.add(mp, 3), k.sub(mp, 9))
    year = k.add(k.add(yoe, k.mul(era, 400)),
                 k.g.op("Cast", k.g.op("LessOrEqual", month, k.g.ints(2)), to=7))
    return year, month, day


def _jan1(k: _Ints, year):
    """Day number of 1 January of ``year`` (days_from_civil with month 1, day 1)."""
    y = k.sub(year, 1)
    era = k.div(y, 400)
    yoe = k.sub(y, k.mul(era, 400))
    doe = k.add(k.add(k.mul(yoe, 365), k.sub(k.div(yoe, 4), k.div(yoe, 100))), 306)
    return k.sub(k.add(k.mul(era, 146097), doe), 719468)


def _iso_weeks(k: _Ints, year):
    """52 or 53: the ISO weeks of ``year``."""
    def p(y):
        return k.mod(k.add(k.add(y, k.div(y, 4)), k.sub(k.div(y, 400), k.div(y, 100))), 7)
    long = k.g.op("Or", k.eq(p(year), 4), k.eq(p(k.sub(year, 1)), 3))
    return k.add(k.g.op("Cast", long, to=7), 52)


def calendar_values(g: Graph, target, grid, names: list[str]) -> dict[str, str]:
    """int64 values of each calendar feature of ``target`` (origin units of the target
    periods)."""
    k = _Ints(g)
    out = {}
    if grid.kind == "month":
        bad = [n for n in names if n not in _MONTH_GRID]
        if bad:
            raise ExportError(f"calendar features {bad} cannot be computed on the monthly grid "
                              f"'{grid.freq}' by the scorer; leave them out to export.")
        month = k.add(k.mod(target, 12), 1)
        parts = {"month": month, "quarter": k.add(k.div(k.sub(month, 1), 3), 1),
                 "year": k.add(k.div(target, 12), 1970)}
        return {n: parts[n] for n in names}
    days = k.div(target, _DAY)
    sod = k.mod(target, _DAY)
    year, month, day = _civil(k, days)
    dow = k.mod(k.add(days, 3), 7)  # 1970-01-01 was a Thursday; Monday = 0
    doy = k.add(k.sub(days, _jan1(k, year)), 1)
    _, _, next_day = _civil(k, k.add(days, 1))
    month_end = k.eq(next_day, 1)
    month_start = k.eq(day, 1)

    def quarter_month(first: bool):
        return k.eq(k.mod(k.sub(month, 1 if first else 0), 3), 0)

    def as_int(b):
        return g.op("Cast", b, to=7)

    for name in names:
        if name == "minute":
            out[name] = k.div(k.mod(sod, 3600), 60)
        elif name == "hour":
            out[name] = k.div(sod, 3600)
        elif name == "day_of_week":
            out[name] = dow
        elif name == "is_weekend":
            out[name] = as_int(g.op("GreaterOrEqual", dow, g.ints(5)))
        elif name == "day_of_month":
            out[name] = day
        elif name == "day_of_year":
            out[name] = doy
        elif name == "week_of_year":
            iso = k.div(k.add(k.sub(doy, k.add(dow, 1)), 10), 7)
            prev = _iso_weeks(k, k.sub(year, 1))
            week = k.where(g.op("Less", iso, g.ints(1)), prev, iso)
            out[name] = k.where(g.op("Greater", week, _iso_weeks(k, year)), 1, week)
        elif name == "month":
            out[name] = month
        elif name == "quarter":
            out[name] = k.add(k.div(k.sub(month, 1), 3), 1)
        elif name == "year":
            out[name] = year
        elif name == "month_start":
            out[name] = as_int(month_start)
        elif name == "month_end":
            out[name] = as_int(month_end)
        elif name == "quarter_start":
            out[name] = as_int(g.op("And", month_start, quarter_month(True)))
        elif name == "quarter_end":
            out[name] = as_int(g.op("And", month_end, quarter_month(False)))
        else:
            raise ExportError(f"calendar feature '{name}' cannot be exported.")
    return out


def calendar_block(g: Graph, origin: str, grid, part, horizon: int) -> str:
    """float64 [n, horizon, C] of a fitted ``CalendarFeatures`` for the periods after
    ``origin``, columns in its ``feature_names_out`` order."""
    steps = g.ints(np.arange(1, horizon + 1) * step_units(grid))
    target = g.op("Add", g.unsqueeze(origin, [1]), steps)  # [n, H]
    if grid.kind == "business":  # business day b -> seconds of its day: the daily features
        k = _Ints(g)
        days = k.add(k.add(k.mul(k.div(target, 5), 7), k.mod(target, 5)), 4)
        target = k.mul(days, _DAY)
    values = calendar_values(g, target, grid, part.names_)
    columns = []
    for name in part.names_:
        v = g.op("Cast", values[name], to=DOUBLE)
        columns.append(v)
        period = _PERIOD.get(name)
        if part.cyclical and period is not None:
            # numpy's own sin/cos of each whole value, looked up: trees split exactly on them
            idx = values[name]
            grid_values = np.arange(period + 1)
            angle = 2 * np.pi * grid_values.astype(np.float64) / period
            columns += [g.op("Gather", g.const(np.sin(angle)), idx),
                        g.op("Gather", g.const(np.cos(angle)), idx)]
    return g.op("Concat", *[g.unsqueeze(c, [2]) for c in columns], axis=2)
