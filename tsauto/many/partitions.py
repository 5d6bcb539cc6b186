"""Partitions of a many-models fit: their keys, their folder names and the frame's checks.

Every row carries the name of its partition's folder (``PARTITION``), made once by the driver
from the partition columns' values, so that a worker on any engine finds the same folder
whatever the engine did to the key's types on the way.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd

from tsauto.errors import DataError, SettingsError, closest_hint, preview

PARTITION = "_tsauto_partition"   # the column naming each row's partition folder
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def check_partition_by(partition_by, frame: pd.DataFrame, settings) -> list[str]:
    """The partition columns as a list, after checking that the frame has them and that
    none is the time or target column."""
    if isinstance(partition_by, str):
        partition_by = [partition_by]
    if not partition_by or not all(isinstance(c, str) for c in partition_by):
        raise SettingsError(f"partition_by must name one or more columns, got {partition_by!r}.")
    if len(set(partition_by)) != len(partition_by):
        raise SettingsError(f"partition_by names a column twice: {partition_by}.")
    for column in partition_by:
        if column not in frame.columns:
            raise SettingsError(f"partition_by column {column!r} is not in the data."
                                + closest_hint(column, [str(c) for c in frame.columns]))
        if column in (settings.time_column, settings.target_column):
            raise SettingsError(f"partition_by column {column!r} is the time or target column; "
                                f"partition by a series attribute (a store, a region).")
    missing = frame[partition_by].isna().any(axis=1).to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataError(f"partition_by columns {partition_by} are missing in {len(rows)} row(s) "
                        f"(first rows: {preview(rows.tolist())}): every row needs a partition; "
                        f"fill or drop them.")
    return list(partition_by)


def plain(value):
    """A key value as plain Python (numpy scalars and timestamps become JSON-able)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def slug(key: tuple) -> str:
    """A folder name for a partition: readable, and unique by a hash of the key."""
    text = json.dumps([plain(v) for v in key], default=str)
    readable = "_".join(_UNSAFE.sub("-", str(v)).strip("-") for v in key)[:48] or "p"
    return f"{readable}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def with_partitions(frame: pd.DataFrame, partition_by: list[str]) -> tuple[pd.DataFrame,
                                                                            pd.DataFrame]:
    """The frame with each row's partition folder name, and the partitions: one row each with
    the key's columns and ``PARTITION``, in the sorted order of the keys."""
    grouped = frame.groupby(partition_by, sort=True, observed=True)
    keys = grouped.size().index.to_frame(index=False)
    names = [slug(tuple(row)) for row in keys.itertuples(index=False, name=None)]
    keys[PARTITION] = names
    codes = grouped.ngroup().to_numpy()
    return frame.assign(**{PARTITION: np.asarray(names, dtype=object)[codes]}), keys


def key_of(key, partition_by: list[str]) -> tuple:
    """A user's key (a value, a tuple or a dict by column) as the tuple of the key's values."""
    if isinstance(key, dict):
        unknown = set(key) - set(partition_by)
        if unknown or len(key) != len(partition_by):
            raise SettingsError(f"a partition key by column needs exactly {partition_by}, got "
                                f"{sorted(key)}.")
        return tuple(key[c] for c in partition_by)
    key = key if isinstance(key, tuple) else (key,)
    if len(key) != len(partition_by):
        raise SettingsError(f"a partition key has one value per partition column {partition_by},"
                            f" got {key!r}.")
    return key
