"""Featurization of plain tables for classification and regression.

What each raw column is comes from ``tsauto.data.column_types.detect_column_types``, the rules
the tabular dataset and its guardrails use too.  ``TabularFeaturizer`` (a scikit-learn
transformer) turns a frame into a dense float64 matrix with readable feature names and a
per-column summary of what it did; ``make_scaler`` builds the optional scaling step that the
tabular learners put between the featurizer and the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils.multiclass import type_of_target

from tsauto.data.column_types import (
    DROPPED,
    ColumnInfo,
    detect_column_types,
    parse_binary,
    parse_dates,
    parse_numbers,
)
from tsauto.errors import ColumnNotFoundError, DataError, NotFittedError, SettingsError, preview

MISSING = "missing"            # the level missing categories are imputed as
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour", "dayofyear")
_SKLEARN = tuple(int(p) for p in sklearn.__version__.split(".")[:2])


# -- the featurizer ---------------------------------------------------------------------------
class TabularFeaturizer(BaseEstimator, TransformerMixin):
    """Raw frame -> dense float64 matrix, column by column according to its detected kind.

    - numeric: median imputation, plus a missing indicator where values were missing at fit;
    - boolean: mapped to 0/1, most-frequent imputation;
    - categorical (missing imputed as the level 'missing'): one-hot up to ``max_onehot``
      levels (unknown levels -> all zeros), ordinal codes up to ``max_ordinal`` (unknown ->
      -1), target encoding above that, cross-fitted in ``fit_transform`` so that no training
      row sees its own target (ordinal when fitted without ``y``);
    - datetime: year, month, day, dayofweek, hour (when not all zero), dayofyear; median
      imputation;
    - text: TF-IDF over the most frequent terms, at most ``text_max_features`` and a tenth of
      the rows (at least 20; sublinear tf);
    - id, constant and empty columns are dropped.

    ``target_type`` is passed to the target encoder ('auto' infers binary / multiclass /
    continuous from ``y``).  Columns not seen at fit are ignored at transform; a column used at
    fit but missing at transform raises ``ColumnNotFoundError``.
    """

    def __init__(self, max_onehot: int = 10, max_ordinal: int = 50,
                 text_max_features: int = 300, target_type: str = "auto",
                 random_state: int = 0) -> None:
        self.max_onehot = max_onehot
        self.max_ordinal = max_ordinal
        self.text_max_features = text_max_features
        self.target_type = target_type
        self.random_state = random_state

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y=None) -> TabularFeaturizer:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params) -> np.ndarray:
        """Fit and return the training matrix; target encodings here are cross-fitted, so they
        differ from ``transform`` on the same rows (that is what keeps them leakage-free)."""
        _check_frame(X)
        self.columns_ = detect_column_types(X)
        kept = [info for info in self.columns_.values() if info.kind not in DROPPED]
        if not kept:
            kinds = [f"{c}: {i.kind}" for c, i in self.columns_.items()]
            raise DataError(f"no usable column: every column was dropped ({preview(kinds)}).")
        self.encoding_ = {info.column: self._encoding(info, y) for info in kept
                          if info.kind == "categorical"}
        dates = [info.column for info in kept if info.kind == "datetime"]
        self.date_formats_ = {c: self.columns_[c].date_format for c in dates}
        self.date_parts_ = {c: self._date_parts(parse_dates(X[c], self.date_formats_[c]))
                            for c in dates}
        self.transformer_ = ColumnTransformer(self._transformers(y, len(X)), sparse_threshold=0.0,
                                              remainder="drop")
        out = self.transformer_.fit_transform(self._prepare(X), y)
        self._name_features()
        return np.asarray(out, dtype="float64")

    def _encoding(self, info: ColumnInfo, y) -> str:
        if info.cardinality <= self.max_onehot:
            return "onehot"
        if info.cardinality <= self.max_ordinal or y is None:
            return "ordinal"
        return "target"

    @staticmethod
    def _date_parts(dates: pd.Series) -> tuple[str, ...]:
        hours = dates.dt.hour
        return tuple(p for p in DATE_PARTS if p != "hour" or (hours.fillna(0) != 0).any())

    def _groups(self) -> dict[str, list]:
        """Raw columns of each kind/encoding, in frame order."""
        groups: dict[str, list] = {k: [] for k in ("numeric", "boolean", "datetime", "onehot",
                                                   "ordinal", "target", "text")}
        for col, info in self.columns_.items():
            if info.kind == "categorical":
                groups[self.encoding_[col]].append(col)
            elif info.kind not in DROPPED:
                groups[info.kind].append(col)
        return groups

    def _transformers(self, y, n_rows: int) -> list:
        g = self._groups()
        parts = [f"{c}.{p}" for c in g["datetime"] for p in self.date_parts_[c]]
        steps = [
            ("numeric", SimpleImputer(strategy="median", add_indicator=True,
                                      keep_empty_features=True), _names(g["numeric"])),
            ("boolean", SimpleImputer(strategy="most_frequent", keep_empty_features=True),
             _names(g["boolean"])),
            ("datetime", SimpleImputer(strategy="median", keep_empty_features=True), parts),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             _names(g["onehot"])),
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       dtype=np.float64), _names(g["ordinal"])),
        ]
        if g["target"]:
            steps.append(("target", self._target_encoder(y), _names(g["target"])))
        # No more terms than a tenth of the rows: rarer terms cannot generalise, and every
        # dense term column slows tree learners down.
        terms = max(20, min(self.text_max_features, n_rows // 10))
        for col in g["text"]:
            # A scalar column name hands the vectorizer the 1-D column of strings it expects.
            steps.append((f"text:{col}", TfidfVectorizer(
                max_features=terms, sublinear_tf=True,
                token_pattern=r"(?u)\b\w+\b"), str(col)))
        return [s for s in steps if len(s[2])]

    def _target_encoder(self, y) -> TargetEncoder:
        kind = self.target_type
        if kind == "auto":
            kind = type_of_target(y)
            kind = kind if kind in ("binary", "multiclass") else "continuous"
        if _SKLEARN >= (1, 9):  # the folds are passed as a splitter from 1.9 on
            folds = KFold if kind == "continuous" else StratifiedKFold
            return TargetEncoder(target_type=kind,
                                 cv=folds(5, shuffle=True, random_state=self.random_state))
        return TargetEncoder(target_type=kind, shuffle=True, random_state=self.random_state)

    def _name_features(self) -> None:
        """Readable output names and the raw column behind each, in output order."""
        names: list[str] = []
        raw: list = []
        by_name = {str(c): c for c in self.columns_}
        for step, fitted, cols in self.transformer_.transformers_:
            if step == "remainder":
                continue
            if step == "numeric":
                with_missing = [cols[i] for i in fitted.indicator_.features_] \
                    if fitted.indicator_ is not None else []
                new = [(c, c) for c in cols] + [(f"missingindicator_{c}", c)
                                                for c in with_missing]
            elif step == "datetime":
                new = [(c, c.rsplit(".", 1)[0]) for c in cols]
            elif step == "onehot":
                new = [(f"{c}={level}", c) for c, levels in zip(cols, fitted.categories_)
                       for level in levels]
            elif step == "target":
                if fitted.target_type_ == "multiclass":
                    new = [(f"{c} (target enc. {k})", c) for c in cols for k in fitted.classes_]
                else:
                    new = [(f"{c} (target enc.)", c) for c in cols]
            elif step.startswith("text:"):
                new = [(f"{cols}: {term}", cols) for term in fitted.get_feature_names_out()]
            else:  # boolean, ordinal: one feature per column
                new = [(c, c) for c in cols]
            names += [n for n, _ in new]
            raw += [by_name[c] for _, c in new]
        self.feature_names_ = names
        self.feature_to_column_ = dict(zip(names, raw))

    # -- transform -----------------------------------------------------------------------------
    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "transformer_"):
            raise NotFittedError("TabularFeaturizer must be fitted before transform.")
        _check_frame(X)
        return np.asarray(self.transformer_.transform(self._prepare(X)), dtype="float64")

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """The used columns in the form their transformer expects, named by ``str(column)``."""
        used = [c for c, i in self.columns_.items() if i.kind not in DROPPED]
        missing = [c for c in used if c not in X.columns]
        if missing:
            raise ColumnNotFoundError(f"column(s) {preview(missing)} were used at fit but are "
                                      f"missing from the frame; pass every column the model "
                                      f"was trained with.")
        out = {}
        for col in used:
            s, kind = X[col], self.columns_[col].kind
            if kind == "numeric":
                out[str(col)] = parse_numbers(s)
            elif kind == "boolean":
                out[str(col)] = parse_binary(s)
            elif kind == "datetime":
                dates = parse_dates(s, self.date_formats_[col])
                for part in self.date_parts_[col]:
                    out[f"{col}.{part}"] = getattr(dates.dt, part).astype("float64")
            elif kind == "categorical":
                out[str(col)] = s.astype("string").fillna(MISSING).astype(object)
            else:  # text
                out[str(col)] = s.astype("string").fillna("").astype(object)
        return pd.DataFrame(out, index=X.index)

    # -- descriptions --------------------------------------------------------------------------
    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)

    def summary(self) -> pd.DataFrame:
        """One row per raw column: column, kind, action, reason, n_features."""
        counts = pd.Series(list(self.feature_to_column_.values()),
                           dtype=object).value_counts().to_dict()
        fitted = dict((name, t) for name, t, _ in self.transformer_.transformers_)
        rows = []
        for col, info in self.columns_.items():
            rows.append({"column": col, "kind": info.kind, "action": self._action(info, fitted),
                         "reason": info.reason, "n_features": int(counts.get(col, 0))})
        return pd.DataFrame(rows, columns=["column", "kind", "action", "reason", "n_features"])

    def _action(self, info: ColumnInfo, fitted: dict) -> str:
        col, kind = info.column, info.kind
        if kind in DROPPED:
            return "dropped"
        if kind == "numeric":
            return ("median imputation + missing indicator" if
                    f"missingindicator_{col}" in self.feature_to_column_ else "median imputation")
        if kind == "boolean":
            return "mapped to 0/1 + most-frequent imputation"
        if kind == "datetime":
            return f"date parts ({', '.join(self.date_parts_[col])}) + median imputation"
        if kind == "text":
            terms = len(fitted[f"text:{col}"].vocabulary_)
            return f"TF-IDF ({terms} terms)"
        encoding = self.encoding_[col]
        if encoding == "onehot":
            return f"one-hot ({info.cardinality} levels)"
        if encoding == "target":
            return f"target encoding ({info.cardinality} levels)"
        if info.cardinality > self.max_ordinal:
            return f"ordinal ({info.cardinality} levels; no target given for target encoding)"
        return f"ordinal ({info.cardinality} levels)"


def _check_frame(X) -> None:
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(X).__name__}.")


def _names(cols: list) -> list[str]:
    return [str(c) for c in cols]


# -- scalers ----------------------------------------------------------------------------------
SCALERS = frozenset({"none", "standard", "minmax", "maxabs", "robust", "pca", "truncated_svd",
                     "normalizer"})
MAX_COMPONENTS = 50


def make_scaler(name: str, n_features_hint: int | None = None, random_state: int = 0):
    """The scaling step for ``name`` ('passthrough' for 'none').

    PCA (without whitening) and truncated SVD keep ``min(50, n_features_hint - 1)``
    components (50 when no hint is given); the learners pass the smaller of the featurized
    width and the number of training rows, since neither may be exceeded.
    """
    if name not in SCALERS:
        raise SettingsError(f"unknown scaler {name!r}; valid scalers: "
                            f"{', '.join(sorted(SCALERS))}.")
    k = MAX_COMPONENTS if n_features_hint is None else max(1, min(MAX_COMPONENTS,
                                                                  n_features_hint - 1))
    return {
        "none": lambda: "passthrough",
        "standard": StandardScaler,
        "minmax": MinMaxScaler,
        "maxabs": MaxAbsScaler,
        "robust": RobustScaler,
        "normalizer": Normalizer,
        "pca": lambda: PCA(n_components=k, whiten=False, random_state=random_state),
        "truncated_svd": lambda: TruncatedSVD(n_components=k, random_state=random_state),
    }[name]()
