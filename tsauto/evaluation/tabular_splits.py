"""Validation splits for classification and regression: k-fold, holdout, or the user's own
validation rows.

Every splitter returns a ``TabularSplit``: its folds (positional row indices, sorted) and a
``note`` that says when the split had to differ from what was asked (e.g. fewer folds because
a class is rare).  Classification splits are stratified, so every fold keeps the class shares;
all shuffling is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from tsauto.errors import DataError, SettingsError, check_int, is_number

TASKS = ("classification", "regression")


@dataclass
class TabularFold:
    index: int
    train: np.ndarray
    valid: np.ndarray


@dataclass
class TabularSplit:
    """The folds of one validation scheme, and why it differs from what was asked (if it does)."""

    folds: list[TabularFold]
    note: str | None = None
    scheme: str = "kfold"
    details: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.folds)

    def __len__(self) -> int:
        return len(self.folds)

    def __getitem__(self, i: int) -> TabularFold:
        return self.folds[i]


def _task(task: str) -> str:
    if task not in TASKS:
        raise SettingsError(f"task={task!r} is not valid; use one of {', '.join(TASKS)}.")
    return task


def _class_counts(y) -> pd.Series:
    y = pd.Series(np.asarray(y))
    if y.isna().any():
        raise DataError(f"the target has {int(y.isna().sum())} missing values; drop those rows "
                        f"first (TabularDataset does).")
    return y.value_counts().sort_values(kind="stable")


def _plain(label):
    """A plain Python label, so that messages read 'class 1', not 'class np.int64(1)'."""
    return label.item() if isinstance(label, np.generic) else label


def _no_singletons(counts: pd.Series, scheme: str) -> None:
    single = [_plain(c) for c in counts.index[counts < 2]]
    if single:
        raise DataError(f"class {single[0]!r} has a single row ({len(single)} class(es) do: "
                        f"{', '.join(repr(c) for c in single[:5])}); {scheme} needs at least 2 "
                        f"rows of every class to validate on it. Add rows of that class or "
                        f"remove it.")


def kfold(y, n_folds: int = 5, task: str = "classification", seed: int = 0) -> TabularSplit:
    """Shuffled k-fold cross-validation (stratified for classification): every row is validated
    exactly once.  When the rarest class has fewer rows than ``n_folds``, the split uses that
    many folds (at least 2) and says so in ``note``."""
    task = _task(task)
    n_folds = check_int(n_folds, "n_folds", 2)
    n = len(y)
    if n < n_folds:
        raise DataError(f"n_folds={n_folds} needs at least {n_folds} rows; the data has {n}. "
                        f"Use fewer folds or a holdout.")
    note = None
    if task == "classification":
        counts = _class_counts(y)
        _no_singletons(counts, f"{n_folds}-fold cross-validation")
        rarest, smallest = _plain(counts.index[0]), int(counts.iloc[0])
        if smallest < n_folds:
            note = (f"n_folds reduced from {n_folds} to {max(2, smallest)}: class {rarest!r} has "
                    f"only {smallest} rows, and stratified folds need one of them in each fold.")
            n_folds = max(2, smallest)
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=seed)
    folds = [TabularFold(i, train, valid)
             for i, (train, valid) in enumerate(splitter.split(np.zeros(n), np.asarray(y)))]
    return TabularSplit(folds, note, "kfold", {"n_folds": n_folds, "seed": seed})


def holdout(y, fraction: float = 0.2, task: str = "classification", seed: int = 0) -> TabularSplit:
    """One shuffled train/validation split with ``fraction`` of the rows held out (stratified
    for classification)."""
    task = _task(task)
    if not (is_number(fraction) and 0 < fraction <= 0.5):
        raise SettingsError(f"fraction={fraction!r} is not valid; it must be in (0, 0.5], the "
                            f"share of rows held out for validation.")
    n = len(y)
    n_valid = int(np.ceil(fraction * n))
    if n_valid < 1 or n - n_valid < 1:
        raise DataError(f"holdout fraction={fraction} of {n} rows leaves no row to "
                        f"{'validate' if n_valid < 1 else 'train'} on.")
    stratify = None
    if task == "classification":
        counts = _class_counts(y)
        _no_singletons(counts, "a stratified holdout")
        if n_valid < len(counts):
            raise DataError(f"holdout fraction={fraction} keeps {n_valid} of {n} rows for "
                            f"validation, fewer than the {len(counts)} classes; use a larger "
                            f"fraction (up to 0.5) or k-fold cross-validation.")
        stratify = np.asarray(y)
    train, valid = train_test_split(np.arange(n), test_size=n_valid, shuffle=True,
                                    random_state=seed, stratify=stratify)
    fold = TabularFold(0, np.sort(train), np.sort(valid))
    return TabularSplit([fold], None, "holdout", {"fraction": fraction, "seed": seed})


def user_validation(n_train: int, n_valid: int) -> TabularSplit:
    """The user's own validation frame, appended after the ``n_train`` training rows."""
    n_train = check_int(n_train, "n_train", 1)
    n_valid = check_int(n_valid, "n_valid", 1)
    fold = TabularFold(0, np.arange(n_train), np.arange(n_train, n_train + n_valid))
    return TabularSplit([fold], None, "user", {"n_train": n_train, "n_valid": n_valid})
