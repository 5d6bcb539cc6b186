"""The one protocol every forecaster honours.

    learner = SomeForecaster(quantiles=(0.1, 0.5, 0.9), **hyper_parameters)
    learner.fit(train)                       # train: a TimeSeriesDataset, no missing target
    frame = learner.predict(horizon, future) # long frame (tsauto.data.forecast_columns)

Learners are plain picklable objects: parameters in ``__init__`` (no work there), learned state
in attributes ending in ``_``; they never read settings.  Their search spaces are in
``tsauto.learners.space``, saving and loading in ``tsauto.learners.persistence``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tsauto.data.column_types import check_readable
from tsauto.data.dataset import SERIES_ID, DatasetSchema, TimeSeriesDataset
from tsauto.data.forecast_columns import POINT, STEP, check_quantiles, quantile_column
from tsauto.errors import (
    DataError,
    MissingFutureError,
    NotFittedError,
    SettingsError,
    preview,
)
from tsauto.learners.persistence import Pickled
from tsauto.learners.space import Choice, FloatRange, IntRange


@dataclass(frozen=True)
class Capabilities:
    """What a learner can do; the search and the settings check read these."""

    quantiles: bool = True
    known_covariates: bool = False
    past_covariates: bool = False
    static_features: bool = False
    global_model: bool = False      # one model across all series
    onnx: bool = False
    needs_gpu: bool = False
    min_history: int = 2            # fewest points a series needs to be fitted as itself
    cost: str = "low"               # trivial | low | medium | high: the search spends budget by it
    # What the data must show for the learner to be worth a trial (tsauto.tasks.forecasting_plan)
    intermittent: bool = False      # made for intermittent demand (many zero values)
    seasonal: bool = False          # needs a season (length > 1) and two of its cycles



class Forecaster(Pickled):
    """Base class: subclasses set ``name``/``capabilities`` and implement ``_fit``/``_predict``."""

    name: ClassVar[str] = "forecaster"
    capabilities: ClassVar[Capabilities] = Capabilities()
    # True where any quantile can be asked at predict time (the intervals are computed then);
    # False where the fitted quantiles are all there is (quantile regressions, TCN heads).
    free_quantiles: ClassVar[bool] = False
    # The fields of the trial context (tsauto.tasks.forecasting.ForecastContext) the constructor
    # takes, by the same names.
    context_fields: ClassVar[tuple[str, ...]] = ("quantiles",)

    def __init__(self, quantiles: Sequence[float] = (), **params: Any) -> None:
        self.quantiles = quantiles
        self.params = params

    @classmethod
    def from_context(cls, context, params: dict) -> Forecaster:
        """The learner a trial fits: the context fields it declares, overridden by the trial's
        own ``params``."""
        return cls(**{**{name: getattr(context, name) for name in cls.context_fields},
                      **params})

    # -- the protocol --------------------------------------------------------------------------
    def fit(self, train: TimeSeriesDataset) -> Forecaster:
        if not isinstance(train, TimeSeriesDataset):
            raise DataError(f"{self.name}.fit expects a TimeSeriesDataset, got "
                            f"{type(train).__name__}.")
        missing = train.frame[train.target_column].isna()
        if missing.any():
            series = train.frame.loc[missing, SERIES_ID].unique().tolist()
            raise DataError(f"{self.name}: the target '{train.target_column}' has "
                            f"{int(missing.sum())} missing values (series {preview(series)}); run "
                            f"the guardrails first, they fill gaps and report it.")
        self.quantiles_ = check_quantiles(self.quantiles)
        self.schema_ = train.schema()
        self._fit(train)
        return self

    def predict(self, horizon: int, future: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        """Forecasts ``horizon`` periods past the data the learner holds.  ``quantiles``
        replaces the fitted ones where the learner can (``free_quantiles``).  Predicting never
        changes the learner: one fitted learner may serve many threads.  Notes about single
        series (fallbacks) come back in the frame's ``attrs``."""
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"{self.name} must be fitted before predict.")
        learner = self if quantiles is None else self.with_quantiles(quantiles)
        frame = learner.schema_.future_frame(horizon)
        if learner.capabilities.known_covariates and learner.schema_.known_covariates:
            frame = align_future(frame, future, learner.schema_)
        out = learner._predict(horizon, frame)
        attrs = dict(out.attrs)
        out = finish_forecast(out, learner.quantiles_)
        out.attrs = attrs
        return out

    def with_quantiles(self, quantiles: Sequence[float]) -> Forecaster:
        """A shallow copy predicting ``quantiles`` instead of the fitted ones; a SettingsError
        naming the fitted quantiles where the learner cannot."""
        qs = check_quantiles(quantiles)
        if not self.free_quantiles and not set(qs) <= set(self.quantiles_):
            raise SettingsError(
                f"{self.name} was fitted for quantiles {list(self.quantiles_) or 'none'} and "
                f"cannot give {preview(sorted(set(qs) - set(self.quantiles_)))}; ask for "
                f"fitted ones, or refit with quantiles= including them.")
        other = copy.copy(self)
        other.quantiles_ = qs
        return other

    def with_history(self, history: TimeSeriesDataset) -> Forecaster:
        """A copy that forecasts from ``history`` (new data of the same columns and frequency)
        instead of the training data, without refitting; ``self`` is left unchanged.  Each
        family says what it keeps and what it recomputes (docs/serving.md)."""
        raise SettingsError(f"{self.name} cannot forecast from new data; refit it on them.")

    def prepare(self, horizon: int) -> None:
        """Work done once after the final fit, so that forecasts are served fast (statistical
        learners keep their fitted per-series models and the forecast of ``horizon``).  The one
        step besides ``fit`` that may change the learner; nothing calls it while serving."""

    def _fit(self, train: TimeSeriesDataset) -> None:
        raise NotImplementedError

    def _predict(self, horizon: int, future: pd.DataFrame) -> pd.DataFrame:
        """``future`` is the frame of the periods to forecast (series_id, time, step and the
        known covariates); return it with ``forecast`` and the quantile columns added."""
        raise NotImplementedError

    def explain(self) -> dict:
        """What the fitted learner learned, for people: its parameters by default; families add
        feature importances or fitted model parameters."""
        return {"learner": self.name, "params": dict(self.params)}

    @classmethod
    def search_space(cls) -> dict[str, IntRange | FloatRange | Choice]:
        """Hyper-parameters the search may tune, with their ranges."""
        return {}

    @classmethod
    def exports_onnx(cls, params: dict, settings=None) -> bool:
        """Whether a trial of this learner with ``params`` (under ``settings``, for the
        featurization they fix) becomes a model that ``to_onnx`` exports (tsauto.export)."""
        return cls.capabilities.onnx

    @classmethod
    def portfolio(cls) -> tuple[dict, ...]:
        """Parameters of the trials the search runs right after this learner's baseline trial
        (defaults), when it is a baseline: configurations that won where the defaults did not,
        so that validation picks between them before any tuning is afforded."""
        return ()

    @classmethod
    def onnx_defaults(cls) -> dict:
        """Parameters over the defaults that make a trial export (its baseline trial and
        every suggestion under ``enable_onnx_compatible_models``)."""
        return {}

    @classmethod
    def onnx_search_space(cls) -> dict[str, IntRange | FloatRange | Choice]:
        """The search space less the values whose models would not export to ONNX
        (``enable_onnx_compatible_models``)."""
        return cls.search_space()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def training_positions(schema: DatasetSchema, history: TimeSeriesDataset) -> np.ndarray:
    """For each series of ``history``, its position among the series a learner was fitted on
    (``schema``), -1 for a series not seen at training."""
    return pd.Index(schema.series_ids).get_indexer(history.series_ids)


