"""Reading a time column into one clock, without a silent guess.

``parse_times(column, name, date_format=None, owners=None)`` returns ``ParsedTimes``: naive
``datetime64[ns]`` values on the clock the grid works on, the time zone (or None), that clock
(``naive``, ``wall`` or ``utc``), the text format used, and ``notes``: every reading a user must
know about (dates read day-first, several UTC offsets brought onto one clock), which the
guardrail report shows.  Only the distinct values are parsed: many series share their times.

The rules, where a wrong guess would move every value:

- ``date_format`` given: every text value must match it, else a ``DataError`` naming them.
- Numeric day/month/year text (``31/01/2020``, ``1.2.2020``, ``01-02-20``): day-first when some
  first field exceeds 12, month-first when some second field does; both at once is an error.
  When every field is 12 or less, both readings are tried and the one that leaves fewer periods
  of its grid empty is used (a note says so); when they tie, an error asks for ``date_format``.
- Other text: the format pandas infers from the data, else value by value.
- Time zones: one zone is kept (daily and coarser data at local midnight on its wall clock,
  finer data in UTC).  Several UTC offsets (a zone written with its summer and winter offsets,
  or several zones): dates at local midnight keep their local date and lose the offset; finer
  times are converted to UTC.  Times with a zone mixed with times without one are an error
  naming the series of each kind: nothing says which clock the naive ones are on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from tsauto.data.frequency import infer_grid
from tsauto.errors import DataError, SettingsError, preview

# day/month/year or month/day/year, the same separator twice, year last (2 or 4 digits).
_NUMERIC_DATE = r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(?:\d{4}|\d{2})(?!\d)"
# pandas' own format keywords, accepted as date_format.
_KEYWORDS = ("ISO8601", "mixed")


@dataclass(frozen=True)
class ParsedTimes:
    values: np.ndarray        # naive datetime64[ns] on the ``mode`` clock
    tz: object                # the zone of the user's times, or None
    mode: str                 # naive | wall | utc (see ``localize``)
    date_format: str | None   # the format text times were read with (None: inferred / not text)
    notes: tuple[str, ...]    # readings the user must know about


def check_date_format(date_format: str | None) -> str | None:
    """``date_format`` itself, if it is a strftime format pandas can read dates with."""
    problem = date_format_problem(date_format)
    if problem:
        raise SettingsError(f"date_format={date_format!r} is not valid: {problem}.")
    return date_format


def date_format_problem(date_format) -> str | None:
    """Why ``date_format`` cannot read dates, or None when it can."""
    if date_format is None or date_format in _KEYWORDS:
        return None
    if not isinstance(date_format, str) or "%" not in date_format:
        return ("use strftime codes such as '%d/%m/%Y' or '%Y-%m-%d %H:%M', or 'ISO8601'")
    sample = pd.Timestamp(2001, 2, 3, 4, 5, 6)
    try:
        pd.to_datetime(sample.strftime(date_format), format=date_format)
    except (ValueError, TypeError) as exc:
        return f"it cannot read the dates it writes ({exc}); use codes such as '%d/%m/%Y'"
    return None


def parse_times(column: pd.Series, name: str, date_format: str | None = None,
                owners: Callable[[np.ndarray], np.ndarray] | None = None,
                where: str = "time column") -> ParsedTimes:
    """Parse a time column (see the module rules); ``owners`` maps row positions to series
    labels, so that errors can name series; ``where`` says which frame's column it is."""
    values = column
    fmt, notes = date_format, []
    if not pd.api.types.is_datetime64_any_dtype(values):
        if pd.api.types.is_numeric_dtype(values):
            raise DataError(f"{where} '{name}' holds numbers, not dates (e.g. "
                            f"{values.iloc[0]!r}); convert it first, e.g. for years "
                            f"pd.to_datetime(df['{name}'].astype(str), format='%Y').")
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        uniques = pd.Series(uniques, dtype=object)
        if fmt is None:
            fmt, note = _numeric_date_format(uniques, name, where)
            notes += [note] if note else []
        parsed = _parse_unique(uniques, fmt)
        bad = parsed.isna().to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad[codes] & (codes >= 0))
            hint = f" (date_format={fmt!r})" if fmt else ""
            raise DataError(f"{where} '{name}' has {len(rows)} values that are not "
                            f"dates{hint}, e.g. {preview(values.iloc[rows[:3]].tolist(), 3)} at "
                            f"rows {preview(rows.tolist())}.")
        if parsed.dtype == object:  # several zones, or zones and none
            parsed, note = _one_clock(parsed, values, codes, name, owners, where)
            notes.append(note)
        taken = parsed.take(np.where(codes < 0, 0, codes)) if len(parsed) else parsed.reindex(codes)
        values = pd.Series(taken.to_numpy(), index=values.index).where(codes >= 0)
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())
        raise DataError(f"{where} '{name}' is missing in {len(rows)} rows, e.g. rows "
                        f"{preview(rows.tolist())}; every row needs a time.")
    tz = getattr(values.dt, "tz", None)
    if tz is None:
        return ParsedTimes(values.to_numpy(dtype="datetime64[ns]"), None, "naive", fmt,
                           tuple(notes))
    wall = values.dt.tz_localize(None)
    if (wall == wall.dt.normalize()).all():
        return ParsedTimes(wall.to_numpy(dtype="datetime64[ns]"), tz, "wall", fmt, tuple(notes))
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return ParsedTimes(utc.to_numpy(dtype="datetime64[ns]"), tz, "utc", fmt, tuple(notes))


