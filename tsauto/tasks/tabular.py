"""Classification and regression, as the engine sees them: the table and its guardrails, the
folds (k-fold, holdout or the user's validation rows), the trial (fit each fold's training rows
and score its validation rows), the ensembles, the refit on every row and the ``TabularModel``.

Out-of-fold predictions keep one column per class probability (classification) or the
prediction (regression), so that the ensembles blend them exactly as they blend forecasts.
``run_trial`` and ``refit_learner`` run in worker processes: module-level functions.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsauto.data.tabular import TabularDataset
from tsauto.data.tabular_guardrails import apply_fixes, run_tabular_guardrails
from tsauto.ensemble import cross_fitted, cross_fitted_voting, stack_weights
from tsauto.ensemble.oof import aligned, as_probabilities, tabular_row_metric, weight_groups
from tsauto.ensemble.weighted import WeightedTabularEnsemble
from tsauto.evaluation.metrics import METRICS
from tsauto.evaluation.scoring import mean_metrics
from tsauto.evaluation.tabular import score_classification, score_regression
from tsauto.evaluation.tabular_splits import holdout, kfold, user_validation
from tsauto.learners.tabular.registry import BASELINES, TaskLearners
from tsauto.model import TabularModel
from tsauto.progress import Reporter
from tsauto.search.engine import SearchTask
from tsauto.search.ensembles import ensemble_candidates, ensemble_params, is_ensemble
from tsauto.search.trial import (
    TrialResult,
    TrialSpec,
    build_ensembles,
    build_learner,
)
from tsauto.tasks.base import Prepared, describe

# CPU-seconds per 1,000 rows per fold by declared cost (a few dozen columns).
COST_SECONDS = {"low": 0.05, "medium": 0.3, "high": 2.0}


@dataclass(frozen=True)
class TabularContext:
    """What every tabular trial is given besides its own parameters."""

    task: str                            # classification | regression
    classes: list | None                 # None for regression
    data: tuple[pd.DataFrame, pd.Series]  # (X, y): every row the folds index into
    seed: int


def make_dataset(settings, frame: pd.DataFrame) -> TabularDataset:
    return TabularDataset(frame, settings.target_column, settings.task, settings.drop_columns)


def search_task(task: str, n_rows: int) -> SearchTask:
    return SearchTask(TaskLearners(task), BASELINES[task], run_trial, ensembles, n_rows / 1000,
                      COST_SECONDS)


# -- the preparation --------------------------------------------------------------------------
def prepare(settings, dataset: TabularDataset, valid: pd.DataFrame | None,
            reporter: Reporter, stored_plan: dict | None = None) -> Prepared:
    """Guardrails and their fixes, the folds (k-fold, holdout or the user's validation rows),
    the trial context, and how the winner is refitted (on every row) and becomes a
    ``TabularModel`` (``stored_plan`` is forecasting's: the folds here follow the settings)."""
    s = settings
    report = run_tabular_guardrails(dataset, s.n_folds, s.seed)
    reporter.guardrails(report)
    report.raise_if_failed()
    dataset = apply_fixes(dataset, report)
    if s.featurization == "off":  # numbers only: what is left is imputed, not encoded
        kinds = dataset.column_kinds()
        dataset = dataset.without_columns([c for c, k in kinds.items() if k != "numeric"])
    X, y = dataset.X, dataset.y
    if valid is not None:
        held = make_dataset(s, valid)
        X = pd.concat([X, dataset.schema().validate(held.X, "validation_data")],
                      ignore_index=True)
        y = pd.concat([y, held.y], ignore_index=True)
        split = user_validation(dataset.n_rows, held.n_rows)
    elif s.validation_scheme(dataset.n_rows) == "kfold":
        split = kfold(y, s.n_folds, s.task, s.seed)
    else:
        split = holdout(y, s.holdout_fraction, s.task, s.seed)
    context = TabularContext(s.task, dataset.classes, (X, y), s.seed)

    def make_model(trial: TrialResult, fitted: list) -> TabularModel:
        learner = (WeightedTabularEnsemble(fitted, trial.params["weights"], trial.learner)
                   if is_ensemble(trial) else fitted[0])
        return TabularModel(learner, dataset.schema(), report, s.model_dump(),
                            describe(trial, fitted))

    validation = {"kfold": f"{len(split.folds)}-fold cross-validation" + (
                      " (stratified)" if s.task == "classification" else ""),
                  "holdout": f"a {s.holdout_fraction:.0%} holdout"}.get(
        split.scheme, f"the given validation_data ({len(y) - dataset.n_rows:,} rows)")
    if split.note:
        validation += f"; {split.note}"
    # The winner is refitted on every row, the user's validation rows included.
    return Prepared(dataset, report, split.folds, context, search_task(s.task, len(X)),
                    validation, refit_learner, lambda members: (X, y, context), make_model)


# -- the trial and the refit (run in workers) -------------------------------------------------
PREDICTION = "prediction"


def prediction_columns(classes) -> list[str]:
    """Out-of-fold columns: one probability per class, or the regression prediction."""
    return [PREDICTION] if classes is None else [f"p{i}" for i in range(len(classes))]


def score(y, predictions: np.ndarray, context: TabularContext, train_target=None,
          metrics=None) -> dict:
    """Metrics of predictions (rows x prediction columns) against the true values."""
    if context.classes is None:
        return score_regression(y, predictions[:, 0], train_target, metrics)
    return score_classification(y, predictions, context.classes, metrics)


def predict_columns(learner, X: pd.DataFrame, classes) -> np.ndarray:
    """Rows x prediction columns; a class absent from a fold's training rows gets 0."""
    if classes is None:
        return np.asarray(learner.predict(X), dtype="float64")[:, None]
    proba = learner.predict_proba(X)
    return proba.reindex(columns=list(classes), fill_value=0.0).to_numpy(dtype="float64")


def run_trial(spec: TrialSpec, folds: list, context: TabularContext) -> TrialResult:
    """Fit and score on every fold; never raises (an error becomes a failed result)."""
    start = time.perf_counter()
    X, y = context.data
    classes = context.classes
    try:
        fold_metrics, oof = [], []
        for fold in folds:
            learner = build_learner(spec, context)
            learner.fit(X.iloc[fold.train], y.iloc[fold.train])
            predictions = predict_columns(learner, X.iloc[fold.valid], classes)
            actual = y.iloc[fold.valid].to_numpy()
            fold_metrics.append(score(actual, predictions, context, y.iloc[fold.train]))
            frame = pd.DataFrame(predictions, columns=prediction_columns(classes))
            oof.append(frame.assign(fold=fold.index, row=fold.valid, actual=actual))
        mean = mean_metrics(fold_metrics)
        return TrialResult(spec.trial_id, spec.learner, spec.params, "completed", mean,
                           fold_metrics, time.perf_counter() - start,
                           oof=pd.concat(oof, ignore_index=True))
    except Exception as exc:  # noqa: BLE001 - a trial's failure is data, not a crash
        return TrialResult(spec.trial_id, spec.learner, spec.params, "failed",
                           duration=time.perf_counter() - start,
                           error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")


def refit_learner(spec: TrialSpec, X: pd.DataFrame, y: pd.Series, context: TabularContext):
    return build_learner(spec, context).fit(X, y)


# -- the ensembles ----------------------------------------------------------------------------
def ensembles(trials: list[TrialResult], folds: list, context: TabularContext, metric: str,
              next_id: int, voting: bool = True, stacking: bool = True) -> list[TrialResult]:
    """Voting (greedy selection) and stacking over the best completed trials, each scored on
    predictions for folds its weights were not chosen on."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    ranked = ensemble_candidates(trials, metric)
    if len(ranked) < 2:
        return []
    columns = prediction_columns(context.classes)
    keys, stack = aligned([t.oof for t in ranked], ["fold", "row"], columns,
                          complete_only=False)  # models x rows x columns
    fold_ids, actual = keys["fold"].to_numpy(), keys["actual"].to_numpy()
    _, y = context.data
    train_of = {f.index: y.iloc[f.train] for f in folds}
    n_models, n_rows, n_columns = stack.shape

    fast = tabular_row_metric(metric, actual, context.classes)
    # Weights are chosen on some rows and judged on others: across folds, or, with a single
    # validation fold (holdout, the user's frame), across two seeded halves of it.
    groups = weight_groups(fold_ids, np.arange(n_rows), len(folds), context.seed)
    fold_of = dict(zip(groups, fold_ids))

    def scorer(left_out):
        parts = [(fold_of[g], groups == g) for g in np.unique(groups) if g != left_out]

        def value(flat: np.ndarray) -> float:
            blend = flat.reshape(n_rows, n_columns)
            if fast is not None:
                return sign * float(np.nanmean([fast(rows, blend[rows]) for _, rows in parts]))
            return sign * float(np.nanmean([
                score(actual[rows], blend[rows], context, train_of[i], [metric])[metric]
                for i, rows in parts]))
        return value

    def vote(trial_id: int) -> TrialResult:
        weights, blend = cross_fitted_voting(stack.reshape(n_models, -1),
                                             groups.repeat(n_columns), scorer)
        return _trial(trial_id, "voting_ensemble", ranked, weights,
                      blend.reshape(n_rows, n_columns), keys, folds, context, columns)

    def stack_(trial_id: int) -> TrialResult | None:
        # One linear meta-model over every prediction column: probabilities are stacked
        # against the one-hot truth, then renormalised to sum to 1.
        target = (actual[:, None] == np.asarray(context.classes)[None, :]).astype("float64") \
            if context.classes is not None else actual.astype("float64")[:, None]
        flat = stack.reshape(n_models, -1)
        meta = cross_fitted(flat, target.ravel(), groups.repeat(n_columns), context.seed)
        coef = stack_weights(flat, target.ravel(), context.seed,
                             sum_to_one=context.classes is not None)
        if not (np.isfinite(meta).all() and coef.sum() > 0):
            return None
        meta = meta.reshape(n_rows, n_columns)
        if context.classes is not None:
            meta = as_probabilities(meta)
        return _trial(trial_id, "stack_ensemble", ranked, coef, meta, keys, folds, context,
                      columns)

    return build_ensembles(ranked, next_id, n_rows, [("voting_ensemble", vote, voting),
                                                     ("stack_ensemble", stack_, stacking)])


def _trial(trial_id, name, ranked, weights, blend, keys, folds, context, columns) -> TrialResult:
    _, y = context.data
    fold_ids, actual = keys["fold"].to_numpy(), keys["actual"].to_numpy()
    fold_metrics = [score(actual[fold_ids == f.index], blend[fold_ids == f.index], context,
                          y.iloc[f.train]) for f in folds]
    mean = mean_metrics(fold_metrics)
    params = ensemble_params(ranked, weights)
    oof = pd.DataFrame(blend, columns=columns).assign(fold=fold_ids, row=keys["row"].to_numpy(),
                                                      actual=actual)
    return TrialResult(trial_id, name, params, "completed", mean, fold_metrics, 0.0, oof=oof)
