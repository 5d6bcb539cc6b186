"""The tabular dataset: one row per example, a target column, and feature columns.

``TabularDataset(frame_or_path, target_column, task)`` checks the target early (present, at
least two classes for classification, numeric for regression), drops rows without a target and
records how many (the guardrails report it).  ``X`` and ``y`` share a fresh 0..n-1 index, so
positional fold indices and labels agree.  ``schema()`` is the picklable shape a fitted model
keeps to check the frames it is asked to predict.  ``column_types()`` reads the feature columns
with ``tsauto.data.column_types``, the rules the guardrails and the featurizer share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.data.column_types import (
    DROPPED,
    KINDS,
    ColumnInfo,
    plain_value,
    check_readable,
    detect_column_types,
)
from tsauto.data.dataset import read_table
from tsauto.errors import ColumnNotFoundError, DataError, SettingsError, closest_hint, preview

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class TabularSchema:
    """The shape of a tabular dataset without its rows: what a prediction frame must hold."""

    columns: tuple[str, ...]
    dtypes: tuple[tuple[str, str], ...]   # (column, dtype name), in column order
    target_column: str
    task: str
    classes: tuple | None
    # (column, kind, date_format) of every feature column, as detected in training.
    kinds: tuple[tuple[str, str, str | None], ...] = ()
    # regression: the training target's (min, max), whose range normalises nrmse and nmae
    target_range: tuple[float, float] | None = None

    def validate(self, frame: pd.DataFrame, name: str = "the frame") -> pd.DataFrame:
        """The feature columns of ``frame`` in training order; missing ones are an error (extra
        columns, the target included, are ignored), and so is a value that cannot be read as
        its column's training kind (e.g. 'zzz' in a numeric column): only missing values are
        imputed."""
        # featurization drops id, constant and empty columns: they need not be given
        unread = [c for c, kind, _ in self.kinds if kind in DROPPED and c not in frame.columns]
        absent = [c for c in self.columns if c not in frame.columns and c not in unread]
        if absent:
            raise ColumnNotFoundError(
                f"{name} lacks the feature column(s) {preview(absent)} that the model was "
                f"trained on.{closest_hint(absent[0], frame.columns)} It has "
                f"{preview(list(frame.columns), 10)}.")
        repeated = frame.columns[frame.columns.duplicated() & frame.columns.isin(self.columns)]
        if len(repeated):  # frame[name] would give both copies: which one is the feature?
            raise DataError(f"{name} has duplicate column names: "
                            f"{preview(repeated.unique().tolist())}; keep one column of each "
                            f"name.")
        out = frame[[c for c in self.columns if c not in unread]].assign(
            **dict.fromkeys(unread, np.nan))[list(self.columns)]
        check_readable(out, self.kinds, name)
        return out


class TabularDataset:
    """Features ``X`` and target ``y`` of a classification or regression task."""

    def __init__(self, frame_or_path: pd.DataFrame | str | Path, target_column: str,
                 task: str, drop_columns: Iterable[str] = ()):
        if task not in TASKS:
            raise SettingsError(f"task={task!r} is not valid; use one of {', '.join(TASKS)}.")
        if isinstance(frame_or_path, pd.DataFrame):
            frame = frame_or_path
        elif isinstance(frame_or_path, (str, Path)):
            frame = read_table(frame_or_path)
        else:
            raise SettingsError(f"data must be a pandas DataFrame or the path of a CSV/Parquet "
                                f"file, not {type(frame_or_path).__name__}.")
        drop_columns = [drop_columns] if isinstance(drop_columns, str) else list(drop_columns)
        columns = [str(c) for c in frame.columns]
        frame = frame.set_axis(columns, axis=1)
        if frame.columns.duplicated().any():
            dup = frame.columns[frame.columns.duplicated()].tolist()
            raise DataError(f"the data has duplicate column names: {preview(dup)}; rename or "
                            f"drop the copies so that each column name is used once.")
        for setting, names in (("target_column", [target_column]), ("drop_columns", drop_columns)):
            for name in names:
                if name not in columns:
                    raise ColumnNotFoundError(
                        f"{setting}: column '{name}' is not in the data."
                        f"{closest_hint(name, columns)} Columns: {preview(columns, 10)}.")
        if target_column in drop_columns:
            raise SettingsError(f"drop_columns names the target column '{target_column}'.")
        features = [c for c in columns if c != target_column and c not in drop_columns]
        if not features:
            raise DataError(f"no feature columns are left besides the target '{target_column}'"
                            + (f" and drop_columns {preview(drop_columns)}" if drop_columns else "")
                            + ".")

        missing = frame[target_column].isna().to_numpy()
        self.dropped_target_rows = int(missing.sum())
        # Original positions of the dropped rows, for the guardrail report.
        self.dropped_target_positions = np.flatnonzero(missing)
        kept = frame.loc[~missing] if missing.any() else frame
        if kept.empty:
            raise DataError(f"target column '{target_column}' has no values: every one of the "
                            f"{len(frame)} rows is missing it.")
        kept = kept.reset_index(drop=True)
        y = kept[target_column]
        self.task = task
        self.target_column = target_column
        self.drop_columns = drop_columns
        self.classes = None
        if task == "classification":
            self.classes = _sorted_labels(y)
            if len(self.classes) < 2:
                raise DataError(f"target column '{target_column}' has a single class "
                                f"({preview(self.classes)}); classification needs at least two "
                                f"classes.")
        else:
            y = _numeric_target(y, target_column, np.flatnonzero(~missing))
        self.X = kept[features]
        self.y = y

    @property
    def n_rows(self) -> int:
        return len(self.y)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def feature_columns(self) -> list[str]:
        return list(self.X.columns)

    def column_types(self) -> dict[str, ColumnInfo]:
        """What each feature column is (``tsauto.data.column_types.detect_column_types``: the
        rules the guardrails and the featurizer use too)."""
        return detect_column_types(self.X)

    def column_kinds(self) -> dict[str, str]:
        """Each feature column's kind, one of ``KINDS`` (see ``column_types``)."""
        return {c: info.kind for c, info in self.column_types().items()}

    def class_counts(self) -> pd.Series | None:
        """Rows per class in ``classes`` order (None for regression)."""
        if self.classes is None:
            return None
        return self.y.value_counts().reindex(list(self.classes), fill_value=0)

    def without_columns(self, columns: Iterable[str]) -> TabularDataset:
        """A copy without the given feature columns (e.g. constant ones a guardrail found)."""
        columns = [c for c in columns if c in self.X.columns]
        new = object.__new__(TabularDataset)
        new.__dict__.update(self.__dict__)
        new.X = self.X.drop(columns=columns)
        new.drop_columns = [*self.drop_columns, *columns]
        return new

    def schema(self) -> TabularSchema:
        return TabularSchema(
            columns=tuple(self.X.columns),
            dtypes=tuple((c, str(t)) for c, t in self.X.dtypes.items()),
            target_column=self.target_column,
            task=self.task,
            classes=None if self.classes is None else tuple(self.classes),
            kinds=tuple((c, i.kind, i.date_format) for c, i in self.column_types().items()),
            target_range=(None if self.task != "regression" else
                          (float(self.y.min()), float(self.y.max()))),
        )

    def summary(self) -> dict:
        """Facts for people and reports: size, task, target, and the kinds of feature columns."""
        kinds = self.column_kinds()
        out = {
            "task": self.task,
            "rows": self.n_rows,
            "features": len(kinds),
            "target_column": self.target_column,
            "dropped_target_rows": self.dropped_target_rows,
            "column_kinds": {k: [c for c, v in kinds.items() if v == k]
                             for k in KINDS if k in kinds.values()},
            "missing_values": {c: int(n) for c, n in self.X.isna().sum().items() if n},
        }
        if self.classes is not None:
            out["classes"] = {plain_value(c): int(n) for c, n in self.class_counts().items()}
        else:
            out["target"] = {k: float(v) for k, v in
                             self.y.describe()[["mean", "std", "min", "max"]].items()}
        return out

    def __repr__(self) -> str:
        classes = f", classes={preview(self.classes)}" if self.classes is not None else ""
        return (f"TabularDataset(task={self.task!r}, target={self.target_column!r}, "
                f"rows={self.n_rows}, features={self.X.shape[1]}{classes})")