def localize(times: np.ndarray, tz, mode: str) -> pd.DatetimeIndex:
    """Naive grid times back on the user's clock (see ``parse_times``)."""
    idx = pd.DatetimeIndex(times)
    if tz is None:
        return idx
    if mode == "utc":
        return idx.tz_localize("UTC").tz_convert(tz)
    return idx.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")


# -- text formats ------------------------------------------------------------------------------
def _numeric_date_format(uniques: pd.Series, name: str,
                         where: str) -> tuple[str | None, str | None]:
    """The format of numeric day/month/year text, and a note when the order was a choice;
    (None, None) for any other text."""
    if not len(uniques) or not all(isinstance(v, str) for v in uniques):
        return None, None
    fields = uniques.str.extract(_NUMERIC_DATE)
    if fields[0].isna().any():
        return None, None
    first, second = fields[0].astype(int).to_numpy(), fields[2].astype(int).to_numpy()
    day_first, month_first = (first > 12) & (second <= 12), (second > 12) & (first <= 12)
    if day_first.any() and month_first.any():
        raise DataError(
            f"{where} '{name}' mixes day-first dates (e.g. "
            f"{uniques[day_first].iloc[0]!r}) with month-first ones (e.g. "
            f"{uniques[month_first].iloc[0]!r}); pass date_format= with the one format they "
            f"are written in, e.g. date_format='%d/%m/%Y', after making them agree.")
    if day_first.any() or month_first.any():
        dayfirst = bool(day_first.any())
        fmt = _guess(uniques[day_first if dayfirst else month_first].iloc[0], dayfirst, name,
                     where)
        note = (f"dates such as {uniques[day_first].iloc[0]!r} are day-first: read with "
                f"'{fmt}'" if dayfirst else None)
        return fmt, note
    # Every field could be a day or a month: keep the reading whose grid has fewer holes.
    example = uniques.iloc[0]
    formats = {d: _guess(example, d, name, where) for d in (False, True)}
    read = {d: pd.to_datetime(uniques, format=f, errors="coerce") for d, f in formats.items()}
    if read[False].equals(read[True]):
        return formats[False], None
    empty = {d: _empty_share(t) for d, t in read.items()}
    if abs(empty[True] - empty[False]) < 0.01:
        raise DataError(
            f"{where} '{name}' holds dates such as {example!r} that read as well day-first "
            f"as month-first; pass date_format='{formats[True]}' (day first) or "
            f"date_format='{formats[False]}' (month first).")
    dayfirst = empty[True] < empty[False]
    order = "day" if dayfirst else "month"
    return formats[dayfirst], (
        f"dates such as {example!r} could be day- or month-first; read {order}-first "
        f"('{formats[dayfirst]}'), which leaves {empty[dayfirst]:.0%} of the periods empty "
        f"instead of {empty[not dayfirst]:.0%}; pass date_format= to choose")


