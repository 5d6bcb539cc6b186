"""Tabular validation splits: stratified, disjoint, covering, seeded, with clear errors."""

import numpy as np
import pytest

from tsauto.errors import DataError, SettingsError
from tsauto.evaluation.tabular_splits import TabularFold, holdout, kfold, user_validation


@pytest.fixture
def labels():
    # 60 / 30 / 10 rows of three string classes, in a shuffled order.
    y = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    return np.random.default_rng(0).permutation(y)


def _shares(y):
    values, counts = np.unique(y, return_counts=True)
    return dict(zip(values, counts / counts.sum()))


def test_kfold_is_stratified_disjoint_and_covers_every_row(labels):
    split = kfold(labels, n_folds=5)
    assert len(split) == 5 and split.note is None
    seen = np.concatenate([f.valid for f in split])
    assert np.array_equal(np.sort(seen), np.arange(len(labels)))   # each row validated once
    for i, fold in enumerate(split):
        assert isinstance(fold, TabularFold) and fold.index == i
        assert np.intersect1d(fold.train, fold.valid).size == 0
        assert len(fold.train) + len(fold.valid) == len(labels)
        assert _shares(labels[fold.valid]) == pytest.approx(_shares(labels))


def test_kfold_is_deterministic_by_seed(labels):
    a, b, c = kfold(labels, seed=1), kfold(labels, seed=1), kfold(labels, seed=2)
    assert all(np.array_equal(x.valid, y.valid) for x, y in zip(a, b))
    assert not all(np.array_equal(x.valid, y.valid) for x, y in zip(a, c))


def test_kfold_regression_is_shuffled():
    y = np.arange(50, dtype=float)
    split = kfold(y, n_folds=5, task="regression")
    assert [len(f.valid) for f in split] == [10] * 5
    assert not np.array_equal(split[0].valid, np.arange(10))
    assert np.array_equal(np.sort(np.concatenate([f.valid for f in split])), np.arange(50))


def test_kfold_reduces_folds_for_a_rare_class():
    y = np.array([0] * 40 + [1] * 3)
    split = kfold(y, n_folds=5)
    assert len(split) == 3
    assert "n_folds reduced from 5 to 3" in split.note and "class 1" in split.note
    assert all((y[f.valid] == 1).sum() == 1 for f in split)
    # Two rows of the rarest class still give two folds.
    assert len(kfold(np.array([0] * 20 + [1] * 2), n_folds=5)) == 2


def test_kfold_errors_name_the_class_and_setting():
    with pytest.raises(DataError, match="class 'z' has a single row"):
        kfold(np.array(["y"] * 10 + ["z"]))
    with pytest.raises(SettingsError, match="n_folds must be an integer >= 2, got 1"):
        kfold(np.arange(10), n_folds=1, task="regression")
    with pytest.raises(SettingsError, match="task='clustering'.*classification, regression"):
        kfold(np.arange(10), task="clustering")
    with pytest.raises(DataError, match="n_folds=5 needs at least 5 rows"):
        kfold(np.arange(3.0), n_folds=5, task="regression")
    with pytest.raises(DataError, match="missing values"):
        kfold(np.array([0, 1, np.nan] * 5))


def test_holdout_is_stratified_and_seeded(labels):
    split = holdout(labels, fraction=0.2, seed=3)
    (fold,) = split
    assert len(fold.valid) == 20 and len(fold.train) == 80
    assert np.intersect1d(fold.train, fold.valid).size == 0
    assert _shares(labels[fold.valid]) == pytest.approx(_shares(labels))
    assert np.array_equal(fold.valid, holdout(labels, fraction=0.2, seed=3)[0].valid)
    assert np.all(np.diff(fold.valid) > 0)
    reg = holdout(np.arange(40.0), fraction=0.25, task="regression")
    assert len(reg[0].valid) == 10


@pytest.mark.parametrize("fraction", [0, 0.6, -0.1, "0.2", True])
def test_holdout_fraction_must_be_in_range(labels, fraction):
    with pytest.raises(SettingsError, match=r"fraction=.* must be in \(0, 0.5\]"):
        holdout(labels, fraction=fraction)


def test_holdout_errors():
    with pytest.raises(DataError, match="class 'z' has a single row"):
        holdout(np.array(["y"] * 10 + ["z"]))
    with pytest.raises(DataError, match="fewer than the 3 classes"):
        holdout(np.array([0, 0, 1, 1, 2, 2, 0, 0, 0, 0]), fraction=0.1)


def test_user_validation_appends_after_training_rows():
    (fold,) = user_validation(8, 3)
    assert np.array_equal(fold.train, np.arange(8))
    assert np.array_equal(fold.valid, np.arange(8, 11))
    with pytest.raises(SettingsError, match=r"n_valid must be a positive integer .*got 0"):
        user_validation(8, 0)
