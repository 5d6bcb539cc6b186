"""What each column of a plain table is: the one set of column-type rules of the tabular path.

``detect_column_types(X)`` gives every column a ``ColumnInfo`` (kind, reason, cardinality,
missing share and, for date strings, the one format they are read with).  ``TabularDataset``
(``column_types()`` / ``column_kinds()``), the tabular guardrails and ``TabularFeaturizer`` all
read columns through it, so they agree on what is numeric, categorical, ... and on which columns
are dropped (``DROPPED``: id, constant, empty).  The ``parse_*`` helpers turn a column into the
values its kind stands for; the featurizer and the guardrails use them at fit and transform time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from tsauto.errors import DataError, preview

KINDS = ("numeric", "boolean", "categorical", "datetime", "text", "id", "constant", "empty")
DROPPED = ("id", "constant", "empty")   # kinds that featurization drops
MIN_ROWS_FOR_ID = 20           # below this, "unique per row" says nothing about a column
SAMPLE_SIZE = 500              # values parsed when testing object columns for numbers/dates
# Spellings of a two-valued column read as a boolean (lower-cased, stripped).
BOOL_WORDS = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0,
              "yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0, "t": 1.0, "f": 0.0}


@dataclass(frozen=True)
class ColumnInfo:
    """What ``detect_column_types`` concluded about one raw column."""

    column: object
    kind: str                # one of KINDS
    reason: str
    cardinality: int         # distinct non-missing values
    missing_share: float
    date_format: str | None = None   # datetime kind read from strings: their format


def detect_column_types(X: pd.DataFrame, target: str | None = None) -> dict[object, ColumnInfo]:
    """Kind of every column of ``X`` (except ``target``), in column order.

    Rules, first match wins (counts are over non-missing values):

    1. no value at all -> ``empty`` (dropped); one distinct value -> ``constant`` (dropped);
    2. bool dtype, or exactly two distinct values spelled 0/1, true/false, yes/no, y/n or t/f
       (any case) -> ``boolean``;
    3. datetime dtype -> ``datetime``;
    4. numeric dtype, or object strings of which >= 95% of a sample parse as numbers ->
       ``numeric``, except integers that are all distinct and form a consecutive range (a row
       counter, in any order) over at least 20 rows -> ``id`` (dropped);
    5. object strings with a digit of which >= 95% of a sample parse as dates with one format
       (ISO 8601, else the first value's format read month-first, else day-first) ->
       ``datetime``;
    6. other object / string / category columns: with at least 20 values of which more than
       90% are distinct, ``text`` when they average 3 or more whitespace-separated tokens, else
       ``id`` (dropped: unique per row); otherwise ``categorical``.
    """
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"detect_column_types expects a pandas DataFrame, got "
                        f"{type(X).__name__}.")
    return {col: _detect(X[col], col) for col in X.columns if col != target}


def _detect(s: pd.Series, col) -> ColumnInfo:
    present = s.dropna()
    n = len(present)
    missing_share = round(float(1 - n / len(s)), 4) if len(s) else 1.0
    card = int(present.nunique())

    def info(kind: str, reason: str, date_format: str | None = None) -> ColumnInfo:
        return ColumnInfo(col, kind, reason, card, missing_share, date_format)

    if n == 0:
        return info("empty", "all values missing")
    if card == 1:
        return info("constant", f"a single value ({preview([present.iloc[0]], 1)})")
    if pd.api.types.is_bool_dtype(s):
        return info("boolean", "bool dtype")
    if card == 2 and set(parse_binary(pd.Series(present.unique())).tolist()) == {0.0, 1.0}:
        return info("boolean", f"two values ({preview(sorted(map(str, present.unique())))})")
    if pd.api.types.is_datetime64_any_dtype(s):
        return info("datetime", "datetime dtype")

    numbers, reason = None, "numeric dtype"
    if pd.api.types.is_numeric_dtype(s):
        numbers = present.astype("float64")
    elif not isinstance(s.dtype, pd.CategoricalDtype):  # a declared category stays one
        sample = _sample(present).astype(str)
        if pd.to_numeric(sample, errors="coerce").notna().mean() >= 0.95:
            numbers = pd.to_numeric(present.astype(str), errors="coerce").dropna()
            reason = "numbers stored as text"
        elif sample.str.contains(r"\d").mean() >= 0.95:
            fmt = detect_date_format(sample)
            if fmt is not None:
                return info("datetime", f"text that parses as dates ({fmt})", fmt)
    if numbers is not None:
        if (n >= MIN_ROWS_FOR_ID and card == n and (numbers == np.floor(numbers)).all()
                and numbers.max() - numbers.min() + 1 == n):
            return info("id", "distinct consecutive integers: looks like a row counter")
        return info("numeric", reason)

    unique_share = card / n
    if n >= MIN_ROWS_FOR_ID and unique_share > 0.9:
        tokens = present.astype(str).str.split().str.len().mean()
        if tokens >= 3:
            return info("text", f"{unique_share:.0%} distinct, {tokens:.1f} words on average")
        return info("id", "unique per row: looks like an identifier")
    return info("categorical", f"{card} levels")


def _sample(s: pd.Series) -> pd.Series:
    return s.sample(SAMPLE_SIZE, random_state=0) if len(s) > SAMPLE_SIZE else s


# -- parsing: a column as the values its kind stands for ----------------------------------------
def parse_binary(s: pd.Series) -> pd.Series:
    """0/1 floats from a bool, 0/1 numeric or yes/no-like column; anything else is NaN."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        values = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
        return values.where(values.isin((0.0, 1.0)))
    return s.astype("string").str.strip().str.lower().map(BOOL_WORDS).astype("float64")


def parse_numbers(s: pd.Series) -> pd.Series:
    """float64 values of a numeric column or of numbers stored as text (others are NaN)."""
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        s = pd.to_numeric(s.astype("string"), errors="coerce")
    return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)


