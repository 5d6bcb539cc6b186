"""Guardrails for classification and regression data: what is wrong with it, what was fixed.

``run_tabular_guardrails(dataset, n_folds=5)`` returns a ``GuardrailReport`` with the statuses
of the forecasting guardrails (``passed``, ``fixed``, ``alert``, ``failed``).  Results name the
columns they are about in ``columns`` (``series`` stays empty: tabular data has none), so the
JSON has the forecasting report's keys plus ``columns``.  ``apply_fixes`` applies the fixes the
report promises that change the data (dropping constant columns).  Columns are read with
``tsauto.data.column_types.detect_column_types``, as the featurizer reads them, so the columns
reported as constant/empty or identifier-like are the ones featurization drops.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tsauto.data.column_types import (
    DROPPED,
    ColumnInfo,
    parse_binary,
    parse_dates,
    parse_numbers,
    unreadable,
)
from tsauto.data.guardrails import GuardrailReport, GuardrailResult
from tsauto.data.tabular import TabularDataset
from tsauto.errors import DataError, check_int, preview

# class_imbalance alerts below these shares of the largest class / of all rows.
IMBALANCE_RATIO = 0.2
IMBALANCE_SHARE = 0.05
# A categorical column with more levels than this, or more than this share of distinct values.
HIGH_CARDINALITY = 50
HIGH_CARDINALITY_SHARE = 0.5
# target_leakage: one column's out-of-fold score at or above this is flagged.
LEAKAGE_SCORE = 0.98
LEAKAGE_ROWS = 5_000
LEAKAGE_DEPTH = 6  # up to 64 intervals of one column: enough to map levels to classes
_COLUMNS_SHOWN = 100


@dataclass
class TabularGuardrailResult(GuardrailResult):
    columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.pop("dropped_series")  # rows are dropped from a table, never series
        out["columns"] = self.columns[:_COLUMNS_SHOWN]
        return out


class TabularGuardrailReport(GuardrailReport):
    """A guardrail report whose failures are data errors and whose table counts columns."""

    def raise_if_failed(self) -> None:
        if self.failed:
            raise DataError(self.failed[0].message)

    def to_frame(self) -> pd.DataFrame:
        rows = [{"check": r.check, "status": r.status, "columns": len(r.columns),
                 "rows": r.rows, "message": r.message, "fix": r.fix or ""} for r in self.results]
        return pd.DataFrame(rows)

    @classmethod
    def from_dict(cls, data: dict) -> TabularGuardrailReport:
        """The report back from ``to_dict`` (or parsed ``to_json``)."""
        names = {f.name for f in fields(TabularGuardrailResult)}
        return cls([TabularGuardrailResult(**{k: v for k, v in r.items() if k in names})
                    for r in data["results"]])


def _result(check, status, message, columns=(), rows=0, fix=None) -> TabularGuardrailResult:
    return TabularGuardrailResult(check, status, message, [], int(rows), fix,
                                  columns=[str(c) for c in columns])


def run_tabular_guardrails(ds: TabularDataset, n_folds: int = 5,
                           seed: int = 0) -> TabularGuardrailReport:
    """Check a tabular dataset; ``n_folds`` is the cross-validation the search will use and
    ``seed`` picks the rows the leakage check samples."""
    check_int(n_folds, "n_folds", 2)
    types = ds.column_types()
    return TabularGuardrailReport([
        _missing_target(ds), _too_few_rows(ds, int(n_folds)), _class_imbalance(ds),
        _missing_values(ds, types), _constant_columns(ds, types), _high_cardinality(ds, types),
        _target_leakage(ds, types, seed=seed),
    ])


def apply_fixes(ds: TabularDataset, report: GuardrailReport) -> TabularDataset:
    """The dataset with the report's data fixes applied: constant columns dropped."""
    constant = report["constant_columns"]
    return ds.without_columns(constant.columns) if constant.status == "fixed" else ds


# -- checks ------------------------------------------------------------------------------------
def _missing_target(ds: TabularDataset) -> TabularGuardrailResult:
    n = ds.dropped_target_rows
    if not n:
        return _result("missing_target", "passed", "no missing target values")
    total = ds.n_rows + n
    positions = ds.dropped_target_positions.tolist()
    return _result("missing_target", "fixed",
                   f"{n} of {total} rows ({n / total:.1%}) have no value in target column "
                   f"'{ds.target_column}' (row positions {preview(positions)})",
                   [ds.target_column], n, f"dropped {n} rows without a target")


