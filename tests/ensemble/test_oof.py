"""The ensembles' array arithmetic shared by the tasks."""

import numpy as np
import pandas as pd

from tsauto.ensemble.oof import aligned, as_probabilities, stacked_forecast, weight_groups


def test_weights_are_chosen_across_folds_or_two_halves_of_the_units():
    folds = np.array([0, 0, 1, 1])
    assert (weight_groups(folds, np.array(["a", "b", "a", "b"]), 2, 0) == folds).all()
    units = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    groups = weight_groups(np.zeros(8, dtype=int), units, 1, 0)
    assert (groups[::2] == groups[1::2]).all()      # a series stays in one half
    assert sorted(np.bincount(groups[::2])) == [2, 2]


def test_aligned_keeps_the_rows_every_candidate_predicts_unless_asked_not_to():
    a = pd.DataFrame({"fold": [0, 0, 0], "row": [1, 2, 3], "actual": [1.0, 2, 3],
                      "p": [1.0, 2, 3]})
    b = pd.DataFrame({"fold": [0, 0], "row": [3, 1], "p": [30.0, 10.0]})
    keys, stack = aligned([a, b], ["fold", "row"], ["p"])
    assert keys["row"].tolist() == [1, 3] and stack[:, :, 0].tolist() == [[1, 3], [10, 30]]
    keys, stack = aligned([a, b], ["fold", "row"], ["p"], complete_only=False)
    assert len(keys) == 3 and np.isnan(stack[1, 1, 0])


def test_stacked_blends():
    stack = np.array([[[1.0, 0.0, 2.0]], [[3.0, 2.0, 4.0]]])   # 2 models x 1 row x 3 columns
    blend = stacked_forecast(np.array([0.5, 0.5]), stack, np.array([5.0]))
    assert blend.tolist() == [[5.0, 4.0, 6.0]]                   # quantiles move with the point
    proba = as_probabilities(np.array([[-1.0, 1.0, 3.0], [0.0, 0.0, 0.0]]))
    assert proba.tolist() == [[0.0, 0.25, 0.75], [0.0, 0.0, 0.0]]
