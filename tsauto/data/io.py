"""Tables in and out: one reader and one writer for every file a user hands over or gets back.

The format follows the file name's extension: CSV (``.csv``, ``.txt``, optionally compressed
``.gz``/``.bz2``/``.zip``/``.xz``/``.zst``), TSV (``.tsv``), Parquet (``.parquet``, ``.pq``)
and JSON (``.json``, a list of records).  A file whose content does not match its extension
(a CSV named ``.parquet``, a pickle named ``.csv``), an empty file, a header without rows, a
folder or an unknown extension is a ``DataError`` naming the path and what was expected; an
output path that cannot be written is a ``SettingsError`` naming the option.  ``-`` as an output
path writes CSV to standard output.
"""

from __future__ import annotations

import codecs
import datetime
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.errors import DataError, SettingsError, preview

_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".parquet": "parquet",
            ".pq": "parquet", ".json": "json"}
_COMPRESSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")
_NAMES = {"csv": "CSV", "tsv": "TSV", "parquet": "Parquet", "json": "JSON"}
READABLE = "a .csv, .tsv, .parquet or .json file (CSV, TSV and JSON may be compressed: .csv.gz)"
WRITABLE = ".csv, .parquet or .json (or '-' for CSV on standard output)"
STDOUT = "-"

# The first bytes of the binary files people most often hand over by mistake.
_MAGIC = ((b"PAR1", "a Parquet file"), (b"\x1f\x8b", "a gzip archive"), (b"PK\x03\x04",
          "a zip archive (an Excel .xlsx file is one)"), (b"BZh", "a bzip2 archive"),
          (b"\xfd7zXZ", "an xz archive"), (b"\x28\xb5\x2f\xfd", "a zstd archive"),
          (b"\x80", "a Python pickle"),
          (b"\xd0\xcf\x11\xe0", "an old Excel/Office file"), (b"%PDF", "a PDF document"))


def table_format(path: str | Path) -> str | None:
    """'csv', 'tsv', 'parquet' or 'json' from the file name, or None when the name says none."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    compressed = bool(suffixes) and suffixes[-1] in _COMPRESSIONS
    if compressed:
        suffixes = suffixes[:-1]
    kind = _FORMATS.get(suffixes[-1]) if suffixes else None
    return None if compressed and kind == "parquet" else kind


def read_table(path: str | Path, what: str = "data file") -> pd.DataFrame:
    """The rows of a CSV, TSV, Parquet or JSON file, chosen by extension.  ``what`` names the
    file in errors (e.g. 'data file', 'future file')."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} '{path}' does not exist.")
    if path.is_dir():
        raise DataError(f"{what} '{path}' is a folder; give {READABLE}.")
    kind = table_format(path)
    found = _content(path)
    if kind is None:
        raise DataError(f"cannot read {what} '{path}': the extension "
                        f"'{''.join(path.suffixes) or '(none)'}' is not a table format"
                        f"{_looks_like(found)}. Use {READABLE}.")
    if path.stat().st_size == 0:
        raise DataError(f"{what} '{path}' is empty (0 bytes); expected a {_NAMES[kind]} file "
                        f"with a header row and data rows.")
    compressed = path.suffix.lower() in _COMPRESSIONS
    if kind == "parquet" and found != "a Parquet file":
        raise DataError(f"{what} '{path}' is not a Parquet file{_looks_like(found)}. Name a "
                        f"file by its format: {READABLE}.")
    if kind != "parquet" and not compressed and found not in (None, "text"):
        raise DataError(f"{what} '{path}' is {found}, not a {_NAMES[kind]} text file. Name a "
                        f"file by its format: {READABLE}.")
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind == "json":
            # JSON types kept as written: no guessing of numbers or dates from text.
            frame = pd.read_json(path, dtype=False, convert_dates=False, precise_float=True)
        else:
            frame = read_csv_rows(path, sep="\t" if kind == "tsv" else ",")
    except pd.errors.EmptyDataError:
        raise DataError(f"{what} '{path}' has no columns: expected a {_NAMES[kind]} file with a "
                        f"header row and data rows.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {what} '{path}' as {_NAMES[kind]}: it is not UTF-8 text "
                        f"(byte {exc.object[exc.start:exc.start + 1]!r} at position "
                        f"{exc.start}); save it as UTF-8.") from None
    except (ValueError, OSError) as exc:  # parser, Arrow and decompression errors
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {what} '{path}' as {_NAMES[kind]}: {reason}") from None
    if frame.empty:
        raise DataError(f"{what} '{path}' has no rows"
                        + (f", only the columns {preview(list(frame.columns), 10)}"
                           if len(frame.columns) else "") + ".")
    return frame