def _too_few_rows(ds: TabularDataset, n_folds: int) -> TabularGuardrailResult:
    need = 2 * n_folds
    if ds.n_rows < need:
        return _result("too_few_rows", "failed",
                       f"{ds.n_rows} rows are fewer than the {need} (2 * n_folds) that "
                       f"{n_folds}-fold cross-validation needs; use fewer folds (n_folds >= 2) "
                       f"or more data", rows=ds.n_rows)
    return _result("too_few_rows", "passed",
                   f"{ds.n_rows} rows; {n_folds}-fold cross-validation needs at least {need}")


def _class_imbalance(ds: TabularDataset) -> TabularGuardrailResult:
    counts = ds.class_counts()
    if counts is None:
        return _result("class_imbalance", "passed", "regression: no classes")
    listing = ", ".join(f"{c!r}: {n}" for c, n in counts.items())
    smallest, largest = int(counts.min()), int(counts.max())
    rarest = counts.index[counts == smallest].tolist()
    if smallest < 2:
        few = counts.index[counts < 2].tolist()
        return _result("class_imbalance", "failed",
                       f"class(es) {preview(few)} have fewer than 2 rows, too few to train and "
                       f"validate on (rows per class: {listing}); add rows of those classes or "
                       f"remove them", few, int(counts[counts < 2].sum()))
    if smallest < IMBALANCE_RATIO * largest or smallest < IMBALANCE_SHARE * ds.n_rows:
        return _result("class_imbalance", "alert",
                       f"imbalanced classes: {preview(rarest)} has {smallest} rows "
                       f"({smallest / ds.n_rows:.1%} of rows, {smallest / largest:.1%} of the "
                       f"largest class); rows per class: {listing}; class weights are offered "
                       f"to learners", rarest, smallest)
    return _result("class_imbalance", "passed", f"balanced enough; rows per class: {listing}")


def _missing_values(ds: TabularDataset, types: dict[str, ColumnInfo]) -> TabularGuardrailResult:
    """Missing values, and values that cannot be read as their column's kind (a word among
    numbers): featurization imputes both, so both are named here."""
    missing = ds.X.isna()
    unread = pd.DataFrame({c: unreadable(ds.X[c], i.kind, i.date_format)
                           for c, i in types.items()}, index=ds.X.index)
    counts = missing.sum()
    bad = counts[counts > 0]
    odd = unread.sum()
    odd = odd[odd > 0]
    if bad.empty and odd.empty:
        return _result("missing_values", "passed", "no missing feature values")
    # Rows as the user numbered them: positions in the frame before rows without a target
    # were dropped.
    original = np.delete(np.arange(ds.n_rows + ds.dropped_target_rows),
                         ds.dropped_target_positions)
    parts = []
    if not bad.empty:
        parts.append("missing feature values (" + ", ".join(
            f"'{c}': {n} ({n / ds.n_rows:.1%})" for c, n in bad.items()) + ")")
    if not odd.empty:
        parts.append("values that do not read as their column's kind (" + ", ".join(
            f"'{c}': {n}, e.g. {ds.X[c][unread[c]].iloc[0]!r} at row "
            f"{int(original[np.flatnonzero(unread[c].to_numpy())[0]])}"
            for c, n in odd.items()) + ")")
    columns = list(dict.fromkeys([*bad.index, *odd.index]))
    # at prediction time a missing value is imputed too, one that does not read is an error
    later = " (at prediction time values that do not read are an error)" if len(odd) else ""
    return _result("missing_values", "alert",
                   "; ".join(parts) + "; featurization imputes them and adds a missing-value "
                   "indicator" + later, columns, (missing | unread).any(axis=1).sum())


def _constant_columns(ds: TabularDataset, types: dict[str, ColumnInfo]) -> TabularGuardrailResult:
    constant = [c for c, info in types.items() if info.kind in ("constant", "empty")]
    if not constant:
        return _result("constant_columns", "passed", "no constant feature columns")
    return _result("constant_columns", "fixed",
                   f"{len(constant)} feature column(s) hold a single value (missing values "
                   f"aside) or no value at all: {preview(constant)}", constant, ds.n_rows,
                   f"dropped the constant column(s) {preview(constant)}")