def unreadable(s: pd.Series, kind: str, date_format: str | None = None) -> pd.Series:
    """True where a present value cannot be read as ``kind`` (numeric, boolean or datetime;
    other kinds read anything): the values featurization would otherwise impute unseen."""
    if kind == "numeric":
        parsed = parse_numbers(s)
    elif kind == "boolean":
        parsed = parse_binary(s)
    elif kind == "datetime":
        parsed = parse_dates(s, date_format)
    else:
        return pd.Series(False, index=s.index)
    return pd.Series(parsed.isna().to_numpy() & s.notna().to_numpy(), index=s.index)


_READS = {"numeric": "a finite number", "boolean": "one of the two values seen in training",
          "datetime": "a date"}


def check_readable(frame: pd.DataFrame, kinds, name: str, imputed: bool = True) -> None:
    """A ``DataError`` naming the first row and column of ``frame`` whose value cannot be read
    as its column's kind; ``kinds`` holds (column, kind, date_format) triples; ``imputed``
    says whether an empty value would be imputed (the error then offers that)."""
    for col, kind, date_format in kinds:
        if col not in frame.columns:
            continue
        bad = unreadable(frame[col], kind, date_format)
        if kind == "numeric":  # infinity reads as a number, but no model can use it
            bad |= np.isinf(parse_numbers(frame[col]))
        if bad.any():
            rows = [plain_value(r) for r in frame.index[bad.to_numpy()]]
            extra = f" ({len(rows)} such values, rows {preview(rows)})" if len(rows) > 1 else ""
            suffix = f" in the format '{date_format}'" if date_format else ""
            value = plain_value(frame[col].to_numpy()[np.flatnonzero(bad.to_numpy())[0]])
            raise DataError(
                f"{name}: column '{col}' was {kind} in training, but row {rows[0]!r} holds "
                f"{value!r}, which is not {_READS[kind]}{suffix}{extra}; fix the value"
                + (", or leave it empty to have it imputed." if imputed else "."))


def plain_value(value):
    """numpy scalars as Python values, for readable messages and JSON."""
    return value.item() if isinstance(value, np.generic) else value


def detect_date_format(s: pd.Series) -> str | None:
    """One format that parses >= 95% of (a sample of) the strings ``s``, else None.

    One format for the whole column, rather than a guess per value, so that 01/02 and 13/02
    are read the same way (day first or month first, whichever the sample supports).
    """
    s = _sample(s.dropna()).astype(str)
    if s.empty:
        return None
    candidates = ["ISO8601"] + [guess_datetime_format(s.iloc[0], dayfirst=d) for d in (False, True)]
    for fmt in dict.fromkeys(c for c in candidates if c):
        if parse_dates(s, fmt).notna().mean() >= 0.95:
            return fmt
    return None


def parse_dates(s: pd.Series, fmt: str | None = None) -> pd.Series:
    """Naive timestamps (time-zone aware values in UTC); unparseable values are NaT.
    ``fmt`` is the format of string values (``ColumnInfo.date_format``)."""
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s.astype("string"), errors="coerce", format=fmt, utc=True)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s
