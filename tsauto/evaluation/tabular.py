"""Classification and regression scores, for the metrics of the registry in ``metrics.py``.

``score_classification`` takes predicted class probabilities (one column per class, in the
order of ``classes``); the predicted label is the most probable class.  Scores that need both
positive and negative rows of a class (ROC AUC, average precision) are computed over the classes
present in ``y_true`` -- a class that is absent from a validation fold has zero weight in a
support-weighted average anyway -- and are NaN, not an error, when fewer than two classes are
present.  ``score_regression`` scores point predictions; ``nrmse``/``nmae`` divide by the range
of the training target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from tsauto.errors import DataError, SettingsError, preview
from tsauto.evaluation.metrics import METRICS, ClassScoring, Scoring, metrics_for


def _chosen(metrics, task: str) -> list[str]:
    valid = metrics_for(task)
    if metrics is None:
        return valid
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    bad = [m for m in metrics if m not in valid]
    if bad:
        kind = "unknown metric" if bad[0] not in METRICS else f"not a {task} metric"
        raise SettingsError(f"metrics: {bad[0]!r} is {kind}; valid for {task}: "
                            f"{', '.join(valid)}.")
    return metrics


def _codes(y_true, classes: np.ndarray) -> np.ndarray:
    """Position of each label in ``classes``; a label outside ``classes`` is an error."""
    codes = pd.Categorical(np.asarray(y_true), categories=classes).codes
    if (codes < 0).any():
        unknown = pd.unique(np.asarray(y_true)[codes < 0])
        raise DataError(f"y_true holds label(s) {preview(list(unknown))} that are not among the "
                        f"classes {preview(list(classes))}.")
    return np.asarray(codes, dtype=np.int64)


def _probabilities(proba, n_rows: int, n_classes: int) -> np.ndarray:
    p = np.asarray(proba, dtype="float64")
    if p.ndim == 1 and n_classes == 2:  # the positive class's probability alone
        p = np.column_stack([1 - p, p])
    if p.shape != (n_rows, n_classes):
        raise DataError(f"proba has shape {p.shape}; expected ({n_rows}, {n_classes}): one row "
                        f"per y_true value and one column per class.")
    return p


def score_classification(y_true, proba: np.ndarray, classes, metrics=None) -> dict[str, float]:
    """Classification metrics (all of them unless ``metrics`` names some) for true labels and
    predicted probabilities, whose columns follow ``classes``."""
    chosen = _chosen(metrics, "classification")
    classes = np.asarray(classes)
    codes = _codes(y_true, classes)
    scoring = ClassScoring(codes, _probabilities(proba, len(codes), len(classes)))
    return {name: METRICS[name].value(scoring) for name in chosen}


def regression_scoring(y_true, y_pred, train_target=None) -> Scoring:
    """Point predictions as the metrics read them: one series, whose range is that of
    ``train_target`` (of ``y_true`` without it)."""
    y = np.asarray(y_true, dtype="float64")
    yhat = np.asarray(y_pred, dtype="float64")
    if y.shape != yhat.shape:
        raise DataError(f"y_pred has shape {yhat.shape}; expected {y.shape}, like y_true.")
    reference = y if train_target is None else np.asarray(train_target, dtype="float64")
    spread = float(np.nanmax(reference) - np.nanmin(reference))
    return Scoring(y, yhat, np.zeros(len(y), dtype=np.int64), 1, np.full(len(y), np.nan),
                   np.array([spread if spread > 0 else np.nan]))


def score_regression(y_true, y_pred, train_target=None, metrics=None) -> dict[str, float]:
    """Regression metrics for point predictions; ``train_target`` (the training part's target)
    gives the range that normalises ``nrmse`` and ``nmae`` (``y_true``'s range without it)."""
    chosen = _chosen(metrics, "regression")
    scoring = regression_scoring(y_true, y_pred, train_target)
    return {name: METRICS[name].value(scoring) for name in chosen}


def classification_curves(y_true, proba: np.ndarray, classes) -> dict:
    """What the report draws for a classifier: the confusion matrix (rows: true class, columns:
    predicted) and, per class present in ``y_true`` (one-vs-rest; the positive class only when
    binary), its ROC and precision-recall curves with their areas."""
    classes = np.asarray(classes)
    codes = _codes(y_true, classes)
    p = _probabilities(proba, len(codes), len(classes))
    labels = np.arange(len(classes))
    matrix = pd.DataFrame(skm.confusion_matrix(codes, p.argmax(axis=1), labels=labels),
                          index=classes, columns=classes)
    shown = [1] if len(classes) == 2 else [k for k in labels if (codes == k).any()]
    roc, pr = {}, {}
    for k in shown:
        positive = codes == k
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = skm.roc_curve(positive, p[:, k])
        precision, recall, _ = skm.precision_recall_curve(positive, p[:, k])
        name = str(classes[k])
        roc[name] = (fpr, tpr, float(skm.auc(fpr, tpr)))
        pr[name] = (recall, precision, float(skm.average_precision_score(positive, p[:, k])))
    return {"confusion": matrix, "roc": roc, "pr": pr}
