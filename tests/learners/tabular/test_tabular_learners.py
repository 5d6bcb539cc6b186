"""Every tabular learner on every task it supports, the registry and the scores on small real
data sets."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from tests.features.test_tabular_featurizer import make_table
from tsauto.errors import SettingsError
from tsauto.features.tabular import SCALERS
from tsauto.learners.space import Choice, FloatRange, IntRange
from tsauto.learners.tabular import BASELINES, TASKS, create, get, names

CASES = [(name, task) for name in names() for task in get(name).tasks]
# A few trees keep the per-learner checks fast; the score tests use the defaults.
FAST = {"lightgbm": {"n_estimators": 30}, "random_forest": {"n_estimators": 20},
        "extra_trees": {"n_estimators": 20}, "hist_gradient_boosting": {"max_iter": 30}}


@pytest.fixture(scope="module")
def table():
    X, label, score = make_table()
    return X, {"classification": label, "regression": score}


@pytest.fixture(scope="module")
def fitted(table):
    """Each (learner, task) fitted once on the synthetic frame, and its predictions."""
    X, targets = table
    cache = {}

    def get_fitted(name, task):
        if (name, task) not in cache:
            learner = create(name, task, random_state=3, **FAST.get(name, {}))
            cache[name, task] = learner.fit(X, targets[task])
        return cache[name, task]

    return get_fitted


@pytest.mark.parametrize(("name", "task"), CASES)
def test_fits_predicts_and_pickles(name, task, table, fitted):
    X, targets = table
    learner = fitted(name, task)
    pred = learner.predict(X)
    assert pred.shape == (len(X),)
    if task == "classification":
        assert set(pred) <= set(targets[task])
        proba = learner.predict_proba(X)
        assert list(proba.columns) == list(learner.classes_) == sorted(set(targets[task]))
        assert np.allclose(proba.sum(axis=1), 1.0)
    else:
        assert np.isfinite(pred).all()
        with pytest.raises(SettingsError, match="classification"):
            learner.predict_proba(X)
    clone = pickle.loads(pickle.dumps(learner))
    assert np.array_equal(clone.predict(X), pred)


@pytest.mark.parametrize(("name", "task"), CASES)
def test_deterministic_given_random_state(name, task, table, fitted):
    X, targets = table
    again = create(name, task, random_state=3, **FAST.get(name, {})).fit(X, targets[task])
    first = fitted(name, task)
    if task == "classification":
        assert np.array_equal(again.predict_proba(X).to_numpy(),
                              first.predict_proba(X).to_numpy())
    else:
        assert np.array_equal(again.predict(X), first.predict(X))


@pytest.mark.parametrize(("name", "task"), CASES)
def test_explain(name, task, table, fitted):
    X, _ = table
    learner = fitted(name, task)
    info = learner.explain()
    assert info["learner"] == name and info["params"]["scaler"] in SCALERS
    features, columns = info["feature_importance"], info["column_importance"]
    assert list(features.columns) == ["feature", "importance"]
    assert features["importance"].is_monotonic_decreasing
    assert len(features) == len(learner.pipeline_["featurize"].feature_names_)
    assert set(columns["column"]) <= set(X.columns) - {"row_id", "source"}
    assert columns["importance"].sum() == pytest.approx(features["importance"].sum())
    assert list(learner.featurization_summary()["column"]) == list(X.columns)


def test_pca_scaled_importance_is_per_feature(table):
    X, targets = table
    learner = create("ridge", "regression", scaler="pca").fit(X, targets["regression"])
    info = learner.explain()
    assert info["importance_method"] == "permutation"
    assert "age" in set(info["feature_importance"]["feature"])


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_logistic_penalties(penalty):
    X, y = load_iris(return_X_y=True, as_frame=True)
    learner = create("logistic_regression", "classification", penalty=penalty).fit(X, y)
    assert accuracy_score(y, learner.predict(X)) > 0.85


def test_search_spaces_are_well_formed():
    for name, task in CASES:
        cls = get(name)
        space, defaults = cls.search_space(task), cls.default_params(task)
        assert set(space) <= set(defaults), name
        for key, dim in space.items():
            assert isinstance(dim, (IntRange, FloatRange, Choice)), (name, key)
        if name in ("logistic_regression", "elastic_net", "ridge", "lasso", "knn", "linear_svm"):
            assert set(space["scaler"].options) == SCALERS
        if task == "classification" and name != "knn":
            assert space["class_weight"] == Choice((None, "balanced"))
        assert cls.capabilities.cost in ("low", "medium", "high")


def test_registry():
    assert set(names("classification")) | set(names("regression")) == set(names())
    assert "logistic_regression" not in names("regression")
    assert {"ridge", "lasso", "elastic_net"}.isdisjoint(names("classification"))
    for task, baseline in BASELINES.items():
        assert set(baseline) <= set(names(task))
    assert set(BASELINES) == set(TASKS)


def test_errors_name_valid_values():
    with pytest.raises(SettingsError, match="random_forest") as err:
        get("random_forrest")
    assert "Did you mean 'random_forest'" in str(err.value)
    with pytest.raises(SettingsError, match="classification, regression"):
        names("forecasting")
    with pytest.raises(SettingsError, match="classification, regression"):
        create("lightgbm", "forecasting")
    with pytest.raises(SettingsError, match="supports regression"):
        create("ridge", "classification")
    with pytest.raises(SettingsError, match="supports classification"):
        create("logistic_regression", "regression")
    with pytest.raises(SettingsError, match="num_leaves"):
        create("lightgbm", "regression", num_leafs=10)
    with pytest.raises(SettingsError, match="minmax"):
        create("ridge", "regression", scaler="zscore").fit(*load_diabetes(return_X_y=True,
                                                                            as_frame=True))


@pytest.mark.parametrize("name", ["lightgbm", "logistic_regression", "random_forest"])
def test_iris_accuracy(name):
    X, y = load_iris(return_X_y=True, as_frame=True)
    labels = pd.Series(np.asarray(load_iris().target_names)[y], index=y.index)
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=0.3,
                                                        stratify=labels, random_state=0)
    learner = create(name, "classification").fit(X_train, y_train)
    assert accuracy_score(y_test, learner.predict(X_test)) > 0.85


@pytest.mark.parametrize("name", ["lightgbm", "ridge"])
def test_diabetes_r2(name):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    learner = create(name, "regression").fit(X_train, y_train)
    assert r2_score(y_test, learner.predict(X_test)) > 0.3
