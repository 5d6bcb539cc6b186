"""The fitted artifacts a user holds: ``ForecastModel`` and ``TabularModel``.

A ``ForecastModel`` wraps the refitted learner (pivoted learners carry their featurizer inside)
with the data schema, the guardrail report and the settings, and speaks the user's language:
long frames with their grain columns, their time column, the point forecast and the quantiles.
A ``TabularModel`` wraps a refitted tabular pipeline (or ensemble of them) the same way, for
``predict`` / ``predict_proba`` on new rows.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID, DatasetSchema, TimeSeriesDataset
from tsauto.data.guardrails import GuardrailReport
from tsauto.data.history import dataset_like, recent_history
from tsauto.data.tabular import TabularSchema
from tsauto.errors import DataError, SettingsError, preview
from tsauto.evaluation.backtest import Backtest, backtest
from tsauto.evaluation.metrics import evaluate
from tsauto.learners.base import Forecaster, Pickled, asked_quantiles, training_positions


class _Artifact(Pickled):
    description = ""

    def explain(self) -> dict:
        """Feature importances (pivoted and tabular learners, also summed per raw column),
        fitted model parameters (statistical learners), ensemble weights and members."""
        return self.learner.explain()


class ForecastModel(_Artifact):
    def __init__(self, learner: Forecaster, schema: DatasetSchema, history: pd.DataFrame,
                 horizon: int, quantiles, guardrails: GuardrailReport | None = None,
                 settings: dict | None = None, description: str = "") -> None:
        self.learner = learner
        self.schema = schema
        self.history = history            # series_id, time, target: scales for MASE in evaluate
        self.horizon = horizon
        self.quantiles = list(quantiles)
        self.guardrails = guardrails
        self.settings = settings or {}
        self.description = description

    def forecast(self, horizon: int | None = None, future: pd.DataFrame | None = None,
                 data: pd.DataFrame | TimeSeriesDataset | None = None,
                 level: list[float] | None = None,
                 quantiles: list[float] | None = None) -> pd.DataFrame:
        """Point and quantile forecasts for every series, long format with grain columns.

        ``data``: recent history (a long frame with the training columns) to forecast from
        instead of the training data, without refitting: the periods after its end, for its
        series; what each learner family does with it is in docs/serving.md.  Series not seen
        at training are listed in the frame's ``attrs["unseen_series"]``, series forecast by a
        fallback in ``attrs["fallbacks"]``.  ``level`` (interval levels, e.g. [80, 95]) or
        ``quantiles`` replace the fitted quantiles where the learner can; otherwise a
        SettingsError names the fitted ones.  Forecasting never changes the model."""
        horizon = self.horizon if horizon is None else horizon
        learner, schema = self.learner, self.schema
        if data is not None:
            history = recent_history(self.schema, data)
            learner, schema = learner.with_history(history), history.schema()
        frame = learner.predict(horizon, future=future,
                                quantiles=asked_quantiles(level, quantiles))
        if data is not None:
            unseen = training_positions(self.schema, history) < 0
            frame.attrs["unseen_series"] = history.series_ids[unseen].astype(str).tolist()
        grains = [c for c in schema.grain_columns if c != SERIES_ID]
        if grains:
            table = schema.series.set_index(SERIES_ID)[grains]
            ids = frame[SERIES_ID].astype(str)
            for col in reversed(grains):
                frame.insert(1, col, table[col].reindex(ids).to_numpy())
        return frame

    def evaluate(self, actuals: pd.DataFrame, future: pd.DataFrame | None = None) -> dict:
        """Every metric on a holdout the user brings: a long frame with the time column, the
        target and the grain columns (or series_id), for periods right after the training data."""
        time_col, target = self.schema.time_column, self.schema.target_column
        missing = [c for c in [time_col, target] if c not in actuals.columns]
        if missing:
            raise DataError(f"evaluate: the holdout lacks column(s) {preview(missing)}.")
        actuals = self.schema.with_series_id(actuals, "the holdout")
        actuals[time_col] = pd.to_datetime(actuals[time_col])
        forecast = self.forecast(horizon=self._steps_needed(actuals), future=future)
        forecast[SERIES_ID] = forecast[SERIES_ID].astype(str)
        merged = forecast.merge(actuals[[SERIES_ID, time_col, target]], on=[SERIES_ID, time_col])
        if merged.empty:
            raise DataError("evaluate: no holdout row matches a forecast period; the holdout must "
                            "start right after the training data.")
        return evaluate(merged[target].to_numpy(), merged, merged[SERIES_ID].to_numpy(),
                        self.history, target, self.schema.grid.season_length, self.quantiles)

    def backtest(self, data: pd.DataFrame | TimeSeriesDataset, n_windows: int = 3,
                 step: int | None = None, horizon: int | None = None) -> Backtest:
        """Refit this model's learner at ``n_windows`` cutoffs of ``data`` (``step`` periods
        apart) and score its forecasts: per cutoff, per horizon step, per series."""
        data = dataset_like(self.schema, data)
        return backtest(self.learner, data, horizon or self.horizon, n_windows, step)

    def _steps_needed(self, actuals: pd.DataFrame) -> int:
        grid = self.schema.grid
        times = pd.DatetimeIndex(actuals[self.schema.time_column])
        if times.tz is not None:
            times = times.tz_localize(None)
        last = pd.Series(self.schema.last_index, index=self.schema.series_ids.astype(str))
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

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """A class label (classification) or a number (regression) per row of ``frame``, which
        needs the training feature columns (extra columns, the target included, are ignored)."""
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
        if target not in frame.columns:
            raise DataError(f"evaluate: the frame lacks the target column '{target}'.")
        frame = frame[frame[target].notna()]
        if self.task == "classification":
            return score_classification(frame[target].to_numpy(), self.predict_proba(frame),
                                        self.classes)
        return score_regression(frame[target].to_numpy(dtype="float64"), self.predict(frame))

    def featurization_summary(self) -> pd.DataFrame:
        """What the featurizer did to every column: detected kind, action, reason."""
        return self.learner.featurization_summary()

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame of rows to predict, got "
                            f"{type(frame).__name__}.")
        return self.schema.validate(frame, "the frame to predict")

    def __repr__(self) -> str:
        return f"TabularModel({self.task}: {self.description or self.learner!r})"


def load_model(path: str | Path) -> ForecastModel | TabularModel:
    path = Path(path)
    if not path.exists():
        raise SettingsError(f"model file '{path}' does not exist.")
    with open(path, "rb") as fh:
        model = pickle.load(fh)
    if not isinstance(model, _Artifact):
        raise DataError(f"'{path}' does not hold a tsauto model.")
    return model


def history_of(ds: TimeSeriesDataset) -> pd.DataFrame:
    frame = ds.frame[[SERIES_ID, ds.time_column, ds.target_column]].copy()
    frame[SERIES_ID] = frame[SERIES_ID].astype(str)
    return frame

