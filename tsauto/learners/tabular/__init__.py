"""Tabular learners: classification and regression over raw frames (featurize -> scale ->
model), with their own registry."""

from tsauto.learners.tabular.base import TASKS, TabularLearner
from tsauto.learners.tabular.learners import (
    KNN,
    ElasticNet,
    ExtraTrees,
    HistGradientBoosting,
    Lasso,
    LightGBM,
    LinearSVM,
    LogisticRegression,
    RandomForest,
    Ridge,
)
from tsauto.learners.tabular.registry import BASELINES, create, get, names

__all__ = ["BASELINES", "KNN", "TASKS", "ElasticNet", "ExtraTrees", "HistGradientBoosting",
           "Lasso", "LightGBM", "LinearSVM", "LogisticRegression", "RandomForest", "Ridge",
           "TabularLearner", "create", "get", "names"]
