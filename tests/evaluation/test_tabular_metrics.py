"""Tabular metrics equal scikit-learn's on its toy data, know their direction and task, and
stay NaN-safe when a validation fold lacks a class."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import label_binarize

from tsauto.errors import DataError, SettingsError
from tsauto.evaluation.metrics import METRICS, is_better, metrics_for
from tsauto.evaluation.tabular import score_classification, score_regression


def _fitted_proba(data, max_iter=200):
    X, y = data.data, data.target
    model = LogisticRegression(max_iter=max_iter).fit(X, y)
    return y.to_numpy(), model.predict_proba(X), model.classes_


@pytest.fixture(scope="module")
def iris():
    return _fitted_proba(load_iris(as_frame=True))


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(as_frame=True, return_X_y=True)
    X = X[["mean radius", "mean texture"]]  # a weak model: every score below its maximum
    model = LogisticRegression().fit(X, y)
    return y.to_numpy(), model.predict_proba(X), model.classes_


def test_multiclass_scores_equal_sklearn(iris):
    y, p, classes = iris
    pred = classes[p.argmax(1)]
    got = score_classification(y, p, classes)
    assert set(got) == set(metrics_for("classification"))
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "auc_weighted": skm.roc_auc_score(y, p, multi_class="ovr", average="weighted"),
        "log_loss": skm.log_loss(y, p),
        "f1_macro": skm.f1_score(y, pred, average="macro"),
        "f1_weighted": skm.f1_score(y, pred, average="weighted"),
        "precision_macro": skm.precision_score(y, pred, average="macro"),
        "recall_macro": skm.recall_score(y, pred, average="macro"),
        "precision_weighted": skm.precision_score(y, pred, average="weighted"),
        "recall_weighted": skm.recall_score(y, pred, average="weighted"),
        "average_precision": skm.average_precision_score(label_binarize(y, classes=classes), p,
                                                         average="weighted"),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-9), name


def test_binary_scores_equal_sklearn(cancer):
    y, p, classes = cancer
    pred = classes[p.argmax(1)]
    got = score_classification(y, p, classes)
    assert got["auc_weighted"] == pytest.approx(skm.roc_auc_score(y, p[:, 1]))
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(y, p[:, 1]))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert 0.5 < got["auc_weighted"] < 1 and got["accuracy"] < 1
    # The positive class's probability alone is accepted for binary tasks.
    assert score_classification(y, p[:, 1], classes) == pytest.approx(got)


def test_string_labels_and_metric_subset():
    y = np.array(["cat", "dog", "dog", "eel", "cat", "eel"])
    p = np.array([[.8, .1, .1], [.2, .7, .1], [.3, .3, .4], [.1, .1, .8], [.5, .4, .1],
                  [.2, .5, .3]])
    got = score_classification(y, p, ["cat", "dog", "eel"], metrics=["accuracy", "log_loss"])
    assert list(got) == ["accuracy", "log_loss"]
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=["cat", "dog", "eel"]))


def test_log_loss_is_clipped_not_infinite():
    got = score_classification([0, 1], np.array([[1.0, 0.0], [1.0, 0.0]]), [0, 1],
                               metrics=["log_loss"])
    assert np.isfinite(got["log_loss"]) and got["log_loss"] > 10


def test_fold_lacking_a_class_is_nan_safe(iris):
    y, p, classes = iris
    # A fold with only one class: AUC and average precision are undefined, not an error.
    only = y == 0
    got = score_classification(y[only], p[only], classes)
    assert np.isnan(got["auc_weighted"]) and np.isnan(got["average_precision"])
    assert got["accuracy"] == pytest.approx(np.mean(p[only].argmax(1) == 0))
    assert np.isfinite(got["log_loss"])
    # A fold lacking one of three classes: weighted over the two present (the absent class has
    # no support, so no weight).
    two = y != 2
    got = score_classification(y[two], p[two], classes)
    onehot = label_binarize(y[two], classes=[0, 1])
    onehot = np.column_stack([1 - onehot, onehot])
    assert got["auc_weighted"] == pytest.approx(
        skm.roc_auc_score(onehot, p[two][:, :2], average="weighted"))
    # Binary with one class present.
    got = score_classification([1, 1, 1], np.array([[.2, .8], [.6, .4], [.1, .9]]), [0, 1])
    assert np.isnan(got["auc_weighted"]) and got["accuracy"] == pytest.approx(2 / 3)


def test_classification_input_errors(iris):
    y, p, classes = iris
    with pytest.raises(DataError, match="shape"):
        score_classification(y, p[:, :2], classes)
    with pytest.raises(DataError, match="not among the classes"):
        score_classification(np.where(y == 2, 7, y), p, classes)
    with pytest.raises(SettingsError, match="not a classification metric.*accuracy"):
        score_classification(y, p, classes, metrics=["mase"])
    with pytest.raises(SettingsError, match="unknown metric"):
        score_classification(y, p, classes, metrics=["acuracy"])


def test_regression_scores_equal_sklearn():
    X, y = load_diabetes(as_frame=True, return_X_y=True)
    train, test = slice(0, 300), slice(300, None)
    pred = LinearRegression().fit(X[train], y[train]).predict(X[test])
    yt = y[test].to_numpy()
    got = score_regression(yt, pred, train_target=y[train])
    assert set(got) == set(metrics_for("regression"))
    spread = y[train].max() - y[train].min()
    rmse = np.sqrt(skm.mean_squared_error(yt, pred))
    mae = skm.mean_absolute_error(yt, pred)
    assert got["rmse"] == pytest.approx(rmse)
    assert got["mae"] == pytest.approx(mae)
    assert got["nrmse"] == pytest.approx(rmse / spread)
    assert got["nmae"] == pytest.approx(mae / spread)
    assert got["r2"] == pytest.approx(skm.r2_score(yt, pred))
    assert got["mape"] == pytest.approx(100 * skm.mean_absolute_percentage_error(yt, pred))
    from scipy.stats import spearmanr
    assert got["spearman"] == pytest.approx(spearmanr(yt, pred).statistic)


def test_regression_mape_leaves_zeros_out_and_constant_r2_is_nan():
    got = score_regression([0.0, 2.0, 4.0], [1.0, 1.0, 5.0], metrics=["mape", "nmae"])
    assert got["mape"] == pytest.approx(100 * (0.5 + 0.25) / 2)
    assert got["nmae"] == pytest.approx(1.0 / 4.0)   # y_true's range without train_target
    assert np.isnan(score_regression([3.0, 3.0], [3.0, 2.0])["r2"])
    with pytest.raises(SettingsError, match="not a regression metric"):
        score_regression([1.0], [1.0], metrics=["accuracy"])


def test_directions_and_tasks():
    lower = {"log_loss", "rmse", "mae", "nrmse", "nmae", "mape"}
    for name in metrics_for("classification") + metrics_for("regression"):
        assert METRICS[name].greater_is_better is (name not in lower), name
    assert is_better("accuracy", 0.9, 0.8) and is_better("log_loss", 0.2, 0.3)
    assert not is_better("auc_weighted", np.nan, 0.5) and is_better("auc_weighted", 0.5, np.nan)
    forecasting = metrics_for("forecasting")
    assert "accuracy" not in forecasting and "mase" in forecasting and "rmse" in forecasting
    assert set(metrics_for("regression")) == {"rmse", "mae", "nrmse", "nmae", "r2", "spearman",
                                              "mape"}
    assert "mase" not in metrics_for("classification")
    with pytest.raises(SettingsError, match="forecasting, classification, regression"):
        metrics_for("clustering")
