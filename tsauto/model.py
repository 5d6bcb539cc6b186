"""The fitted artifacts a user holds: ``ForecastModel`` and ``TabularModel``.

A ``ForecastModel`` wraps the refitted learner (pivoted learners carry their featurizer inside)
with the data schema, the guardrail report and the settings, and speaks the user's language:
long frames with their grain columns, their time column, the point forecast and the quantiles.
A ``TabularModel`` wraps a refitted tabular pipeline (or ensemble of them) the same way, for
``predict`` / ``predict_proba`` on new rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID, DatasetSchema, TimeSeriesDataset
from tsauto.data.forecast_columns import asked_quantiles
from tsauto.data.guardrails import GuardrailReport
from tsauto.data.history import recent_history
from tsauto.data.io import as_frame
from tsauto.data.tabular import TabularSchema
from tsauto.errors import DataError, SettingsError, check_int, preview
from tsauto.evaluation.backtest import Backtest, backtest
from tsauto.evaluation.calibration import IntervalCalibration
from tsauto.evaluation.scoring import join_actuals, score_forecast
from tsauto.learners.base import Forecaster, training_positions
from tsauto.learners.persistence import Pickled
from tsauto.learners.statistical import SeasonalNaive


class _Artifact(Pickled):
    description = ""
    kind_name = "tsauto model"
    # The search's trial it was refitted from (None: the fallback, or a file from before)
    trial_id: int | None = None

    def explain(self) -> dict:
        """Feature importances (pivoted and tabular learners, also summed per raw column),
        fitted model parameters (statistical learners), ensemble weights and members."""
        return self.learner.explain()

    def to_onnx(self, path: str | Path) -> dict:
        """Write this model as one ONNX graph at ``path`` (``.onnx``) with a JSON sidecar next
        to it (``path`` + ``.json``); returns the sidecar.  Raises ``ExportError`` naming the
        part that cannot be exported; docs/onnx.md has the inputs, outputs and what exports."""
        from tsauto.export import to_onnx

        return to_onnx(self, path)

    def _wrong_method(self, method: str, use: str):
        """The method of the other kind of model: say which one this model has."""
        raise SettingsError(f"{type(self).__name__} ({self.task}) has no {method}(): use {use}.")


class ForecastModel(_Artifact):
    """``learner`` forecasts the series it was fitted on; ``fallback`` (a fitted learner, or
    None) forecasts the others, listed in ``fallback_series`` as series id -> {"method",
    "reason"}: series too short to be validated or to be fitted by ``learner``."""

    # Models saved before fallbacks existed have none.
    fallback: Forecaster | None = None
    fallback_series: Mapping[str, dict] = MappingProxyType({})
    # Models saved before calibrated intervals show their learner's own quantiles.
    calibration: IntervalCalibration | None = None
    task = "forecasting"

    def __init__(self, learner: Forecaster, schema: DatasetSchema, history: pd.DataFrame,
                 horizon: int, quantiles, guardrails: GuardrailReport | None = None,
                 settings: dict | None = None, description: str = "",
                 fallback: Forecaster | None = None,
                 fallback_series: dict[str, dict] | None = None,
                 calibration: IntervalCalibration | None = None) -> None:
        self.learner = learner
        self.schema = schema
        self.history = history            # series_id, time, target: scales for MASE in evaluate
        self.horizon = horizon
        self.quantiles = list(quantiles)
        self.guardrails = guardrails
        self.settings = settings or {}
        self.description = description
        self.fallback = fallback
        self.fallback_series = dict(fallback_series or {})
        self.calibration = calibration

    def forecast(self, horizon: int | None = None,
                 future: pd.DataFrame | str | Path | None = None,
                 data: pd.DataFrame | TimeSeriesDataset | str | Path | None = None,
                 level: list[float] | None = None,
                 quantiles: list[float] | None = None,
                 calibrated: bool = True) -> pd.DataFrame:
        """Point and quantile forecasts for every series, long format with grain columns; each
        series is forecast from its own last observation.  ``future`` (known covariates) is a
        frame or the path of a table file.

        ``data``: recent history (a long frame with the training columns, or its file) to
        forecast from instead of the training data, without refitting: the periods after its
        end, for its series; what each learner family does with it is in docs/serving.md.
        Series not seen at training are listed in the frame's ``attrs["unseen_series"]``,
        series forecast by a fallback in ``attrs["fallbacks"]``.  ``level`` (interval levels,
        e.g. [80, 95]) or ``quantiles`` replace the fitted quantiles.  The quantiles of a
        model with a ``calibration`` are calibrated on the search's validation windows, for
        any level asked (docs/automl.md#calibrated-intervals); ``calibrated=False`` gives the
        learner's own, which it may only give for the fitted quantiles (otherwise a
        SettingsError names them).  The point forecast is the same either way.  Forecasting
        never changes the model."""
        horizon = self.horizon if horizon is None else check_int(horizon, "horizon")
        future = None if future is None else as_frame(future, "future")
        asked = asked_quantiles(level, quantiles)
        learner, schema, fallback = self.learner, self.schema, self.fallback
        if data is not None:  # the learner reads every series of the new history itself
            history = recent_history(self.schema, data, max_filled_share=self._filled_share)
            learner, schema, fallback = learner.with_history(history), history.schema(), None
        calibration = self._calibration(calibrated)
        frame = learner.predict(horizon, future=future,
                                quantiles=asked if calibration is None else None)
        if calibration is not None:  # its own quantiles replaced on the series it forecasts
            frame = calibration.apply(frame, self.history if data is None else history.frame,
                                      self.quantiles if asked is None else asked)
        if fallback is not None:  # the model's own fallback series join the learner's
            attrs = {**frame.attrs, "fallbacks": {**dict(self.fallback_series),
                                                  **frame.attrs.get("fallbacks", {})}}
            frame = self._with_fallback(frame, fallback.predict(horizon, quantiles=asked),
                                        future)
            frame.attrs.update(attrs)
        if data is not None:
            unseen = training_positions(self.schema, history) < 0
            frame.attrs["unseen_series"] = history.series_ids[unseen].tolist()
        grains = [c for c in schema.grain_columns if c != SERIES_ID]
        if grains:
            table = schema.series.set_index(SERIES_ID)[grains]
            for col in reversed(grains):
                frame.insert(1, col, table[col].reindex(frame[SERIES_ID]).to_numpy())
        return frame

    @property
    def _filled_share(self) -> float | None:
        """The fit's ``max_filled_share``: a new history may have its gaps filled as far."""
        return self.settings.get("max_filled_share")

    def _calibration(self, calibrated: bool) -> IntervalCalibration | None:
        """The calibration that replaces the learner's quantiles, if asked and there is one."""
        cal = self.calibration
        return cal if calibrated and cal is not None and cal.replaces else None

    @property
    def any_quantiles(self) -> bool:
        """Whether ``forecast`` gives any quantile asked: calibrated intervals do, and so do
        learners that compute their intervals when forecasting."""
        return bool((self.calibration is not None and self.calibration.replaces)
                    or self.learner.free_quantiles)

    def _with_fallback(self, frame: pd.DataFrame, extra: pd.DataFrame,
                       future: pd.DataFrame | None) -> pd.DataFrame:
        """The learner's and the fallback's forecasts as one frame in the data's series order.
        The fallback uses no covariates; their future values are shown where given."""
        keys = [SERIES_ID, self.schema.time_column]
        shown = [c for c in self.schema.known_covariates if c in frame.columns]
        if shown and future is not None:
            given = self.schema.with_series_id(future, "future")
            given[keys[1]] = pd.to_datetime(given[keys[1]])
            given = given.drop_duplicates(keys, keep="last")[keys + shown]
            extra = extra.merge(given, on=keys, how="left")
        combined = pd.concat([frame, extra], ignore_index=True)
        combined[SERIES_ID] = pd.Categorical(combined[SERIES_ID], categories=self.schema.series_ids)
        order = np.argsort(combined[SERIES_ID].cat.codes.to_numpy(), kind="stable")
        return combined.iloc[order].reset_index(drop=True)[frame.columns]

    def explain(self) -> dict:
        """The learner's explanation, plus how its intervals are calibrated and how they
        covered the validation windows (``intervals``), and the series forecast by the
        fallback and why."""
        out = self.learner.explain()
        if self.calibration is not None:
            out = {**out, "intervals": self.calibration.summary()}
        if self.fallback_series:
            out = {**out, "fallback_series": dict(self.fallback_series)}
        return out

    def evaluate(self, actuals: pd.DataFrame, future: pd.DataFrame | None = None) -> dict:
        """Every metric on a holdout the user brings: a long frame with the time column, the
        target and the grain columns (or series_id), for periods right after the training data.
        ``actuals`` and ``future`` may be paths of table files."""
        time_col, target = self.schema.time_column, self.schema.target_column
        actuals = as_frame(actuals, "actuals")
        missing = [c for c in [time_col, target] if c not in actuals.columns]
        if missing:
            raise DataError(f"evaluate: the holdout lacks column(s) {preview(missing)}.")
        actuals = self.schema.with_series_id(actuals, "the holdout")
        unknown = ~actuals[SERIES_ID].isin(self.schema.series_ids)
        if unknown.any():  # scored without them, the metrics would silently cover fewer series
            raise DataError(f"evaluate: the holdout has series the model was not fitted on: "
                            f"{preview(actuals.loc[unknown, SERIES_ID].unique().tolist())}; its "
                            f"series are {preview(list(self.schema.series_ids))}.")
        missing = actuals[target].isna()
        if missing.any():
            raise DataError(f"evaluate: the holdout's target '{target}' is missing in "
                            f"{int(missing.sum())} of {len(actuals)} row(s) (series "
                            f"{preview(actuals.loc[missing, SERIES_ID].unique().tolist())}); drop "
                            f"those rows or give their values.")
        actuals = self.schema.on_grid(actuals, "evaluate: time column")
        forecast = self.forecast(horizon=self._steps_needed(actuals), future=future)
        joined = join_actuals(forecast, actuals, time_col, target)
        if joined.empty:
            raise DataError("evaluate: no holdout row matches a forecast period; the holdout must "
                            "start right after the training data.")
        return score_forecast(joined, self.history, target, self.schema.grid.season_length,
                              self.quantiles)

    def backtest(self, data: pd.DataFrame | TimeSeriesDataset, n_windows: int = 3,
                 step: int | None = None, horizon: int | None = None,
                 calibrated: bool = True) -> Backtest:
        """Refit this model's learner at ``n_windows`` cutoffs of ``data`` (``step`` periods
        apart) and score its forecasts: per cutoff, per horizon step, per series.  ``data`` may
        be the path of a table file.  Its quantiles are those ``forecast`` gives: calibrated
        (from each cutoff's history) unless ``calibrated=False``.  As in ``forecast``, a series
        too short to train on at a cutoff is forecast there by the fallback
        (``Backtest.fallbacks`` lists them).  Missing target values (gaps, NaN) are filled as
        the guardrails filled them for the fit, so data the model was fitted on backtests."""
        data = recent_history(self.schema, data, "backtest data", drop_empty=True,
                              max_filled_share=self._filled_share)
        cal = self._calibration(calibrated)
        fallback = SeasonalNaive(self.quantiles, season_length=self.schema.grid.season_length)
        result = backtest(self.learner, data, self.horizon if horizon is None else horizon,
                          n_windows, step,
                          None if cal is None else partial(cal.apply, quantiles=self.quantiles),
                          fallback)
        result.model = self  # its report shows the model's guardrails, settings, explanation
        return result

    def plot(self, series=None, horizon: int | None = None, future: pd.DataFrame | None = None,
             history: int | None = None, n_series: int = 4):
        """A matplotlib figure of the forecast with its quantile bands after the last
        ``history`` periods (default: four horizons) of each of ``series`` (ids; default the
        first ``n_series``)."""
        from tsauto.reports.figures import forecast_figure, pick_series

        chosen = pick_series(series, self.schema.series_ids, n_series)
        frame = self.forecast(horizon=horizon, future=future)
        return forecast_figure(self.history, frame, self.schema.time_column,
                               self.schema.target_column, self.quantiles, chosen,
                               history or 4 * self.horizon)

    def predict(self, *args, **kwargs):
        self._wrong_method("predict", "model.forecast(horizon=..., future=...) for the periods "
                                      "after each series (predict is for classification and "
                                      "regression models)")

    def predict_proba(self, *args, **kwargs):
        self._wrong_method("predict_proba", "model.forecast(); its quantile columns "
                                            "(q0.1, ...) give the forecast's uncertainty")

    def _steps_needed(self, actuals: pd.DataFrame) -> int:
        grid = self.schema.grid
        times = pd.DatetimeIndex(actuals[self.schema.time_column])
        if times.tz is not None:
            times = times.tz_localize(None)
        last = pd.Series(self.schema.last_index, index=self.schema.series_ids)
        steps = grid.index(times.to_numpy()) - last.reindex(actuals[SERIES_ID]).to_numpy()
        steps = steps[~np.isnan(steps)] if steps.dtype.kind == "f" else steps
        if len(steps) == 0 or steps.max() < 1:
            raise DataError("evaluate: the holdout has no period after the training data.")
        return int(steps.max())

    def __repr__(self) -> str:
        return f"ForecastModel({self.description or self.learner!r}, horizon={self.horizon})"


