"""Covariates: type detection, imputation, categorical encoding and the features of known-future
covariates, static features and the series id.

Known-future covariates are used at the target period's own time (the user gives their future
values).  Past-only covariates are never used unlagged: the ``Featurizer`` reads them through
``Lags`` counted back from the forecast origin.  Static features are broadcast to every row of
their series; the series id itself is a categorical feature so that one global model can tell
series apart.

Numeric columns are imputed (``mean``, ``median``, ``zero``, ``ffill`` within the series then
the mean, or a constant number) with a ``<col>_missing`` indicator when the training data had
gaps.  Categorical columns become integer codes over the training levels (an unseen or missing
value is unknown); ``encoding`` turns codes into one-hot columns (low cardinality), ordinal
codes, or LightGBM-native categories.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.grouped import History, gather, series_codes
from tsauto.errors import DataError, SettingsError, preview
from tsauto.features.base import (
    FeatureTransformer,
    Rows,
    encoded_names,
    one_hot_or_codes,
)

IMPUTATIONS = ("mean", "median", "zero", "ffill")
TYPES = ("numeric", "categorical")
ROLES = ("known", "past", "static")
MISSING = "__missing"


@dataclass
class ColumnPlan:
    """What happens to one raw covariate column."""

    name: str
    role: str                     # known | past | static
    type: str = "numeric"         # numeric | categorical | datetime | ...
    dropped: bool = False
    reason: str = ""
    levels: list = field(default_factory=list)
    fill: float = 0.0             # imputation value (numeric)
    imputation: str = "mean"
    has_missing: bool = False
    transformations: list[str] = field(default_factory=list)


def detect_type(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    return "categorical"


class CovariateFeatures(FeatureTransformer):
    """Plans, encodes and featurizes the covariates of a dataset.

    ``roles``/``types``/``imputation``/``drop`` are per-column overrides from the featurization
    config; ``series_id`` adds the series id as a categorical feature.
    """

    onnx_exportable = True  # Where/IsNaN imputation, OneHot/LabelEncoder, Gather

    def __init__(self, roles: dict | None = None, types: dict | None = None,
                 imputation: dict | None = None, drop=(), series_id: bool = True,
                 encoding: str = "onehot", max_onehot: int = 10, default_imputation: str = "mean",
                 max_levels: int = 1000, use_past: bool = True) -> None:
        self.roles = roles or {}
        self.types = types or {}
        self.imputation = imputation or {}
        self.drop = drop
        self.series_id = series_id
        self.encoding = encoding
        self.max_onehot = max_onehot
        self.default_imputation = default_imputation
        self.max_levels = max_levels
        self.use_past = use_past

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, ds, context: dict | None = None) -> CovariateFeatures:
        frame = ds.frame
        declared = {**{c: "known" for c in ds.known_covariates},
                    **{c: "past" for c in ds.past_covariates},
                    **{c: "static" for c in ds.static_features}}
        self._check_overrides(declared, ds)
        plans = {}
        for col, role in declared.items():
            plan = ColumnPlan(col, self.roles.get(col, role))
            if plan.role != role:
                plan.transformations.append(f"role forced {role} -> {plan.role}")
            if col in self.drop:
                plan.dropped, plan.reason = True, "dropped by the featurization config"
                plans[col] = plan
                continue
            if plan.role == "past" and not self.use_past:
                plan.dropped, plan.reason = True, "feature_lags=None: past-only covariates unused"
                plans[col] = plan
                continue
            self._plan_column(plan, frame[col])
            plans[col] = plan
        self.plans_ = plans
        self.series_levels_ = [str(s) for s in ds.series_ids]
        self.statics_ = {}
        first = ds.indptr[:-1]
        for col in self.static_columns:
            self.statics_[col] = self.encode(col, frame[col].iloc[first])
        names, cats = [], []
        for col in self.known_columns:
            n, c = self._column_names(col)
            names += n
            cats += c
            if plans[col].has_missing:
                names.append(col + MISSING)
        for col in self.static_columns:
            n, c = self._column_names(col)
            names += n
            cats += c
        if self.series_id:
            n, c = encoded_names(SERIES_ID, self.series_levels_, self.encoding, self.max_onehot)
            names += n
            cats += c
        self.feature_names_, self.categorical_ = names, cats
        return self

    def for_series(self, positions: np.ndarray, ds) -> CovariateFeatures:
        """A copy for the series of new data ``ds``: static features read from it, the series id
        coded by each series' training position (``positions``, -1 where unseen)."""
        other = copy.copy(self)
        other.series_codes_ = positions
        first = ds.indptr[:-1]
        other.statics_ = {col: self.encode(col, ds.frame[col].iloc[first])
                          for col in self.static_columns}
        return other

    def _check_overrides(self, declared: dict, ds) -> None:
        every = [*declared]
        for setting, mapping in (("column_roles", self.roles), ("column_types", self.types),
                                 ("imputation", self.imputation)):
            unknown = [c for c in mapping if c not in declared]
            if unknown:
                raise SettingsError(f"featurization {setting} names column(s) {preview(unknown)} "
                                    f"that are not covariates of the dataset; covariates are "
                                    f"{preview(every, 20) or 'none'}.")
        unknown = [c for c in self.drop if c not in declared]
        if unknown:
            raise SettingsError(f"featurization drop_columns names column(s) {preview(unknown)} "
                                f"that are not covariates of the dataset; covariates are "
                                f"{preview(every, 20) or 'none'}.")
        for col, role in self.roles.items():
            if role not in ROLES:
                raise SettingsError(f"featurization column_roles[{col!r}]={role!r} is not valid; "
                                    f"use one of {', '.join(ROLES)}.")
            if declared[col] == "past" and role != "past":
                raise SettingsError(
                    f"featurization column_roles[{col!r}]={role!r}: '{col}' is a past-only "
                    f"covariate; its future is unknown, so it cannot be used as {role}. Declare it "
                    f"with known_covariates= in the dataset if its future values are known.")
            if role == "static" and declared[col] != "static":
                raise SettingsError(f"featurization column_roles[{col!r}]='static': declare "
                                    f"constant-per-series columns with static_features= in the "
                                    f"dataset, which checks that they are constant.")
        for col, kind in self.types.items():
            if kind not in TYPES:
                raise SettingsError(f"featurization column_types[{col!r}]={kind!r} is not valid; "
                                    f"use one of {', '.join(TYPES)}.")
        for col, how in self.imputation.items():
            if how not in IMPUTATIONS and not isinstance(how, (int, float)):
                raise SettingsError(f"featurization imputation[{col!r}]={how!r} is not valid; use "
                                    f"one of {', '.join(IMPUTATIONS)} or a number.")

    def _plan_column(self, plan: ColumnPlan, values: pd.Series) -> None:
        col = plan.name
        detected = detect_type(values)
        plan.type = self.types.get(col, detected)
        if plan.type != detected:
            plan.transformations.append(f"type forced {detected} -> {plan.type}")
        if plan.type == "datetime":
            plan.dropped, plan.reason = True, "datetime columns are not used as features"
            return
        if values.isna().all():
            plan.dropped, plan.reason = True, "all values are missing"
            return
        if values.nunique(dropna=True) <= 1 and not values.isna().any():
            plan.dropped, plan.reason = True, "constant: carries no information"
            return
        plan.has_missing = bool(values.isna().any()) and plan.role != "static"
        if plan.type == "numeric":
            numeric = _to_numeric(values, col)
            how = self.imputation.get(col, self.default_imputation)
            plan.imputation = str(how)
            if isinstance(how, (int, float)):
                plan.fill, plan.imputation = float(how), f"constant {how}"
            elif how == "median":
                plan.fill = float(numeric.median())
            elif how == "zero":
                plan.fill = 0.0
            else:
                plan.fill = float(numeric.mean())
            if plan.has_missing:
                plan.transformations.append(f"imputed ({plan.imputation}) + missing indicator")
            return
        levels = pd.unique(values.dropna().astype(str))
        if len(levels) > self.max_levels:
            plan.dropped = True
            plan.reason = (f"categorical with {len(levels)} levels (over {self.max_levels}): "
                           f"looks like an identifier")
            return
        plan.levels = sorted(levels.tolist())
        mode = ("one-hot" if self.encoding == "onehot" and len(plan.levels) <= self.max_onehot
                else "native categorical" if self.encoding == "native" else "ordinal")
        plan.transformations.append(f"{mode} encoding of {len(plan.levels)} levels"
                                    + ("; missing/unseen -> unknown" if plan.has_missing else ""))

    def _column_names(self, col: str) -> tuple[list[str], list[str]]:
        plan = self.plans_[col]
        if plan.type == "categorical":
            return encoded_names(col, plan.levels, self.encoding, self.max_onehot)
        return [col], []

    # -- columns by role -----------------------------------------------------------------------
    def _kept(self, role: str) -> list[str]:
        return [c for c, p in self.plans_.items() if p.role == role and not p.dropped]

    @property
    def known_columns(self) -> list[str]:
        return self._kept("known")

    @property
    def past_columns(self) -> list[str]:
        return self._kept("past")

    @property
    def static_columns(self) -> list[str]:
        return self._kept("static")

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, col: str, values: pd.Series, indptr: np.ndarray | None = None) -> np.ndarray:
        """Raw values of a kept column as floats: imputed numbers or category codes (-1 unknown).
        ``indptr`` (grouped layout) enables the within-series forward fill."""
        plan = self.plans_[col]
        if plan.type == "categorical":
            text = values.astype(str).where(values.notna())
            codes = pd.Categorical(text, categories=plan.levels).codes
            return codes.astype(np.float64)
        x = _to_numeric(values, col).to_numpy(dtype=np.float64, na_value=np.nan)
        if plan.imputation == "ffill" and indptr is not None and np.isnan(x).any():
            codes = series_codes(indptr)
            x = pd.Series(x).groupby(codes).ffill().to_numpy()
        return np.where(np.isnan(x), plan.fill, x)

    def missing(self, values: pd.Series) -> np.ndarray:
        return values.isna().to_numpy().astype(np.float64)

    # -- features ------------------------------------------------------------------------------
    def transform(self, history: History, rows: Rows) -> dict[str, np.ndarray]:
        out = {}
        for col in self.known_columns:
            v = gather(history.columns[col], rows.target, rows.series, history.indptr)
            out.update(self._encode_values(col, v))
            if self.plans_[col].has_missing:
                out[col + MISSING] = gather(history.columns[col + MISSING], rows.target,
                                            rows.series, history.indptr)
        for col in self.static_columns:
            out.update(self._encode_values(col, self.statics_[col][rows.series]))
        if self.series_id:
            # Series of new data are coded by their training position (-1: not seen then).
            codes = getattr(self, "series_codes_", None)
            codes = rows.series if codes is None else codes[rows.series]
            enc, _ = one_hot_or_codes(SERIES_ID, codes, self.series_levels_, self.encoding,
                                      self.max_onehot)
            out.update(enc)
        return out

    def _encode_values(self, col: str, v: np.ndarray) -> dict[str, np.ndarray]:
        plan = self.plans_[col]
        if plan.type == "categorical":
            enc, _ = one_hot_or_codes(col, np.nan_to_num(v, nan=-1), plan.levels, self.encoding,
                                      self.max_onehot)
            return enc
        return {col: v}

    def describe(self) -> dict[str, dict]:
        out = {}
        for col in self.known_columns + self.static_columns:
            names, _ = self._column_names(col)
            if self.plans_[col].has_missing and self.plans_[col].role == "known":
                names = names + [col + MISSING]
            role = "at the target period's time" if self.plans_[col].role == "known" else \
                "broadcast to every row of its series"
            out[col] = {"transformations": [role], "features": names}
        if self.series_id:
            names, _ = encoded_names(SERIES_ID, self.series_levels_, self.encoding,
                                     self.max_onehot)
            out[SERIES_ID] = {"transformations": ["series id as a categorical feature"],
                              "features": names}
        return out


def _to_numeric(values: pd.Series, col: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        raise DataError(f"column '{col}' is treated as numeric but holds values that are not "
                        f"numbers, e.g. {preview(values[bad].head(3).tolist(), 3)}; set its type "
                        f"to 'categorical' in featurization column_types.")
    return converted.astype("float64")