def read_csv_rows(source, sep: str = ",") -> pd.DataFrame:
    """CSV with a header row, every row of its fields: a row with more fields than the header
    is a ValueError (pandas would make the extra leading fields an index and shift every
    column left, or with ``index_col=False`` drop the extra ones, both without a word)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(source, sep=sep, index_col=False)
        except pd.errors.ParserWarning:
            raise ValueError("some rows have more fields than the header (an unquoted "
                             "separator inside a value, or extra fields at the ends of the "
                             "rows); quote such values or make every row match the "
                             "header") from None


def as_frame(data, what: str) -> pd.DataFrame:
    """A DataFrame as given, or read from a path by ``read_table``; ``what`` names the argument
    in errors."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, Path)):
        return read_table(data, f"{what} file")
    raise SettingsError(f"{what} must be a pandas DataFrame or the path of a table file "
                        f"({READABLE}), not {type(data).__name__}.")


def check_output_file(path: str | Path, what: str = "--out") -> str:
    """The format a table would be written in at ``path``, or a SettingsError when it cannot
    be written there (a folder, an unknown extension, a parent that is a file or read-only).
    Commands call this before their work, so that a bad path fails fast."""
    if str(path) == STDOUT:
        return "csv"
    path = Path(path)
    kind = table_format(path)
    if not path.is_dir() and (kind is None or kind == "tsv"):
        raise SettingsError(f"{what} '{path}': cannot tell the format from the extension "
                            f"'{''.join(path.suffixes) or '(none)'}'; use {WRITABLE}.")
    check_output_path(path, what, "forecast.csv")
    return kind


def check_output_path(path: str | Path, what: str, example: str) -> Path:
    """``path`` when a file can be written there; else a SettingsError: it is a folder (the
    message suggests ``example`` inside it), or the nearest existing folder above it is a file
    or read-only.  Commands call it before their work, so that a bad path fails fast."""
    path = Path(path)
    if path.is_dir():
        raise SettingsError(f"{what} '{path}' is a folder; give a file name, e.g. "
                            f"'{path / example}'.")
    check_parent(path.parent, what, path)
    return path


def check_output_dir(path: str | Path, what: str = "--out") -> Path:
    """``path`` when a folder exists there or can be created (with its parents)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SettingsError(f"{what} '{path}' is a file; a folder is written there (model, "
                            f"leaderboard, reports): give the name of a new or existing folder.")
    check_parent(path, what, path)
    return path


def json_records(frame: pd.DataFrame, indent: int | None = None) -> str:
    """``frame`` as JSON records, as exact as its CSV: each number as Python writes it, the
    shortest text that reads back the same (pandas' ``to_json`` keeps 10 decimals: 1.2413e-07
    became 1.241e-07), times in ISO with their own zone's offset (``to_json`` moves zoned times
    to UTC), missing and infinite values as null (JSON has no NaN or Infinity)."""
    known = frame.notna()
    for col in frame.columns[[pd.api.types.is_float_dtype(t) for t in frame.dtypes]]:
        known[col] &= np.isfinite(frame[col].to_numpy(dtype="float64", na_value=np.nan))
    records = frame.astype(object).where(known, None).to_dict("records")
    return json.dumps(records, default=_json_value, indent=indent, allow_nan=False)


def _json_value(value):
    if isinstance(value, (pd.Timestamp, datetime.date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write_table(frame: pd.DataFrame, path: str | Path, what: str = "--out") -> None:
    """Write ``frame`` as CSV, Parquet or JSON (records) by the extension of ``path``, creating
    missing parent folders; ``-`` writes CSV to standard output."""
    kind = check_output_file(path, what)
    if str(path) == STDOUT:
        frame.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
        return
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "parquet":
            frame.to_parquet(path, index=False)
        elif kind == "json":
            path.write_text(json_records(frame, indent=1))
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise SettingsError(f"cannot write {what} '{path}': {exc.strerror or exc}.") from None
    except (ValueError, TypeError) as exc:  # Arrow cannot type a column: say which format works
        raise DataError(f"cannot write {what} '{path}' as {_NAMES[kind]}: "
                        f"{str(exc).splitlines()[0]}; write .csv instead.") from None


def check_parent(path: Path, what: str, target: Path) -> None:
    """The nearest existing folder above (or at) ``path`` must be a writable folder."""
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise SettingsError(f"{what} '{target}': '{folder}' is a file, not a folder.")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise SettingsError(f"{what} '{target}': the folder '{folder}' is not writable.")
            return


def _content(path: Path) -> str | None:
    """What a file's first bytes say it is ('a Parquet file', ..., 'text'), None if unknown."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise DataError(f"cannot open '{path}': {exc.strerror or exc}.") from None
    known = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    if known or not head:
        return known
    try:  # a multi-byte character cut at the end of the sample is still text
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return "text" if all(c.isprintable() or c.isspace() for c in text) else None


def _looks_like(found: str | None) -> str:
    if found == "text":
        return ": its content looks like text (CSV?)"
    return f": its content is {found}" if found else ""