def _guess(example: str, dayfirst: bool, name: str, where: str) -> str:
    fmt = guess_datetime_format(example.strip(), dayfirst=dayfirst)
    if fmt is None:
        raise DataError(f"{where} '{name}': cannot tell the format of dates such as "
                        f"{example!r}; pass date_format=, e.g. '%d/%m/%Y'.")
    return fmt


def _empty_share(times: pd.Series) -> float:
    """Share of the periods between the first and last time that no time falls in, on the grid
    inferred from the times."""
    t = times.dropna()
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_localize(None)
    t = np.unique(t.to_numpy(dtype="datetime64[ns]"))
    if len(t) < 2:
        return 0.0
    grid = infer_grid(t.view("i8"), np.zeros(len(t), dtype=np.int64), np.array(["all"]))
    index = grid.index(t)
    return 1.0 - len(np.unique(index)) / float(index.max() - index.min() + 1)


def _parse_unique(uniques: pd.Series, fmt: str | None) -> pd.Series:
    """Distinct values as datetime64 (naive or one zone), or as an object Series of Timestamps
    when they carry several zones; unparseable values are NaT."""
    text = uniques.astype(str).str.replace(r"[\s-]", "", regex=True)
    if fmt is None and len(text) and text.str.fullmatch(r"\d{4}Q[1-4]").all():
        return pd.Series(pd.PeriodIndex(text, freq="Q").to_timestamp())  # '1998 Q1' (ABS, fpp3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            parsed = pd.to_datetime(uniques, format=fmt)
        except (ValueError, TypeError, OverflowError):
            parsed = None
    if parsed is not None and parsed.dtype != object:
        return parsed
    # Mixed formats or zones: value by value, keeping each value's own zone.
    stamps = pd.Series([_stamp(v, fmt) for v in uniques], dtype=object)
    if not any(getattr(s, "tzinfo", None) is not None for s in stamps):
        return pd.to_datetime(stamps)
    return stamps


def _stamp(value, fmt: str | None):
    try:
        return pd.to_datetime(value, format=fmt)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT


# -- time zones --------------------------------------------------------------------------------
def _one_clock(stamps: pd.Series, values: pd.Series, codes: np.ndarray, name: str,
               owners, where: str) -> tuple[pd.Series, str]:
    """Timestamps in several zones onto one clock, with the note saying how; zones mixed with
    naive times are an error naming the series of each kind."""
    aware = np.array([getattr(s, "tzinfo", None) is not None for s in stamps])
    if not aware.all():
        rows = np.flatnonzero(codes >= 0)
        row_aware = aware[codes[rows]]

        def named(mask):
            picked = rows[mask]
            who = np.unique(owners(picked)).tolist() if owners is not None else []
            return (f"series {preview(who)}, " if who else "") + \
                f"e.g. {values.iloc[picked[0]]!r} at row {picked[0]}"

        raise DataError(
            f"{where} '{name}' mixes times with a time zone or UTC offset ({named(row_aware)}) "
            f"and times without one ({named(~row_aware)}): nothing says which clock the naive "
            f"times are on. Give every time an offset (e.g. localize the naive ones to their "
            f"zone) or none.")
    offsets = pd.to_timedelta([s.utcoffset() for s in stamps])
    utc = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    wall = utc + offsets
    listing = preview(sorted({_offset_text(o) for o in offsets}), 6)
    if (wall == wall.dt.normalize()).all():
        return wall, (f"times carry several UTC offsets ({listing}); all are at local "
                      f"midnight, so each keeps its local date and the offsets are dropped")
    return utc.dt.tz_localize("UTC"), (f"times carry several UTC offsets ({listing}); they "
                                       f"were converted to UTC")


def _offset_text(offset: pd.Timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def when(time) -> str:
    """A timestamp as a person writes it: the date alone when it is midnight."""
    time = pd.Timestamp(time)
    return str(time.date()) if time == time.normalize() and time.tzinfo is None else str(time)