def _sorted_labels(y: pd.Series) -> list:
    labels = [plain_value(v) for v in pd.unique(y)]
    try:
        return sorted(labels)
    except TypeError:  # mixed label types (e.g. 1 and 'a'): order by their text
        return sorted(labels, key=str)


def _numeric_target(y: pd.Series, name: str, rows: np.ndarray) -> pd.Series:
    """``y`` as float64; ``rows`` are its rows' positions in the user's frame, for errors."""
    if pd.api.types.is_bool_dtype(y):
        raise DataError(f"regression needs a numeric target, but column '{name}' holds "
                        f"True/False values; use task='classification' to predict them.")
    if pd.api.types.is_numeric_dtype(y):
        y = y.astype("float64")
        infinite = np.isinf(y.to_numpy())
        if infinite.any():  # every metric and most learners turn inf into NaN or a crash
            raise DataError(f"target column '{name}' holds {int(infinite.sum())} infinite "
                            f"values, at rows {preview(rows[infinite].tolist())}; regression "
                            f"needs finite numbers: drop those rows or replace the values.")
        return y
    parsed = pd.to_numeric(y, errors="coerce")
    bad = y[parsed.isna()]
    if bad.empty:
        raise DataError(f"target column '{name}' holds numbers stored as {y.dtype} (e.g. "
                        f"{y.iloc[0]!r}); convert it first, e.g. pd.to_numeric(df['{name}']), "
                        f"or use task='classification' if they are labels.")
    raise DataError(f"regression needs a numeric target, but column '{name}' holds "
                    f"{bad.iloc[0]!r} ({bad.nunique()} distinct non-numeric values); use "
                    f"task='classification' to predict labels.")
