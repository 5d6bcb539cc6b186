"""``Featurizer``: composes the featurizers into pivoted designs and writes the summary.

    feat = Featurizer(target_lags="auto", country_or_region="AU", subdivision="VIC")
    feat.fit(train, strategy="recursive", horizon=14)
    X, y, rows = feat.transform(train)          # the training design (y: transformed target)
    feat.summary()                              # one row per raw column, as a DataFrame
    feat.summary_json()

``featurization`` is ``"auto"`` (everything that fits the data), ``"off"`` (target lags and the
covariates only: no calendar, holidays, rolling windows, target transform or series id) or a
``FeaturizationConfig`` / dict of its fields: columns to drop, a column's role or type forced,
imputation per column, lags and windows per column, and switches for each featurizer.

The fitted featurizer keeps each series' recent raw values (``tail``) so that a learner can lay
out the history it forecasts from without the training data (see ``forecast_history``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID, TimeSeriesDataset
from tsauto.data.forecast_columns import STEP
from tsauto.data.grouped import History, offsets, position_in_series, series_codes
from tsauto.errors import DataError, SettingsError, check_int, closest_hint, preview
from tsauto.features.base import TARGET, Rows
from tsauto.features.calendar import CalendarFeatures
from tsauto.features.covariates import MISSING, CovariateFeatures, detect_type
from tsauto.features.holiday import HolidayFeatures
from tsauto.features.lags import Lags, check_lags
from tsauto.features.spec import FeaturizationConfig, FeaturizationSpec
from tsauto.features.target import TargetTransform
from tsauto.features.windows import RollingWindows, SeasonalRollingWindows

STRATEGIES = ("recursive", "direct")
ENCODINGS = ("onehot", "ordinal", "native")


class Featurizer:
    """Builds leakage-free pivoted designs from a ``TimeSeriesDataset``, as its
    ``FeaturizationSpec`` says: ``Featurizer(spec)``, or the spec's fields as keywords
    (``Featurizer("off", target_lags=[1, 7])``).

    The fields: ``featurization`` ('auto', 'off', or a dict / ``FeaturizationConfig``),
    ``target_lags`` ('auto', a list, or None for none), ``target_rolling_window_size`` ('auto'
    or None, an int or a list), ``rolling_stats``, ``seasonal_window_size`` ('auto' or a number
    of seasons; None turns it off), ``feature_lags`` (lags of past-only covariates: 'auto', a
    list, or None, which leaves past-only covariates out), ``country_or_region``/``subdivision``/
    ``holiday_window`` (holidays), ``target_scaler``/``target_difference``/``target_power``
    (per-series target transform), ``categorical_encoding`` ('onehot', 'ordinal', 'native')
    and ``max_onehot``.
    """

    def __init__(self, featurization="auto", **options) -> None:
        self.spec = (featurization if isinstance(featurization, FeaturizationSpec) and not options
                     else FeaturizationSpec(featurization=featurization, **options))

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, ds: TimeSeriesDataset, strategy: str = "recursive",
            horizon: int = 1) -> Featurizer:
        """Learn everything from the training data ``ds``.  ``strategy`` and ``horizon`` fix
        how far back past-only covariates must reach (see ``Rows.cov_origin``)."""
        if not isinstance(ds, TimeSeriesDataset):
            raise DataError(f"Featurizer.fit expects a TimeSeriesDataset, got {type(ds).__name__}.")
        if strategy not in STRATEGIES:
            raise SettingsError(f"strategy={strategy!r} is not valid; use one of "
                                f"{', '.join(STRATEGIES)}.")
        spec = self.spec
        if spec.categorical_encoding not in ENCODINGS:
            raise SettingsError(f"categorical_encoding={spec.categorical_encoding!r} is not "
                                f"valid; use one of {', '.join(ENCODINGS)}.")
        check_int(horizon, "horizon")
        if ds.frame[ds.target_column].isna().any():
            raise DataError(f"the target '{ds.target_column}' has missing values; fill them "
                            f"(the guardrails do) before featurizing.")
        config = FeaturizationConfig.parse(spec.featurization)
        self.config_ = config
        self.strategy_, self.horizon_ = strategy, int(horizon)
        self.target_column_ = ds.target_column
        self.time_column_ = ds.time_column
        self.grid_ = ds.grid
        self.season_length_ = m = ds.season_length
        self._check_column_keys(ds, config)

        values, indptr = ds.grouped().values, ds.indptr
        self.target_ = TargetTransform(
            spec.target_scaler if config.target_transform else "none",
            spec.target_difference if config.target_transform else None,
            spec.target_power if config.target_transform else None, m).fit(values, indptr)
        z = self.target_.transform(values, indptr)
        context = {"values": z, "indptr": indptr, "season_length": m, "strategy": strategy}
        enc, onehot = spec.categorical_encoding, spec.max_onehot

        target = ds.target_column
        parts: list = []
        target_lags = config.lags.get(target, spec.target_lags)
        if target_lags is not None:
            parts.append(Lags(TARGET, target_lags).fit(ds, {**context, "setting": "target_lags"}))
        windows = config.windows.get(target, spec.target_rolling_window_size)
        windows = "auto" if windows is None else windows
        if config.rolling:
            parts.append(RollingWindows(TARGET, windows, spec.rolling_stats).fit(
                ds, {**context, "setting": "target_rolling_window_size"}))
        if config.seasonal_rolling and m > 1 and spec.seasonal_window_size is not None:
            parts.append(SeasonalRollingWindows(spec.seasonal_window_size).fit(ds, context))
        if config.calendar:
            cal = "auto" if config.calendar is True else list(config.calendar)
            parts.append(CalendarFeatures(cal).fit(ds, context))
        if spec.country_or_region is not None and config.holidays:
            parts.append(HolidayFeatures(spec.country_or_region, spec.subdivision,
                                         spec.holiday_window, enc).fit(ds, context))
        elif spec.subdivision is not None:
            raise SettingsError(f"subdivision={spec.subdivision!r} needs country_or_region.")
        cov = CovariateFeatures(config.column_roles, config.column_types, config.imputation,
                                config.drop_columns, config.series_id, enc, onehot,
                                use_past=spec.feature_lags is not None).fit(ds)
        parts.append(cov)
        self.covariates_ = cov
        for col in cov.past_columns:
            plan = cov.plans_[col]
            levels = plan.levels if plan.type == "categorical" else None
            lags = config.lags.get(col, spec.feature_lags)
            if lags == "auto":
                lags = sorted({1, 2, 3} | ({m} if 1 < m <= 52 else set()))
            parts.append(Lags(col, check_lags(lags, f"feature_lags for '{col}'"),
                              origin="cov_origin", levels=levels, encoding=enc,
                              max_onehot=onehot).fit(ds, context))
            if plan.has_missing:
                parts.append(Lags(col + MISSING, [1], origin="cov_origin",
                                  prefix=f"{col}{MISSING}_lag").fit(ds, context))
            if col in config.windows and plan.type == "numeric":
                parts.append(RollingWindows(col, config.windows[col], ("mean",),
                                            origin="cov_origin").fit(
                    ds, {**context, "setting": f"featurization windows['{col}']"}))
        self.parts_ = parts

        names = [n for p in parts for n in p.feature_names_out]
        if strategy == "direct":
            names.append(STEP)
        made = [n for p in parts if p is not cov for n in p.feature_names_out]
        clash = sorted(set(cov.feature_names_out) & set(made))
        if clash:  # two columns of one name: the model would fail or read the wrong one
            raise SettingsError(
                f"covariate feature(s) {preview(clash)} have the name of a feature the "
                f"featurization makes (target lags 'lag<k>', windows 'roll<k>_<stat>', calendar "
                f"'cal_<part>', holidays...); rename the column(s).")
        self.feature_names_ = names
        self.categorical_ = [n for p in parts for n in p.categorical_features]
        self.lookback_ = self._lookback(horizon)
        self._keep_tail(ds, z)
        self._summarise(ds)
        return self

    def _check_column_keys(self, ds, config: FeaturizationConfig) -> None:
        columns = [ds.target_column, *ds.covariates]
        for setting in ("lags", "windows"):
            mapping = getattr(config, setting)
            bad = [c for c in mapping if c not in columns]
            if bad:
                raise SettingsError(f"featurization {setting} names column(s) {preview(bad)} "
                                    f"that are not the target or a covariate."
                                    f"{closest_hint(bad[0], columns)} Valid: "
                                    f"{preview(columns, 20)}.")
            known = [c for c in mapping if c in ds.known_covariates or c in ds.static_features]
            if known:
                raise SettingsError(f"featurization {setting} for {preview(known)}: lags and "
                                    f"windows apply to the target and past-only covariates; "
                                    f"known covariates are used at their own time.")

    def _lookback(self, horizon: int) -> int:
        """Periods of history before the forecast origin that any feature reads."""
        need = 1
        for p in self.parts_:
            if isinstance(p, Lags):
                extra = horizon if p.origin == "cov_origin" and self.strategy_ == "recursive" else 0
                need = max(need, p.max_lag + extra)
            elif isinstance(p, RollingWindows):
                extra = horizon if p.origin == "cov_origin" and self.strategy_ == "recursive" else 0
                need = max(need, p.lookback + extra)
            elif isinstance(p, SeasonalRollingWindows):
                need = max(need, p.lookback + p.m_)
        return need

    @property
    def feature_names_out(self) -> list[str]:
        return list(self.feature_names_)

    @property
    def categorical_features(self) -> list[str]:
        return list(self.categorical_)

    @property
    def onnx_exportable(self) -> bool:
        return all(p.onnx_exportable for p in self.parts_) and self.target_.onnx_exportable

    @property
    def target_lags_(self) -> list[int]:
        """The target lags in use."""
        for p in self.parts_:
            if isinstance(p, Lags) and p.column == TARGET:
                return list(p.lags_)
        return []

    # -- history and rows ----------------------------------------------------------------------
    def history(self, ds: TimeSeriesDataset) -> History:
        """The grouped history of a dataset with the fitted transforms applied (the dataset must
        hold the fitted series, in the same order)."""
        if list(ds.series_ids) != list(self.covariates_.series_levels_):
            raise DataError("the dataset's series differ from those the featurizer was fitted "
                            "on; featurize a dataset with the same series.")
        indptr = ds.indptr
        start = self.grid_.index(ds._naive_times()[indptr[:-1]])
        columns = {TARGET: self.target_.transform(ds.grouped().values, indptr)}
        for col in self.covariates_.known_columns + self.covariates_.past_columns:
            raw = ds.frame[col]
            columns[col] = self.covariates_.encode(col, raw, indptr)
            if self.covariates_.plans_[col].has_missing:
                columns[col + MISSING] = self.covariates_.missing(raw)
        return History(indptr, start, columns)

    def training_rows(self, history: History, strategy: str | None = None,
                      horizon: int | None = None) -> Rows:
        """Every (origin, step) of the history with a known target and enough past.

        A series needs ``lookback`` periods before an origin for full features; series shorter
        than twice that start from their middle, so that short series still train the model
        (their missing lags are NaN)."""
        strategy = strategy or self.strategy_
        horizon = horizon or self.horizon_
        indptr = history.indptr
        lengths = np.diff(indptr)
        warmup = np.minimum(self.lookback_, np.maximum(lengths // 2, 1))
        pos = position_in_series(indptr)
        codes = series_codes(indptr)
        steps = [1] if strategy == "recursive" else range(1, horizon + 1)
        parts = []
        z = history.columns[TARGET]
        for h in steps:
            # target position p: origin p - h must be at or after the warm-up
            ok = (pos - h >= warmup[codes] - 1) & ~np.isnan(z)
            target = np.flatnonzero(ok)
            parts.append((target, h))
        target = np.concatenate([t for t, _ in parts])
        step = np.concatenate([np.full(len(t), h) for t, h in parts])
        series = codes[target]
        origin = target - step
        cov_origin = target - self.horizon_ if self.strategy_ == "recursive" else origin
        time = self.grid_.times(history.period_index(target, series))
        return Rows(series, origin, target, step, cov_origin, time)

    def design(self, history: History, rows: Rows) -> pd.DataFrame:
        """The feature matrix of ``rows`` (columns in ``feature_names_out`` order)."""
        # One column-major block, filled part by part: pandas wraps it without copying.
        names = self.feature_names_
        where = {name: j for j, name in enumerate(names)}
        matrix = np.empty((len(rows), len(names)), dtype=np.float64, order="F")
        for part in self.parts_:
            for name, values in part.transform(history, rows).items():
                matrix[:, where[name]] = values
        if self.strategy_ == "direct":
            matrix[:, where[STEP]] = rows.step
        return pd.DataFrame(matrix, columns=names, copy=False)

    def transform(self, ds: TimeSeriesDataset) -> tuple[pd.DataFrame, np.ndarray, Rows]:
        """The training design of ``ds``: features, transformed target, and the rows."""
        history = self.history(ds)
        rows = self.training_rows(history)
        return self.design(history, rows), history.columns[TARGET][rows.target], rows

    def fit_transform(self, ds: TimeSeriesDataset, strategy: str = "recursive",
                      horizon: int = 1) -> tuple[pd.DataFrame, np.ndarray, Rows]:
        return self.fit(ds, strategy, horizon).transform(ds)

    # -- the forecast history ------------------------------------------------------------------
    def _keep_tail(self, ds: TimeSeriesDataset, z: np.ndarray) -> None:
        """Keep each series' last raw values: the target (with the transform's own lookback)
        and the encoded covariates, right-aligned with NaN padding."""
        indptr = ds.indptr
        self.tail_len_ = self.lookback_ + self.target_.lookback + 1
        self.tail_y_ = _right_align(ds.grouped().values, indptr, self.tail_len_)
        self.tail_cov_ = {}
        for col in self.covariates_.known_columns + self.covariates_.past_columns:
            raw = ds.frame[col]
            self.tail_cov_[col] = _right_align(self.covariates_.encode(col, raw, indptr), indptr,
                                               self.tail_len_)
            if self.covariates_.plans_[col].has_missing:
                self.tail_cov_[col + MISSING] = _right_align(self.covariates_.missing(raw),
                                                             indptr, self.tail_len_)
        self.last_index_ = self.grid_.index(ds._naive_times()[indptr[1:] - 1])

    def with_history(self, ds: TimeSeriesDataset) -> Featurizer:
        """A copy whose forecast history is the tail of ``ds`` (new data, same columns): the
        lags and windows read it; per-series statistics stay those learned for series seen at
        training and are learned from ``ds`` for the others."""
        known = pd.Index(self.covariates_.series_levels_)
        positions = known.get_indexer(ds.series_ids)
        other = copy.copy(self)
        other.target_ = self.target_.for_series(positions, ds.grouped().values, ds.indptr)
        other.covariates_ = self.covariates_.for_series(positions, ds)
        other.parts_ = [other.covariates_ if p is self.covariates_ else p for p in self.parts_]
        other._keep_tail(ds, None)
        return other

    def forecast_history(self, horizon: int, future: pd.DataFrame | None = None) -> History:
        """History laid out for forecasting ``horizon`` periods after the training data: each
        series' tail followed by ``horizon`` empty slots (the known covariates filled from
        ``future``, a frame in ``future_frame`` order: series by series, step by step)."""
        n, width = self.tail_y_.shape[0], self.tail_len_ + horizon
        indptr = np.arange(n + 1) * width
        tail_indptr = np.arange(n + 1) * self.tail_len_
        z_tail = self.target_.transform(self.tail_y_.ravel(), tail_indptr).reshape(n, -1)
        columns = {TARGET: _extend(z_tail, horizon)}
        for col, tail in self.tail_cov_.items():
            columns[col] = _extend(tail, horizon)
        for col in self.covariates_.known_columns:
            if future is None or col not in future:
                raise DataError(f"known covariate '{col}' has no future values.")
            raw = future[col].reset_index(drop=True)
            block = columns[col].reshape(n, width)
            block[:, self.tail_len_:] = self.covariates_.encode(col, raw).reshape(n, horizon)
            if col + MISSING in columns:
                columns[col + MISSING].reshape(n, width)[:, self.tail_len_:] = \
                    self.covariates_.missing(raw).reshape(n, horizon)
        start = self.last_index_ - self.tail_len_ + 1
        return History(indptr, start, columns)

    def forecast_rows(self, history: History, horizon: int, step: int | None = None) -> Rows:
        """Rows of the forecast: for ``step`` h, the recursive row of every series (a one-step
        row whose origin is h-1 periods past the data's end); without ``step``, the direct rows
        of every series and step."""
        n = history.n_series
        last = history.indptr[:-1] + self.tail_len_ - 1  # position of each series' last value
        if step is not None:
            series = np.arange(n)
            target = last + step
            steps = np.ones(n, dtype=np.int64)
        else:
            series = np.repeat(np.arange(n), horizon)
            steps = np.tile(np.arange(1, horizon + 1), n)
            target = last[series] + steps
        origin = target - steps
        cov_origin = target - self.horizon_ if self.strategy_ == "recursive" else origin
        time = self.grid_.times(history.period_index(target, series))
        return Rows(series, origin, target, steps, cov_origin, time)

    # -- summary -------------------------------------------------------------------------------
    def _summarise(self, ds: TimeSeriesDataset) -> None:
        described: dict[str, dict] = {}
        for part in self.parts_:
            for col, info in part.describe().items():
                slot = described.setdefault(col, {"transformations": [], "features": []})
                slot["transformations"] += info["transformations"]
                slot["features"] += info["features"]
        rows = []
        time_info = described.get("__time__", {"transformations": [], "features": []})
        rows.append(_row(ds.time_column, "datetime", "time", False, "",
                         ["period of each row"] + time_info["transformations"],
                         time_info["features"]))
        tinfo = described.get(TARGET, {"transformations": [], "features": []})
        rows.append(_row(ds.target_column, "numeric", "target", False, "",
                         self.target_.describe() + tinfo["transformations"], tinfo["features"]))
        sid = described.get(SERIES_ID)
        for col in ds.grain_columns:
            rows.append(_row(col, detect_type(ds.series[col]), "grain", False, "",
                             ["identifies the series"] + (sid["transformations"] if sid else []),
                             sid["features"] if sid else []))
        if not ds.grain_columns and sid:
            rows.append(_row(SERIES_ID, "categorical", "grain", False, "",
                             sid["transformations"], sid["features"]))
        cov = self.covariates_
        for col, plan in cov.plans_.items():
            info = described.get(col, {"transformations": [], "features": []})
            extra = described.get(col + MISSING, {"transformations": [], "features": []})
            if plan.role == "past" and not plan.dropped:
                info["transformations"] = ["lagged from the forecast origin (past-only)"] + \
                    info["transformations"]
            rows.append(_row(col, plan.type, plan.role, plan.dropped, plan.reason,
                             plan.transformations + info["transformations"],
                             info["features"] + extra["features"]))
        self.summary_ = rows

    def summary(self) -> pd.DataFrame:
        """One row per raw column: column, detected_type, role, dropped, reason,
        transformations, features."""
        frame = pd.DataFrame(self.summary_)
        frame["transformations"] = frame["transformations"].map("; ".join)
        frame["features"] = frame["features"].map(", ".join)
        return frame

    def summary_json(self) -> str:
        return json.dumps({"featurization": asdict(self.config_),
                           "strategy": self.strategy_, "horizon": self.horizon_,
                           "onnx_exportable": self.onnx_exportable,
                           "features": self.feature_names_, "columns": self.summary_},
                          indent=2, default=str)


def _row(column, detected, role, dropped, reason, transformations, features) -> dict:
    return {"column": column, "detected_type": detected, "role": role, "dropped": dropped,
            "reason": reason, "transformations": list(transformations),
            "features": list(features)}


def _right_align(values: np.ndarray, indptr: np.ndarray, width: int) -> np.ndarray:
    """The last ``width`` values of each series as rows of a matrix, NaN-padded on the left."""
    n = len(indptr) - 1
    out = np.full((n, width), np.nan)
    lengths = np.diff(indptr)
    take = np.minimum(lengths, width)
    taken = offsets(take)
    rows = series_codes(taken)
    within = position_in_series(taken)
    src = np.repeat(indptr[1:] - take, take) + within
    out[rows, width - np.repeat(take, take) + within] = values[src]
    return out


def _extend(block: np.ndarray, horizon: int) -> np.ndarray:
    n = block.shape[0]
    return np.concatenate([block, np.full((n, horizon), np.nan)], axis=1).ravel()
