"""The grouped-array operations against pandas' per-group equivalents, empty series included."""

import numpy as np
import pandas as pd
import pytest

from tsauto.data.grouped import (
    History,
    gather,
    grouped_shift,
    offsets,
    position_in_series,
    series_codes,
    subset,
)

LENGTHS = np.array([3, 0, 5, 1, 4])


def _grouped():
    rng = np.random.default_rng(0)
    indptr = offsets(LENGTHS)
    values = rng.normal(size=int(indptr[-1]))
    frame = pd.DataFrame({"s": series_codes(indptr), "v": values})
    return values, indptr, frame


def test_codes_and_positions_match_pandas():
    values, indptr, frame = _grouped()
    assert indptr.tolist() == [0, 3, 3, 8, 9, 13]
    assert frame["s"].tolist() == np.repeat(np.arange(5), LENGTHS).tolist()
    assert position_in_series(indptr).tolist() == frame.groupby("s").cumcount().tolist()


@pytest.mark.parametrize("lag", [0, 1, 2, 6])
def test_shift_stays_within_series(lag):
    values, indptr, frame = _grouped()
    expected = frame.groupby("s")["v"].shift(lag).to_numpy()
    np.testing.assert_array_equal(grouped_shift(values, indptr, lag), expected)


def test_gather_is_nan_before_the_series_start():
    values, indptr, _ = _grouped()
    series = np.array([0, 2, 2, 4])
    positions = np.array([2, 2, 5, 12])  # series 2 starts at 3: position 2 is before it
    out = gather(values, positions, series, indptr)
    assert np.isnan(out[1])
    np.testing.assert_array_equal(out[[0, 2, 3]], values[[2, 5, 12]])


def test_subset_keeps_the_chosen_series_in_order():
    values, indptr, _ = _grouped()
    part, part_indptr = subset(values, indptr, np.array([0, 2, 4]))
    assert part_indptr.tolist() == [0, 3, 8, 12]
    np.testing.assert_array_equal(part, np.concatenate([values[0:3], values[3:8], values[9:13]]))


def test_history_places_positions_on_the_grid():
    history = History(offsets(LENGTHS), start_index=np.array([10, 0, 20, 5, 7]))
    assert history.n_series == 5 and history.lengths.tolist() == LENGTHS.tolist()
    # position 4 is the second value of series 2, which starts at grid period 20
    assert history.period_index(np.array([4]), np.array([2])).tolist() == [21]