class TabularModel(_Artifact):
    """A refitted classifier or regressor with the schema of the table it learned from."""

    def __init__(self, learner, schema: TabularSchema, guardrails=None,
                 settings: dict | None = None, description: str = "") -> None:
        self.learner = learner
        self.schema = schema
        self.guardrails = guardrails
        self.settings = settings or {}
        self.description = description

    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def classes(self) -> list | None:
        return None if self.schema.classes is None else list(self.schema.classes)

    def predict(self, frame: pd.DataFrame | str | Path) -> np.ndarray:
        """A class label (classification) or a number (regression) per row of ``frame`` (or of
        the table file at that path), which needs the training feature columns (extra columns,
        the target included, are ignored)."""
        return self.learner.predict(self._features(frame))

    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One probability column per class, rows summing to 1, indexed like ``frame``."""
        if self.task != "classification":
            raise SettingsError("predict_proba is for classification models; this one does "
                                "regression: use predict.")
        return self.learner.predict_proba(self._features(frame))

    def evaluate(self, frame: pd.DataFrame) -> dict:
        """Every metric of the task on labelled rows the user brings (target column included)."""
        from tsauto.evaluation.tabular import score_classification, score_regression

        target = self.schema.target_column
        frame = as_frame(frame, "evaluate data")
        if target not in frame.columns:
            raise DataError(f"evaluate: the frame lacks the target column '{target}'.")
        missing = np.flatnonzero(frame[target].isna().to_numpy())
        if len(missing):  # scored without them, the metrics would cover other rows than given
            raise DataError(f"evaluate: the target '{target}' is missing in {len(missing)} of "
                            f"{len(frame)} row(s) (rows {preview(missing.tolist())}); drop those "
                            f"rows or give their values.")
        if self.task == "classification":
            unknown = ~frame[target].isin(self.classes)
            if unknown.any():
                raise DataError(f"evaluate: the target column '{target}' holds label(s) "
                                f"{preview(frame.loc[unknown, target].unique().tolist())} that "
                                f"the model was not trained on (rows "
                                f"{preview(frame.index[unknown].tolist())}); its classes are "
                                f"{preview(list(self.classes))}.")
            return score_classification(frame[target].to_numpy(), self.predict_proba(frame),
                                        self.classes)
        # nrmse and nmae over the training target's range, as the search scored them
        trained = getattr(self.schema, "target_range", None)  # (a model saved before: None)
        return score_regression(frame[target].to_numpy(dtype="float64"), self.predict(frame),
                                None if trained is None else np.array(trained))

    def plot(self, frame: pd.DataFrame):
        """A matplotlib figure of this model on labelled rows: the confusion matrix and ROC /
        precision-recall curves (classification) or predicted-vs-actual and residuals
        (regression)."""
        from tsauto.reports.figures import tabular_figure

        target = self.schema.target_column
        if target not in frame.columns:
            raise DataError(f"plot: the frame lacks the target column '{target}'.")
        frame = frame[frame[target].notna()]
        scores = self.predict_proba(frame).to_numpy() if self.task == "classification" else \
            self.predict(frame)
        return tabular_figure(frame[target].to_numpy(), scores, self.classes)

    def featurization_summary(self) -> pd.DataFrame:
        """What the featurizer did to every column: detected kind, action, reason."""
        return self.learner.featurization_summary()

    def forecast(self, *args, **kwargs):
        self._wrong_method("forecast", "model.predict(rows) (forecast is for forecasting "
                                       "models)")

    def backtest(self, *args, **kwargs):
        self._wrong_method("backtest", "model.evaluate(labelled_rows) to score it on rows with "
                                       "the target")

    def _features(self, frame: pd.DataFrame | str | Path) -> pd.DataFrame:
        frame = as_frame(frame, "rows")
        if frame.empty:
            raise DataError("the rows to predict are empty (0 rows); give at least one row with "
                            f"the feature columns {preview(list(self.schema.columns), 10)}.")
        return self.schema.validate(frame, "the frame to predict")

    def __repr__(self) -> str:
        return f"TabularModel({self.task}: {self.description or self.learner!r})"


def load_model(path: str | Path) -> ForecastModel | TabularModel:
    """The model saved at ``path`` (by ``model.save`` or ``tsauto fit``).  The file's manifest is
    checked before anything is unpickled, and foreign, empty or damaged files are refused with a
    ``DataError``; a model file is code all the same: load only files from a trusted source."""
    return _Artifact.load(path)


def history_of(ds: TimeSeriesDataset) -> pd.DataFrame:
    return ds.frame[[SERIES_ID, ds.time_column, ds.target_column]].copy()

