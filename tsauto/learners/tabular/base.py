"""The protocol of the tabular (classification / regression) learners.

    learner = registry.create("lightgbm", "classification", random_state=0, num_leaves=31)
    learner.fit(X, y)                 # X: a raw DataFrame, y: labels or numbers
    learner.predict(X)                # labels (original type) or numbers
    learner.predict_proba(X)          # classification: DataFrame, columns = learner.classes_
    learner.explain()                 # feature and raw-column importances

A fitted learner holds ``pipeline_``: ``TabularFeaturizer`` -> scaler -> model.  Subclasses are
declarative: ``name``, ``tasks``, ``capabilities`` (the forecasters' ``Capabilities``: the
search reads the declared ``cost``), ``default_params(task)``, ``search_space(task)``
and ``estimator(params, y)``, which builds the unfitted model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from tsauto.errors import (
    DataError,
    NotFittedError,
    SettingsError,
    closest_hint,
    preview,
)
from tsauto.features.tabular import SCALERS, TabularFeaturizer, make_scaler
from tsauto.learners.base import Capabilities
from tsauto.learners.persistence import Pickled
from tsauto.learners.space import Choice, FloatRange, IntRange

TASKS = ("classification", "regression")
# Parameters every learner accepts that go to the featurizer rather than the model.
FEATURIZER_PARAMS = {"max_onehot": 10, "max_ordinal": 50, "text_max_features": 300}
IMPORTANCE_SAMPLE = 500       # rows kept at fit for permutation importance
ALL_SCALERS = Choice(tuple(sorted(SCALERS)))
CLASS_WEIGHT = Choice((None, "balanced"))

Space = dict[str, IntRange | FloatRange | Choice]


def one_thread() -> threadpool_limits:
    """Run on one OpenMP/BLAS thread, like the models' own n_jobs=1: the search runs trials
    side by side, and threads competing for busy cores slow some models (e.g. scikit-learn's
    histogram gradient boosting) down by orders of magnitude."""
    return threadpool_limits(limits=1)


class TabularLearner(Pickled):
    """Base class: parameters in ``__init__`` (no work there), learned state ends in ``_``."""

    name: ClassVar[str] = "tabular"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    # The forecasters' type: the search reads ``cost`` (low | medium | high) from both kinds.
    capabilities: ClassVar[Capabilities] = Capabilities(quantiles=False)

    def __init__(self, task: str, random_state: int = 0, **params: Any) -> None:
        self.task = task
        self.random_state = random_state
        self.params = params

    @classmethod
    def from_context(cls, context, params: dict) -> TabularLearner:
        """The learner a trial fits: the task and seed of its ``TabularContext``, overridden by
        the trial's own ``params``."""
        return cls(**{"task": context.task, "random_state": context.seed, **params})

    # -- declarations subclasses fill in -------------------------------------------------------
    @classmethod
    def default_params(cls, task: str) -> dict[str, Any]:
        """Every hyper-parameter the learner takes, with its default ('scaler' included)."""
        return {"scaler": "none"}

    @classmethod
    def search_space(cls, task: str) -> Space:
        """The hyper-parameters the search may tune for ``task``, with their ranges."""
        cls.check_task(task)
        return {}

    def estimator(self, params: dict[str, Any], y: np.ndarray):
        """The unfitted model for ``self.task`` (``y`` is the training target, for models
        whose settings depend on it)."""
        raise NotImplementedError

    @classmethod
    def exports_onnx(cls, params: dict, settings=None) -> bool:
        """Whether this learner's fitted model exports to ONNX (tsauto.export.tabular; the
        data's text and datetime columns do not, whatever the learner)."""
        return cls.capabilities.onnx

    @classmethod
    def check_task(cls, task: str) -> None:
        if task not in TASKS:
            raise SettingsError(f"unknown task {task!r}{closest_hint(task, TASKS)}; valid "
                                f"tasks: {', '.join(TASKS)}.")
        if task not in cls.tasks:
            raise SettingsError(f"learner {cls.name!r} does not do {task}; it supports "
                                f"{', '.join(cls.tasks)}.")

    # -- fit / predict -------------------------------------------------------------------------
    def resolved_params(self) -> dict[str, Any]:
        """Defaults overridden by the given parameters; unknown names are an error."""
        known = {**FEATURIZER_PARAMS, **self.default_params(self.task)}
        unknown = [k for k in self.params if k not in known]
        if unknown:
            raise SettingsError(
                f"{self.name}: unknown parameter(s) {preview(unknown)}."
                f"{closest_hint(unknown[0], known)} Valid parameters: {', '.join(sorted(known))}.")
        return {**known, **self.params}

    def fit(self, X: pd.DataFrame, y) -> TabularLearner:
        self.check_task(self.task)
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"{self.name}.fit expects a pandas DataFrame, got {type(X).__name__}.")
        y = self._check_target(y, len(X))
        params = self.resolved_params()
        featurizer = TabularFeaturizer(
            **{k: params.pop(k) for k in FEATURIZER_PARAMS},
            target_type="continuous" if self.task == "regression" else "auto",
            random_state=self.random_state)
        # Steps are fitted one by one because PCA/SVD need the featurized width to size
        # themselves; the pipeline is then assembled from the fitted steps.
        with one_thread():
            Z = featurizer.fit_transform(X, y)
            scaler = make_scaler(params.pop("scaler"), n_features_hint=min(Z.shape),
                                 random_state=self.random_state)
            Zs = Z if scaler == "passthrough" else scaler.fit_transform(Z)
            model = self.estimator(params, y).fit(Zs, y)
        self.pipeline_ = Pipeline([("featurize", featurizer), ("scale", scaler),
                                   ("model", model)])
        if self.task == "classification":
            self.classes_ = model.classes_
        rng = np.random.default_rng(self.random_state)
        rows = np.sort(rng.choice(len(y), min(len(y), IMPORTANCE_SAMPLE), replace=False))
        self.importance_sample_ = (Z[rows], y[rows])
        return self

    def _check_target(self, y, n_rows: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n_rows:
            raise DataError(f"{self.name}: y must be one-dimensional with one value per row of "
                            f"X ({n_rows}), got shape {y.shape}.")
        if self.task == "regression":
            y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype="float64")
            bad = ~np.isfinite(y)
        else:
            bad = pd.isna(y)
        if bad.any():
            raise DataError(f"{self.name}: the target has {int(bad.sum())} missing or "
                            f"non-numeric values (rows {preview(np.flatnonzero(bad).tolist())}); "
                            f"drop those rows first.")
        if self.task == "classification" and len(pd.unique(y)) < 2:
            raise DataError(f"{self.name}: classification needs at least two classes, got "
                            f"{preview(pd.unique(y).tolist())}.")
        return y

    def _fitted(self) -> Pipeline:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError(f"{self.name} must be fitted before it is used.")
        return self.pipeline_

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class labels (in the type of the training labels) or numbers, one per row."""
        with one_thread():
            return self._fitted().predict(X)

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities, one column per class in ``classes_`` order, indexed like X."""
        if self.task != "classification":
            raise SettingsError(f"{self.name}: predict_proba is for classification; this learner "
                                f"does {self.task}, use predict.")
        with one_thread():
            proba = self._fitted().predict_proba(X)
        return pd.DataFrame(proba, columns=self.classes_, index=X.index)

    # -- explanations --------------------------------------------------------------------------
    def featurization_summary(self) -> pd.DataFrame:
        return self._fitted()["featurize"].summary()

    def explain(self) -> dict:
        """Learner, parameters, and importances per feature and per raw column (summed).

        The model's own ``feature_importances_`` or |coefficients| (mean over classes) are used
        where they map onto the featurized columns; otherwise (no such attribute, or a PCA/SVD
        scaler in between) permutation importance on the sample of training rows kept at fit.
        """
        pipeline = self._fitted()
        featurizer, model = pipeline["featurize"], pipeline["model"]
        names = featurizer.feature_names_
        same_width = self.resolved_params()["scaler"] not in ("pca", "truncated_svd")
        if same_width and hasattr(model, "feature_importances_"):
            method, values = "feature_importances_", np.asarray(model.feature_importances_)
        elif same_width and hasattr(model, "coef_"):
            coef = np.abs(np.asarray(model.coef_, dtype="float64"))
            method, values = "coefficients", coef.reshape(-1, len(names)).mean(axis=0)
        else:
            Z, y = self.importance_sample_
            with one_thread():
                result = permutation_importance(pipeline[1:], Z, y, n_repeats=3,
                                                random_state=self.random_state)
            method, values = "permutation", result.importances_mean
        features = pd.DataFrame({"feature": names, "importance": values.astype("float64")})
        features = features.sort_values("importance", ascending=False, kind="stable")
        columns = (features.assign(column=features["feature"].map(featurizer.feature_to_column_))
                   .groupby("column", sort=False)["importance"].sum()
                   .sort_values(ascending=False, kind="stable").reset_index())
        return {"learner": self.name, "params": self.resolved_params(),
                "importance_method": method,
                "feature_importance": features.reset_index(drop=True),
                "column_importance": columns}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in
                         {"task": self.task, "random_state": self.random_state,
                          **self.params}.items())
        return f"{type(self).__name__}({args})"
