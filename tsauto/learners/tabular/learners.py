"""The tabular learners: one small declarative class each.

A learner names its scikit-learn (or LightGBM) model per task in ``models``
('module:Class', imported when first built), the arguments it always passes in ``fixed``, its
tunable hyper-parameters with defaults in ``default_params`` (their names are the model's own
arguments, plus 'scaler') and their ranges in ``search_space``.  Learners whose model needs
more than ``Model(**params)`` override ``estimator``.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import numpy as np
import sklearn

from tsauto.errors import SettingsError
from tsauto.learners.base import Capabilities
from tsauto.learners.space import Choice, FloatRange, IntRange
from tsauto.learners.tabular.base import (
    ALL_SCALERS,
    CLASS_WEIGHT,
    Space,
    TabularLearner,
)

_SKLEARN = tuple(int(p) for p in sklearn.__version__.split(".")[:2])


def _load(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _class_weight(task: str) -> dict:
    """Default class weight: only classifiers take one."""
    return {"class_weight": None} if task == "classification" else {}


def _class_weight_space(task: str) -> Space:
    return {"class_weight": CLASS_WEIGHT} if task == "classification" else {}


class ModelLearner(TabularLearner):
    """A learner whose model is ``models[task](**params, **fixed, random_state=...)``."""

    models: ClassVar[dict[str, str]] = {}
    fixed: ClassVar[dict[str, Any]] = {}
    seeded: ClassVar[bool] = True        # the model takes random_state

    def estimator(self, params: dict[str, Any], y: np.ndarray):
        seed = {"random_state": self.random_state} if self.seeded else {}
        return _load(self.models[self.task])(**params, **self.fixed, **seed)


# -- gradient boosting ------------------------------------------------------------------------
class LightGBM(ModelLearner):
    name = "lightgbm"
    tasks = ("classification", "regression")
    capabilities = Capabilities(quantiles=False, cost="low", onnx=True)
    models = {"classification": "lightgbm:LGBMClassifier",
              "regression": "lightgbm:LGBMRegressor"}
    # subsample only takes effect with bagging switched on (subsample_freq); gain is a more
    # faithful importance than split counts.
    fixed = {"verbosity": -1, "n_jobs": 1, "subsample_freq": 1, "importance_type": "gain"}

    @classmethod
    def default_params(cls, task):
        # Smaller and more bagged than LightGBM's own defaults: safer on small tables, and
        # the search grows them where the data pays for it.
        return {"scaler": "none", "n_estimators": 100, "learning_rate": 0.05, "num_leaves": 15,
                "min_child_samples": 20, "subsample": 0.8, "colsample_bytree": 0.8,
                "reg_lambda": 1e-3, **_class_weight(task)}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"n_estimators": IntRange(50, 1000, log=True),
                "learning_rate": FloatRange(0.01, 0.3, log=True),
                "num_leaves": IntRange(8, 128, log=True),
                "min_child_samples": IntRange(5, 100, log=True),
                "subsample": FloatRange(0.5, 1.0),
                "colsample_bytree": FloatRange(0.5, 1.0),
                "reg_lambda": FloatRange(1e-3, 10.0, log=True), **_class_weight_space(task)}


class HistGradientBoosting(ModelLearner):
    name = "hist_gradient_boosting"
    tasks = ("classification", "regression")
    capabilities = Capabilities(quantiles=False, cost="low")
    models = {"classification": "sklearn.ensemble:HistGradientBoostingClassifier",
              "regression": "sklearn.ensemble:HistGradientBoostingRegressor"}
    fixed = {"early_stopping": False}   # no random validation split: deterministic, all rows

    @classmethod
    def default_params(cls, task):
        return {"scaler": "none", "learning_rate": 0.1, "max_leaf_nodes": 31,
                "min_samples_leaf": 20, "l2_regularization": 1e-3, "max_iter": 200,
                **_class_weight(task)}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"learning_rate": FloatRange(0.01, 0.3, log=True),
                "max_leaf_nodes": IntRange(8, 128, log=True),
                "min_samples_leaf": IntRange(5, 100, log=True),
                "l2_regularization": FloatRange(1e-3, 10.0, log=True),
                "max_iter": IntRange(50, 500, log=True), **_class_weight_space(task)}


# -- random forests ---------------------------------------------------------------------------
class RandomForest(ModelLearner):
    name = "random_forest"
    tasks = ("classification", "regression")
    capabilities = Capabilities(quantiles=False, cost="medium", onnx=True)
    models = {"classification": "sklearn.ensemble:RandomForestClassifier",
              "regression": "sklearn.ensemble:RandomForestRegressor"}
    fixed = {"n_jobs": 1}

    @classmethod
    def default_params(cls, task):
        # The usual defaults: sqrt of the features per split to classify, all to regress.
        return {"scaler": "none", "n_estimators": 200, "min_samples_leaf": 1,
                "max_features": "sqrt" if task == "classification" else 1.0,
                **_class_weight(task)}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"n_estimators": IntRange(50, 400, log=True),
                "max_features": Choice(("sqrt", "log2", 0.5, 1.0)),
                "min_samples_leaf": IntRange(1, 20, log=True), **_class_weight_space(task)}


class ExtraTrees(RandomForest):
    name = "extra_trees"
    models = {"classification": "sklearn.ensemble:ExtraTreesClassifier",
              "regression": "sklearn.ensemble:ExtraTreesRegressor"}


# -- linear models ----------------------------------------------------------------------------
PENALTIES = ("l2", "l1", "elasticnet")


class LogisticRegression(ModelLearner):
    name = "logistic_regression"
    tasks = ("classification",)
    capabilities = Capabilities(quantiles=False, cost="low", onnx=True)
    models = {"classification": "sklearn.linear_model:LogisticRegression"}

    @classmethod
    def default_params(cls, task):
        return {"scaler": "standard", "penalty": "l2", "C": 1.0, "l1_ratio": 0.5,
                "max_iter": 1000, "class_weight": None}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"scaler": ALL_SCALERS, "penalty": Choice(PENALTIES),
                "C": FloatRange(1e-3, 100.0, log=True), "l1_ratio": FloatRange(0.05, 0.95),
                "class_weight": CLASS_WEIGHT}

    def estimator(self, params, y):
        params = dict(params)
        penalty, l1_ratio = params.pop("penalty"), params.pop("l1_ratio")
        if penalty not in PENALTIES:
            raise SettingsError(f"{self.name}: penalty={penalty!r} is not valid; use one of "
                                f"{', '.join(PENALTIES)}.")
        mixing = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
        binary = len(np.unique(y)) == 2
        # lbfgs is the fast exact choice for l2; liblinear handles l1 for two classes; saga
        # is the one solver for multinomial l1 and for elastic net.
        solver = ("lbfgs" if penalty == "l2" else
                  "liblinear" if penalty == "l1" and binary else "saga")
        if _SKLEARN >= (1, 8):  # 'penalty' is deprecated there: l1_ratio alone says it
            penalty_args = {"l1_ratio": mixing}
        else:
            penalty_args = {"penalty": penalty,
                            "l1_ratio": mixing if penalty == "elasticnet" else None}
        return _load(self.models[self.task])(**params, **penalty_args, solver=solver,
                                             random_state=self.random_state)


class ElasticNet(ModelLearner):
    name = "elastic_net"
    tasks = ("regression",)
    capabilities = Capabilities(quantiles=False, cost="low", onnx=True)
    models = {"regression": "sklearn.linear_model:ElasticNet"}
    fixed = {"max_iter": 5000}

    @classmethod
    def default_params(cls, task):
        return {"scaler": "standard", "alpha": 0.01, "l1_ratio": 0.5}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"scaler": ALL_SCALERS, "alpha": FloatRange(1e-4, 10.0, log=True),
                "l1_ratio": FloatRange(0.05, 1.0)}


class Ridge(ModelLearner):
    name = "ridge"
    tasks = ("regression",)
    capabilities = Capabilities(quantiles=False, cost="low", onnx=True)
    models = {"regression": "sklearn.linear_model:Ridge"}

    @classmethod
    def default_params(cls, task):
        return {"scaler": "standard", "alpha": 1.0}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"scaler": ALL_SCALERS, "alpha": FloatRange(1e-3, 1e3, log=True)}


class Lasso(ModelLearner):
    name = "lasso"
    tasks = ("regression",)
    capabilities = Capabilities(quantiles=False, cost="low", onnx=True)
    models = {"regression": "sklearn.linear_model:Lasso"}
    fixed = {"max_iter": 5000}

    @classmethod
    def default_params(cls, task):
        return {"scaler": "standard", "alpha": 0.01}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"scaler": ALL_SCALERS, "alpha": FloatRange(1e-4, 10.0, log=True)}


# -- neighbours and support vectors -----------------------------------------------------------
class KNN(ModelLearner):
    name = "knn"
    tasks = ("classification", "regression")
    capabilities = Capabilities(quantiles=False, cost="low")
    models = {"classification": "sklearn.neighbors:KNeighborsClassifier",
              "regression": "sklearn.neighbors:KNeighborsRegressor"}
    fixed = {"n_jobs": 1}
    seeded = False

    @classmethod
    def default_params(cls, task):
        return {"scaler": "standard", "n_neighbors": 10, "weights": "uniform"}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"scaler": ALL_SCALERS, "n_neighbors": IntRange(1, 50, log=True),
                "weights": Choice(("uniform", "distance"))}

    def estimator(self, params, y):
        # More neighbours than training rows is an error, not a setting worth failing on.
        return super().estimator({**params, "n_neighbors": min(params["n_neighbors"], len(y))},
                                 y)


class LinearSVM(ModelLearner):
    name = "linear_svm"
    tasks = ("classification", "regression")
    capabilities = Capabilities(quantiles=False, cost="low", onnx=True)
    models = {"classification": "sklearn.svm:LinearSVC", "regression": "sklearn.svm:LinearSVR"}
    fixed = {"max_iter": 5000}

    @classmethod
    def default_params(cls, task):
        return {"scaler": "standard", "C": 1.0, **_class_weight(task)}

    @classmethod
    def search_space(cls, task):
        cls.check_task(task)
        return {"scaler": ALL_SCALERS, "C": FloatRange(1e-3, 100.0, log=True),
                **_class_weight_space(task)}

    def estimator(self, params, y):
        svm = super().estimator(params, y)
        if self.task == "regression":
            return svm
        from sklearn.calibration import CalibratedClassifierCV

        # Calibration gives the SVM probabilities; fewer folds when a class is rarer than 3.
        smallest = int(np.unique(y, return_counts=True)[1].min())
        return CalibratedClassifierCV(svm, cv=min(3, max(2, smallest)))


ALL = (LightGBM, LogisticRegression, ElasticNet, Ridge, Lasso, RandomForest, ExtraTrees,
       HistGradientBoosting, KNN, LinearSVM)