def _high_cardinality(ds: TabularDataset, types: dict[str, ColumnInfo]) -> TabularGuardrailResult:
    kinds = {c: info.kind for c, info in types.items()}
    levels = pd.Series({c: info.cardinality for c, info in types.items()
                        if info.kind in ("categorical", "text", "id")}, dtype="int64")
    share = levels / max(ds.n_rows, 1)
    flagged = levels.index[(levels > HIGH_CARDINALITY)
                           | (share > HIGH_CARDINALITY_SHARE)].tolist()
    if not flagged:
        return _result("high_cardinality", "passed",
                       f"no categorical column has more than {HIGH_CARDINALITY} levels or more "
                       f"than {HIGH_CARDINALITY_SHARE:.0%} distinct values")
    detail = ", ".join(f"'{c}' ({levels[c]} values, {share[c]:.0%} distinct)" for c in flagged)
    message = f"high-cardinality columns: {detail}"
    categorical = [c for c in flagged if kinds[c] == "categorical"]
    text = [c for c in flagged if kinds[c] == "text"]
    ids = [c for c in flagged if kinds[c] == "id"]
    if categorical:
        message += f"; categorical {preview(categorical)} are target-encoded, not one-hot"
    if text:
        message += f"; free text (several words per value): {preview(text)}"
    if ids:
        message += (f"; identifier-like (distinct per row, or a row counter): {preview(ids)}, "
                    f"dropped by featurization")
    return _result("high_cardinality", "alert", message, flagged)


def _target_leakage(ds: TabularDataset, types: dict[str, ColumnInfo],
                    seed: int) -> TabularGuardrailResult:
    """Flag columns that alone predict the target almost perfectly: the out-of-fold score of a
    shallow decision tree on that one column, over a seeded sample of rows.  Columns that
    featurization drops (id, constant, empty) are skipped: the model never sees them."""
    n = ds.n_rows
    rows = np.arange(n)
    if n > LEAKAGE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(n, LEAKAGE_ROWS, replace=False))
    y = ds.y.to_numpy()[rows]
    classify = ds.task == "classification"
    if classify:
        y = pd.factorize(y)[0]
        smallest = np.bincount(y).min()
        if len(np.unique(y)) < 2 or smallest < 2:
            return _result("target_leakage", "passed", "skipped: too few rows of some class")
        cv = StratifiedKFold(min(3, int(smallest)), shuffle=True, random_state=seed)
        tree, scoring, what = DecisionTreeClassifier, "balanced_accuracy", "balanced accuracy"
    else:
        if len(rows) < 6 or np.ptp(y) == 0:
            return _result("target_leakage", "passed", "skipped: too few rows or constant target")
        cv = KFold(3, shuffle=True, random_state=seed)
        tree, scoring, what = DecisionTreeRegressor, "r2", "R2"
    scores = {}
    for col, info in types.items():
        if info.kind in DROPPED:
            continue
        x = _one_column(ds.X[col].iloc[rows], info)
        model = tree(max_depth=LEAKAGE_DEPTH, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = np.nanmean(cross_val_score(model, x, y, cv=cv, scoring=scoring))
        if score >= LEAKAGE_SCORE:
            scores[col] = float(score)
    if not scores:
        return _result("target_leakage", "passed",
                       f"no single column predicts the target ({what} of a depth-"
                       f"{LEAKAGE_DEPTH} tree below {LEAKAGE_SCORE})")
    detail = ", ".join(f"'{c}' ({what} {s:.3f})" for c, s in scores.items())
    return _result("target_leakage", "alert",
                   f"column(s) that alone predict target '{ds.target_column}' almost perfectly "
                   f"(out-of-fold, depth-{LEAKAGE_DEPTH} decision tree on {len(rows)} rows): "
                   f"{detail}; check they are known when predicting, else drop them with "
                   f"drop_columns", list(scores))


def _one_column(values: pd.Series, info: ColumnInfo) -> np.ndarray:
    """One column as a numeric matrix for a tree, parsed as its kind says (numbers stored as
    text, yes/no, date strings): levels as sorted codes, missing values as a value below all
    others (so that missingness itself can be split on)."""
    kind = info.kind
    if kind in ("numeric", "boolean", "datetime"):
        if kind == "datetime":
            dates = parse_dates(values, info.date_format)
            x = (dates - dates.min()).dt.total_seconds()
        else:
            x = parse_numbers(values) if kind == "numeric" else parse_binary(values)
        x = x.to_numpy(dtype="float64", na_value=np.nan)
        low = np.nanmin(x) if not np.isnan(x).all() else 0.0
        x = np.where(np.isnan(x), low - 1, x)
    else:
        x = pd.factorize(values.astype(str).where(values.notna()), sort=True)[0]  # missing: -1
    return np.asarray(x, dtype="float64").reshape(-1, 1)
