"""Grouped arrays: the values of many series back to back, series ``i`` occupying
``values[indptr[i]:indptr[i+1]]`` (values + offsets, as coreforecast lays them out).

The one home of this layout and of the operations on it that data, features and learners share:
offsets from lengths, the series code and the position within its series of every value,
gathering and shifting within series, and taking a subset of the series.  Everything here is
vectorised over series; nothing loops per series or per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def offsets(lengths: np.ndarray) -> np.ndarray:
    """``indptr`` of series of these lengths laid back to back: 0, l0, l0+l1, ..."""
    return np.concatenate([[0], np.cumsum(lengths)])


def series_codes(indptr: np.ndarray) -> np.ndarray:
    """Series code (0..n_series-1) of every position."""
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def position_in_series(indptr: np.ndarray) -> np.ndarray:
    """0, 1, ... within each series."""
    lengths = np.diff(indptr)
    return np.arange(int(indptr[-1])) - np.repeat(indptr[:-1], lengths)


def gather(values: np.ndarray, positions: np.ndarray, series: np.ndarray,
           indptr: np.ndarray) -> np.ndarray:
    """values[positions], NaN where a position falls before its series' start."""
    ok = positions >= indptr[series]
    out = np.full(len(positions), np.nan)
    out[ok] = values[positions[ok]]
    return out


def grouped_shift(values: np.ndarray, indptr: np.ndarray, lag: int) -> np.ndarray:
    """values[p - lag] within each series, NaN before the series start."""
    out = np.full(len(values), np.nan)
    if lag < len(values):
        out[lag:] = values[:-lag] if lag else values
    out[position_in_series(indptr) < lag] = np.nan
    return out


def subset(values: np.ndarray, indptr: np.ndarray,
           idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The series ``idx`` (sorted, unique) of a grouped array, as a grouped array."""
    lengths = np.diff(indptr)
    keep = np.zeros(len(lengths), dtype=bool)
    keep[idx] = True
    rows = np.repeat(keep, lengths)
    return values[rows], offsets(lengths[idx])


class _Offsets:
    """What a grouped layout knows from its offsets alone."""

    indptr: np.ndarray

    @property
    def n_series(self) -> int:
        return len(self.indptr) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)


@dataclass(frozen=True)
class GroupedArray(_Offsets):
    """One column of many series: series ``i`` is ``values[indptr[i]:indptr[i+1]]``."""

    values: np.ndarray
    indptr: np.ndarray
    series_ids: np.ndarray

    def __len__(self) -> int:
        return self.n_series


@dataclass
class History(_Offsets):
    """Several columns over the same series and periods (one ``indptr``), placed on the time
    grid: what the featurizers read (``tsauto.features.base``)."""

    indptr: np.ndarray            # series i is positions indptr[i]:indptr[i+1]
    start_index: np.ndarray       # grid period number of each series' first position
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def period_index(self, positions: np.ndarray, series: np.ndarray) -> np.ndarray:
        """Grid period number of absolute positions."""
        return self.start_index[series] + (positions - self.indptr[series])