def align_future(frame: pd.DataFrame, future: pd.DataFrame | None, meta: DatasetSchema) -> pd.DataFrame:
    """Join the user's future known covariates onto the periods to forecast.

    ``future`` is a long frame with ``series_id`` (or the grain columns), the time column and
    every known covariate.  Raises ``MissingFutureError`` naming the missing columns or the
    series and periods without a row.  A row's missing value stays NaN: the learner treats it
    as it treats one in training (the pivoted learners impute it, the others refuse it).
    """
    needed = meta.known_covariates
    if future is None:
        raise MissingFutureError(f"this model uses known covariates {preview(needed)}: pass "
                                 f"future= a frame with their values for every series and each of "
                                 f"the {int(frame[STEP].max())} periods to forecast.")
    missing_cols = [c for c in [meta.time_column, *needed] if c not in future.columns]
    if missing_cols:
        raise MissingFutureError(f"future is missing column(s) {preview(missing_cols)}; it needs "
                                 f"the time column '{meta.time_column}' and {preview(needed)}.")
    check_readable(future, meta.known_kinds, "future", imputed=False)
    future = meta.on_grid(meta.with_series_id(future, "future", MissingFutureError),
                          "future: time column")
    keys = [SERIES_ID, meta.time_column]
    future = future.drop_duplicates(keys, keep="last")[keys + needed]
    merged = frame.merge(future, on=keys, how="left", indicator=True)
    absent = (merged.pop("_merge") == "left_only").to_numpy()
    if absent.any():
        bad = merged.loc[absent, keys]
        raise MissingFutureError(
            f"future has no row for {int(absent.sum())} periods to forecast, e.g. series "
            f"{preview(bad[SERIES_ID].unique().tolist())} at {bad[meta.time_column].iloc[0]}; "
            f"give every series a row with {preview(needed)} for each of the "
            f"{int(frame[STEP].max())} periods.")
    merged[SERIES_ID] = frame[SERIES_ID].to_numpy()
    return merged


def finish_forecast(frame: pd.DataFrame, quantiles: Sequence[float]) -> pd.DataFrame:
    """Check a learner's output and make quantiles monotone (sorting fixes crossings)."""
    cols = [quantile_column(q) for q in quantiles]
    missing = [c for c in [POINT, *cols] if c not in frame.columns]
    if missing:
        raise RuntimeError(f"learner output lacks columns {missing}")
    if cols:
        frame[cols] = np.sort(frame[cols].to_numpy(dtype="float64"), axis=1)
    return frame.reset_index(drop=True)
