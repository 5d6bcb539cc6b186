"""Rolling-origin validation: ``n_windows`` folds of ``horizon`` periods moved by ``step``.

Folds are laid out from each series' own end, so series that end at different times are all
validated on their latest data.  Fold 0 is the earliest.  A series too short for a fold (less
than ``min_train`` periods left to train on) sits that fold out; ``folds`` reports which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.data.grouped import offsets, position_in_series
from tsauto.data.guardrails import MIN_TRAIN, windows_filled
from tsauto.errors import ShortSeriesError, preview


@dataclass
class Fold:
    index: int
    train: TimeSeriesDataset
    valid: TimeSeriesDataset
    skipped_series: list[str]


def rolling_origin(ds: TimeSeriesDataset, horizon: int, n_windows: int = 3,
                   step: int | None = None, min_train: int = MIN_TRAIN) -> list[Fold]:
    """The validation folds, earliest first."""
    step = horizon if step is None else step
    lengths = ds.lengths
    # A series filling w windows takes part in the last w of them.
    filled = windows_filled(lengths, horizon, n_windows, step, min_train)
    folds = []
    for k in range(n_windows):
        train, valid = window_rows(lengths, held_after(k, n_windows, horizon, step), horizon)
        takes_part = filled >= n_windows - k
        usable = np.repeat(takes_part, lengths)
        train, valid = usable & train, usable & valid
        skipped = ds.series_ids[~takes_part].tolist()
        if not usable.any():
            raise ShortSeriesError(f"no series is long enough for validation window {k + 1} of "
                                   f"{n_windows} (horizon {horizon}, step {step}); shortest "
                                   f"series: {preview(ds.series_ids[lengths.argsort()[:3]].tolist())}."
                                   f" Use fewer cross-validations or a shorter horizon.")
        folds.append(Fold(k, ds._replace(ds.frame[train]), ds._replace(ds.frame[valid]), skipped))
    return folds


def held_after(k: int, n_windows: int, horizon: int, step: int) -> int:
    """The periods after fold ``k``'s cutoff (of ``n_windows``, earliest first) in each series."""
    return horizon + (n_windows - 1 - k) * step


def window_rows(lengths: np.ndarray, held: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Row masks of a panel (series of ``lengths``, in order): the training part (all but the
    last ``held`` periods of each series) and the ``horizon`` periods after it."""
    position = position_in_series(offsets(lengths))
    train_end = np.repeat(lengths, lengths) - held
    return position < train_end, (position >= train_end) & (position < train_end + horizon)


def max_windows(ds: TimeSeriesDataset, horizon: int, step: int | None = None,
                min_train: int = MIN_TRAIN) -> int:
    """The most rolling-origin windows the longest series holds (0: not even one), with
    ``min_train`` periods left to train on before the earliest (as in ``rolling_origin``)."""
    step = horizon if step is None else step
    room = int(ds.lengths.max()) - min_train - horizon
    return 0 if room < 0 else room // step + 1


def windows_before(ds: TimeSeriesDataset, horizon: int, before: int, n_windows: int,
                   step: int, min_train: int = MIN_TRAIN, first_index: int = 0) -> list[Fold]:
    """Up to ``n_windows`` more rolling-origin folds (``step`` apart, latest first is the one
    ending ``before`` periods before each series' end), as many as the series hold with
    ``min_train`` periods to train on; indices from ``first_index``, earliest first.  The
    calibration adds these in front of the search's windows (``before``: the periods those
    cover past the latest of these)."""
    lengths = ds.lengths
    kept = position_in_series(offsets(lengths)) < np.repeat(lengths - before, lengths)
    if not kept.any():
        return []
    cut = ds._replace(ds.frame[kept])
    n = min(n_windows, max_windows(cut, horizon, step, min_train))
    if n < 1:
        return []
    return [Fold(first_index + f.index, f.train, f.valid, f.skipped_series)
            for f in rolling_origin(cut, horizon, n, step, min_train)]
