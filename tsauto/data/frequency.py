"""Time grids: a frequency as integer period numbers, so that gaps, misaligned rows and future
timestamps are plain vectorised integer arithmetic over every series at once.

A ``TimeGrid`` maps naive ``datetime64[ns]`` values to period numbers (``index``), tells which
values sit exactly on the grid (``on_grid``) and maps period numbers back to timestamps
(``times``).  Three kinds cover the frequencies forecasting meets:

- ``fixed``: a constant step (seconds to days, and weeks anchored on a weekday);
- ``month``: calendar months, every 2, 4 or 6 months, quarters and years, anchored at the
  period start or end;
- ``business``: Monday-to-Friday days.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries import offsets as pdo
from pandas.tseries.frequencies import to_offset

from tsauto.errors import FrequencyError, SettingsError, preview

_NS_PER_DAY = 86_400 * 10**9
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_EPOCH_MONTH = 1970 * 12
# 1970-01-05 was a Monday: weekly grids anchor on it plus the weekday.
_FIRST_MONDAY_NS = 4 * _NS_PER_DAY

# Legacy aliases users still type, mapped to the names current pandas understands.
_ALIASES = {"M": "ME", "Q": "QE", "Y": "YE", "A": "YE", "AS": "YS", "H": "h", "T": "min", "S": "s",
            "BM": "BME", "W": "W-SUN"}

SUPPORTED = ("fixed steps (e.g. 'D', '2D', 'h', '30min', 's'), weekly ('W-MON' .. 'W-SUN'), "
             "'B' (business days), month start/end ('MS', 'ME'), every 2, 4 or 6 months ('2MS', "
             "'6ME'; '2MS-FEB': starts of February, April...), quarter start/end ('QS', 'QE', "
             "'QS-FEB', ...), year start/end ('YS', 'YE')")
# Grids of whole months: these divide the year, so a season is 12 / step periods and every
# on-grid month has the same remainder mod step.
_MONTH_STEPS = (1, 2, 3, 4, 6, 12)
_SEVERAL_MONTHS = (2, 4, 6)  # those pandas has no anchored names for ('2MS-FEB' is tsauto's)
_MONTHS_NAME = re.compile(r"^(\d+)M([SE])-([A-Z]{3})$")  # tsauto's '2MS-FEB'


@dataclass(frozen=True)
class TimeGrid:
    """A regular time grid.  ``step`` is nanoseconds (fixed) or months (month); ``anchor`` is a
    nanosecond origin (fixed), a month offset in ``[0, step)`` (month) or a day (business)."""

    freq: str
    kind: str
    step: int
    anchor: int = 0
    month_end: bool = False

    # -- mapping -------------------------------------------------------------------------------
    def index(self, times: np.ndarray) -> np.ndarray:
        """Period number of each time: the period that contains it (floor)."""
        t = np.asarray(times, dtype="datetime64[ns]")
        if self.kind == "fixed":
            return (t.view("i8") - self.anchor) // self.step
        if self.kind == "month":
            months = t.astype("datetime64[M]").view("i8") + _EPOCH_MONTH
            return (months - self.anchor) // self.step
        days = t.astype("datetime64[D]")
        # A weekend day belongs to the business day before it.
        return np.busday_count(np.datetime64(self.anchor, "D"), days + 1) - 1

    def times(self, index: np.ndarray) -> np.ndarray:
        """Timestamps (naive ``datetime64[ns]``) of period numbers."""
        idx = np.asarray(index, dtype="i8")
        if self.kind == "fixed":
            return (idx * self.step + self.anchor).view("datetime64[ns]")
        if self.kind == "month":
            months = idx * self.step + self.anchor - _EPOCH_MONTH
            if self.month_end:
                months = months + self.step
                return ((months.astype("datetime64[M]").astype("datetime64[D]") - 1)
                        .astype("datetime64[ns]"))
            return months.astype("datetime64[M]").astype("datetime64[ns]")
        start = np.datetime64(self.anchor, "D")
        return np.busday_offset(start, idx, roll="forward").astype("datetime64[ns]")

    def on_grid(self, times: np.ndarray) -> np.ndarray:
        """True where a time is exactly a grid point."""
        t = np.asarray(times, dtype="datetime64[ns]")
        return self.times(self.index(t)) == t

    @property
    def offset(self) -> pd.DateOffset:
        """The pandas offset of one step ('2MS-FEB' is '2MS': it steps from a grid time)."""
        return to_offset(self.freq.split("-")[0] if _MONTHS_NAME.match(self.freq)
                         else self.freq)

    @property
    def season_length(self) -> int:
        """The main seasonal period, in steps (1 when there is none)."""
        if self.kind == "business":
            return 5
        if self.kind == "month":
            return 12 // self.step if self.step < 12 else 1
        day = _NS_PER_DAY
        if self.step == 7 * day:
            return 52
        if self.step == day:
            return 7
        if self.step < day and day % self.step == 0:
            return day // self.step
        return 1


# -- construction ------------------------------------------------------------------------------
def grid_from_freq(freq: str, first_time_ns: int = 0) -> TimeGrid:
    """The grid of a pandas frequency string, or of tsauto's name of a grid of 2, 4 or 6
    months ('2MS-FEB': month starts, February, April...); ``first_time_ns`` anchors fixed
    steps, and grids of several months that name no month."""
    text = str(freq).strip()
    named = _MONTHS_NAME.match(text.upper())
    if named and int(named[1]) in _SEVERAL_MONTHS:
        return _months_grid(int(named[1]), _MONTHS.index(named[3]), named[2] == "E")
    base = text.lstrip("0123456789")
    text = text[: len(text) - len(base)] + _ALIASES.get(base, base)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            off = to_offset(text)
    except (ValueError, TypeError):
        raise SettingsError(f"freq={freq!r} is not a frequency tsauto understands; valid: "
                            f"{SUPPORTED}.") from None
    n = int(getattr(off, "n", 1))
    if isinstance(off, pdo.Week) and off.weekday is not None and n == 1:
        name = f"W-{_WEEKDAYS[off.weekday]}"
        step = 7 * _NS_PER_DAY
        return TimeGrid(name, "fixed", step, _FIRST_MONDAY_NS + off.weekday * _NS_PER_DAY)
    if isinstance(off, (pdo.Tick, pdo.Day)) or type(off).__name__ == "Day":
        step = int(pd.Timedelta(off).value)
        return TimeGrid(off.freqstr, "fixed", step, first_time_ns % step)
    if isinstance(off, pdo.BusinessDay) and n == 1:
        day = np.datetime64(first_time_ns, "ns").astype("datetime64[D]")
        anchor = np.busday_offset(day, 0, roll="backward")
        return TimeGrid("B", "business", 1, int(anchor.astype("i8")))
    if n == 1 and isinstance(off, (pdo.MonthBegin, pdo.MonthEnd)):
        return TimeGrid(off.freqstr, "month", 1, 0, isinstance(off, pdo.MonthEnd))
    months = n * (3 if isinstance(off, (pdo.QuarterBegin, pdo.QuarterEnd)) else 1)
    if n > 1 and months in _SEVERAL_MONTHS and isinstance(
            off, (pdo.MonthBegin, pdo.MonthEnd, pdo.QuarterBegin, pdo.QuarterEnd)):
        end = isinstance(off, (pdo.MonthEnd, pdo.QuarterEnd))
        month = int(getattr(off, "startingMonth", 0) or 0) - 1  # 2QS-FEB names its months
        if month < 0:  # '2MS' names none: through the first time's month
            month = int(np.datetime64(first_time_ns, "ns").astype("datetime64[M]").astype("i8"))
        return _months_grid(months, month, end)
    if n == 1 and isinstance(off, (pdo.QuarterBegin, pdo.QuarterEnd, pdo.YearBegin, pdo.YearEnd)):
        step = 3 if isinstance(off, (pdo.QuarterBegin, pdo.QuarterEnd)) else 12
        month = int(getattr(off, "startingMonth", None) or getattr(off, "month", 1)) - 1
        end = isinstance(off, (pdo.QuarterEnd, pdo.YearEnd))
        anchor = (month - (step - 1)) % step if end else month % step
        prefix = {3: "Q", 12: "Y"}[step] + ("E" if end else "S")
        return TimeGrid(f"{prefix}-{_MONTHS[month]}", "month", step, anchor, end)
    raise SettingsError(f"freq={freq!r} is not supported; valid: {SUPPORTED}.")


def _months_grid(months: int, month: int, end: bool) -> TimeGrid:
    """The grid of every ``months`` months (2, 4 or 6) through the month numbered ``month``
    (months since 1970-01, or of the year), labelled by the period's first day or, with
    ``end``, its last (that month then ends a period).  pandas has no name that fixes its
    months, so its name is tsauto's: '2MS-FEB' (starts of February, April...), '6ME-JUN'
    (ends of June and December); the first such month of the year is named."""
    anchor = (month - (months - 1)) % months if end else month % months
    named = (anchor + months - 1) % months if end else anchor
    return TimeGrid(f"{months}M{'E' if end else 'S'}-{_MONTHS[named]}", "month", months,
                    anchor, bool(end))


def _month_span(k: int) -> tuple[int, int]:
    """The fewest and most days that k consecutive calendar months span."""
    starts = np.arange("2000-01", "2004-01", dtype="datetime64[M]")
    days = ((starts + k).astype("datetime64[D]") - starts.astype("datetime64[D]")).astype("i8")
    return int(days.min()), int(days.max())


_MONTH_CLASSES = {k: ({1: "month", 3: "quarter", 12: "year"}.get(k, f"{k} months"),
                      *_month_span(k)) for k in _MONTH_STEPS}


def _category(delta_ns: np.ndarray) -> np.ndarray:
    """Coarse frequency class of step lengths, so that 28..31-day steps all read 'month',
    59..62-day steps '2 months', and so on."""
    days = delta_ns / _NS_PER_DAY
    out = np.full(delta_ns.shape, "", dtype=object)
    for name, low, high in _MONTH_CLASSES.values():
        out[(days >= low) & (days <= high)] = name
    rest = out == ""
    out[rest] = [str(pd.Timedelta(int(d))) for d in delta_ns[rest]]
    return out


def _month_grid_votes(counts: pd.DataFrame) -> pd.DataFrame:
    """``counts`` (series s, class c, steps n, longest d) with each series' steps of whole
    months as one vote for one grid: the coarsest whose multiples make 90% of them.  Steps of
    one and two months mixed are monthly data with gaps, not bi-monthly data; two-month steps
    with one stray month between are bi-monthly."""
    steps = {name: k for k, (name, _, _) in _MONTH_CLASSES.items()}
    months = counts["c"].isin(list(steps))
    if not months.any():
        return counts
    table = (counts[months].assign(k=counts.loc[months, "c"].map(steps))
             .pivot_table(index="s", columns="k", values="n", aggfunc="sum", fill_value=0)
             .reindex(columns=list(_MONTH_STEPS), fill_value=0))
    ks = np.array(_MONTH_STEPS)
    divides = (ks[None, :] % ks[:, None] == 0).astype(float)  # [i, j]: k_j a multiple of k_i
    support = table.to_numpy() @ divides.T                      # steps on each k's grid
    total = table.to_numpy().sum(axis=1)
    fits = support >= 0.9 * total[:, None]
    chosen = ks[len(ks) - 1 - np.argmax(fits[:, ::-1], axis=1)]  # the coarsest that fits
    votes = pd.DataFrame({"s": table.index, "c": [_MONTH_CLASSES[k][0] for k in chosen],
                          "n": total.astype("int64"), "d": chosen * 31 * _NS_PER_DAY})
    return pd.concat([counts[~months], votes], ignore_index=True)


def infer_grid(times_ns: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> TimeGrid:
    """Infer one frequency for all series from their sorted times.

    ``codes`` is each row's series number (rows sorted by series, then time) and ``labels``
    the series names.  Raises ``FrequencyError`` when series disagree on their frequency or
    when no series has two distinct times.
    """
    t = np.asarray(times_ns, dtype="i8")
    same = codes[1:] == codes[:-1]
    delta = (t[1:] - t[:-1])[same]
    owner = codes[1:][same]
    keep = delta > 0
    delta, owner = delta[keep], owner[keep]
    if delta.size == 0:
        raise FrequencyError("cannot infer the frequency: no series has two distinct timestamps. "
                             "Pass freq explicitly, e.g. freq='D' or freq='MS'.")
    # Each series' class with the most steps (28..31-day steps all count for 'month', so one
    # stray date cannot outvote the calendar); a tie goes to the longer step, which invents
    # fewer periods.
    unique, inverse = np.unique(delta, return_inverse=True)
    counts = _month_grid_votes(pd.DataFrame({"s": owner, "c": _category(unique)[inverse],
                                             "d": delta})
                               .groupby(["s", "c"], sort=False).agg(n=("d", "size"), d=("d", "max"))
                               .reset_index())
    counts = counts.sort_values(["s", "n", "d"], ascending=[True, False, False])
    modal = counts.drop_duplicates("s")
    cats = modal["c"].to_numpy()
    cat_sizes = pd.Series(cats).value_counts()
    main = cat_sizes.index[0]
    if len(cat_sizes) > 1:
        odd = modal["s"].to_numpy()[cats != main]
        odd_cats = cats[cats != main]
        found = ", ".join(f"{c} ({n} series)" for c, n in cat_sizes.items())
        raise FrequencyError(
            f"series have mixed frequencies: {found}. Series {preview(list(labels[odd]))} step "
            f"by {preview(sorted(set(odd_cats)))} while most step by {main}. Give each dataset "
            f"one frequency: resample those series, or pass freq= and target_aggregation= to "
            f"aggregate them onto one grid.")
    step = int(modal["d"].to_numpy()[cats == main][0])
    ts = t.view("datetime64[ns]")
    first = int(t.min())
    step_m = {name: k for k, (name, _, _) in _MONTH_CLASSES.items()}.get(main)
    months = ts.astype("datetime64[M]")
    month_end = np.mean(ts.astype("datetime64[D]") + 1 == (months + 1).astype("datetime64[D]"))
    day_of_month = (ts.astype("datetime64[D]") - months.astype("datetime64[D]")).view("i8")
    if step_m and np.unique(delta).size == 1 and \
            max(np.bincount(day_of_month).max() / len(ts), month_end) < 0.5:
        step_m, step = None, int(delta[0])  # every 60 days: one step drifting through months
    if step_m:
        is_end = month_end > 0.5 and np.mean(ts.astype("datetime64[D]") == months) < 0.5
        if main == "month":
            return grid_from_freq("ME" if is_end else "MS", first)
        month_no = months.view("i8") % 12
        if step_m in _SEVERAL_MONTHS:  # the commonest place in the step: strays cannot move it
            return _months_grid(step_m, int(pd.Series(month_no % step_m).mode().iloc[0]), is_end)
        common = int(pd.Series(month_no % step_m).mode().iloc[0])
        if is_end:
            # e.g. QE-DEC: the quarter's last month is the anchor month name.
            anchor_month = common + (12 - step_m) if step_m == 12 else common + 9
        else:
            anchor_month = common
        prefix = ("QE" if is_end else "QS") if step_m == 3 else ("YE" if is_end else "YS")
        return grid_from_freq(f"{prefix}-{_MONTHS[anchor_month % 12]}", first)
    if step == _NS_PER_DAY:
        weekday = (ts.astype("datetime64[D]").view("i8") + 3) % 7  # 0 = Monday
        weekend = np.mean(weekday >= 5)
        if weekend == 0 and np.any(delta == 3 * _NS_PER_DAY):
            return grid_from_freq("B", first)
        return grid_from_freq("D", first)
    if step == 7 * _NS_PER_DAY:
        weekday = int(pd.Series((ts.astype("datetime64[D]").view("i8") + 3) % 7).mode().iloc[0])
        return grid_from_freq(f"W-{_WEEKDAYS[weekday]}", first)
    return grid_from_freq(to_offset(pd.Timedelta(step)).freqstr, first)
