"""Classification and regression through the same AutoML engine, end to end on real data."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as sk

from tsauto import datasets
from tsauto.automl import AutoML
from tsauto.errors import ColumnNotFoundError, DataError, SettingsError
from tsauto.model import TabularModel, load_model
from tsauto.settings import ClassificationSettings, ForecastSettings, RegressionSettings

QUICK = {"max_trials": 4, "time_budget": 120, "verbosity": 0,
         "allowed_models": ["lightgbm", "logistic_regression", "random_forest", "knn"]}


def sk_frame(loader):
    frame = loader(as_frame=True).frame
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.mark.parametrize("loader", [sk.load_iris, sk.load_wine, sk.load_breast_cancer],
                         ids=["iris", "wine", "breast_cancer"])
def test_classification_end_to_end(loader, tmp_path):
    frame = sk_frame(loader)
    train, test = frame.iloc[: int(len(frame) * 0.75)], frame.iloc[int(len(frame) * 0.75):]
    run = AutoML(ClassificationSettings(target_column="target", **QUICK)).fit(train)
    board = run.leaderboard()
    assert (board.status == "completed").sum() >= 4
    assert {"accuracy", "log_loss", "auc_weighted", "f1_macro"} <= set(board.columns)
    assert board.accuracy.iloc[0] == board.accuracy.max()  # best first
    model = run.best_model
    assert isinstance(model, TabularModel) and model.classes == sorted(frame.target.unique())
    proba = model.predict_proba(test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(proba.columns) == model.classes
    assert model.evaluate(test)["accuracy"] > 0.85
    odd = test.assign(target=test["target"].astype(object))
    odd.loc[odd.index[1], "target"] = "maybe"
    with pytest.raises(DataError, match=f"target column 'target' holds label\\(s\\) 'maybe' "
                                        f"that the model was not trained on \\(rows "
                                        f"{odd.index[1]}\\)"):
        model.evaluate(odd)
    predicted = model.predict(test)
    np.testing.assert_array_equal(predicted, np.asarray(model.classes)[proba.to_numpy().argmax(1)])
    again = load_model(model.save(tmp_path / "model.pkl"))
    np.testing.assert_array_equal(again.predict(test), predicted)
    assert "feature_importance" in model.explain() or "members" in model.explain()


def test_regression_on_diabetes():
    frame = sk_frame(sk.load_diabetes).assign(row_id=lambda f: np.arange(len(f)))
    settings = RegressionSettings(target_column="target", max_trials=4, time_budget=120,
                                  verbosity=0, allowed_models=["lightgbm", "ridge", "elastic_net"])
    run = AutoML(settings).fit(frame.iloc[:330])
    assert run.leaderboard().rmse.iloc[0] == run.leaderboard().rmse.min()
    metrics = run.best_model.evaluate(frame.iloc[330:])
    assert metrics["r2"] > 0.3 and {"rmse", "mae", "nrmse", "spearman", "mape"} <= set(metrics)
    # normalised by the training target's range, as the search's folds are
    trained = frame["target"].iloc[:330]
    assert metrics["nrmse"] == pytest.approx(metrics["rmse"] / (trained.max() - trained.min()))
    # the id column was dropped by featurization: rows to predict need not carry it
    np.testing.assert_array_equal(run.best_model.predict(frame.iloc[330:].drop(columns="row_id")),
                                  run.best_model.predict(frame.iloc[330:]))
    with pytest.raises(SettingsError, match="predict_proba is for classification"):
        run.best_model.predict_proba(frame.iloc[330:])


def test_titanic_missing_values_categories_and_text(tmp_path):
    frame = datasets.load_frame("titanic").sample(frac=1.0, random_state=1).reset_index(drop=True)
    train, test = frame.iloc[:1000], frame.iloc[1000:]
    run = AutoML(ClassificationSettings(target_column="Survived", **QUICK)).fit(
        train, output_dir=tmp_path / "out")
    assert {r.check: r.status for r in run.guardrails.results}["missing_values"] == "alert"
    summary = run.best_model.featurization_summary().set_index("column")
    assert summary.loc["Name", "kind"] == "text" and "TF-IDF" in summary.loc["Name", "action"]
    assert summary.loc["Sex", "kind"] in ("categorical", "boolean")
    assert test.Age.isna().any()  # rows with missing ages are predicted too
    assert run.best_model.evaluate(test)["accuracy"] > 0.75
    # the same experiment resumed: every finished trial is taken from the store, not rerun
    resumed = AutoML.resume(tmp_path / "out")
    first, second = run.leaderboard(), resumed.leaderboard()
    pd.testing.assert_frame_equal(first[["trial", "learner", "params", "accuracy"]],
                                  second[["trial", "learner", "params", "accuracy"]])
    # the searched trials keep their recorded times; ensembles are rebuilt, in their own time
    searched = ~first["learner"].str.endswith("_ensemble")
    pd.testing.assert_series_equal(first.loc[searched, "seconds"],
                                   second.loc[searched, "seconds"])


def test_user_validation_frame_and_same_seed_same_leaderboard():
    frame = sk_frame(sk.load_breast_cancer)
    settings = ClassificationSettings(target_column="target", **QUICK)
    first = AutoML(settings).fit(frame.iloc[:400], validation_data=frame.iloc[400:])
    assert "validation_data (169 rows)" in first.validation
    assert all(len(t.fold_metrics) == 1 for t in first.result.completed)
    second = AutoML(settings).fit(frame.iloc[:400], validation_data=frame.iloc[400:])
    columns = ["trial", "learner", "params", "accuracy", "log_loss"]
    pd.testing.assert_frame_equal(first.leaderboard()[columns], second.leaderboard()[columns])


def test_holdout_validation_and_ensembles_are_honest():
    frame = sk_frame(sk.load_wine)
    settings = ClassificationSettings(target_column="target", validation="holdout",
                                      primary_metric="log_loss", **QUICK)
    run = AutoML(settings).fit(frame)
    assert run.validation.startswith("a 20% holdout")
    board = run.leaderboard()
    assert board.log_loss.iloc[0] == board.log_loss.min()
    # (an ensemble that keeps one member is not built: here none kept two; the
    # holdout's cross-fitting is checked in the next test)
    blends = board[board.learner.str.endswith("_ensemble")]
    assert all(len(json.loads(p)["members"]) >= 2 for p in blends.params)


def test_one_validation_fold_is_cross_fitted_over_two_halves():
    from tsauto.ensemble import greedy_selection
    from tsauto.evaluation.tabular_splits import holdout
    from tsauto.tasks.tabular import TabularContext
    from tsauto.learners.tabular.registry import TaskLearners
    from tsauto.tasks.tabular import ensembles, run_trial
    from tsauto.search.trial import TrialSpec

    frame = sk_frame(sk.load_breast_cancer)
    X, y = frame.drop(columns="target"), frame.target
    folds = holdout(y, 0.3, "classification", 0).folds
    context = TabularContext("classification", [0, 1], (X, y), 0)
    registry = TaskLearners("classification")
    trials = [run_trial(TrialSpec(i, name, params, registry.get(name)), folds, context)
              for i, (name, params) in enumerate([("lightgbm", {"n_estimators": 20}),
                                                  ("knn", {}),
                                                  ("extra_trees", {"n_estimators": 30})])]
    voting = ensembles(trials, folds, context, "log_loss", 3, stacking=False)[0]
    # each half of the holdout is blended with weights chosen on the other half
    stack = np.stack([t.oof[["p0", "p1"]].to_numpy() for t in trials])
    halves = np.random.default_rng(0).permutation(len(folds[0].valid)) % 2
    actual = trials[0].oof["actual"].to_numpy()
    for half in (0, 1):
        other = halves != half

        def loss(flat, rows=other):
            p = flat.reshape(-1, 2)[rows]
            return -np.mean(np.log(np.clip(p[np.arange(len(p)), actual[rows]], 1e-15, 1)))
        weights = greedy_selection(stack.reshape(3, -1), loss)
        expected = np.tensordot(weights, stack, axes=1)[halves == half]
        np.testing.assert_allclose(voting.oof[["p0", "p1"]].to_numpy()[halves == half], expected)


def test_errors_name_what_is_wrong():
    frame = sk_frame(sk.load_iris)
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'target'"):
        AutoML(ClassificationSettings(target_column="targt", **QUICK)).fit(frame)
    with pytest.raises(SettingsError, match="unknown or non-optimisable classification metric"):
        ClassificationSettings(target_column="target", primary_metric="mase")
    with pytest.raises(SettingsError, match="Known regression learners"):
        RegressionSettings(target_column="target", allowed_models=["logistic_regression"])
    with pytest.raises(DataError, match="classification"):
        AutoML(RegressionSettings(target_column="species", **{**QUICK, "allowed_models": None})
               ).fit(frame.assign(species=np.where(frame.target == 0, "setosa", "other")))
    with pytest.raises(SettingsError, match="validation_data is for classification"):
        AutoML(ForecastSettings(time_column="t", target_column="y", horizon=2)).fit(
            frame, validation_data=frame)
    run = AutoML(ClassificationSettings(target_column="target", **{**QUICK, "max_trials": 1})
                 ).fit(frame)
    with pytest.raises(ColumnNotFoundError, match="petal length"):
        run.best_model.predict(frame.drop(columns=["petal length (cm)"]))
    with pytest.raises(SettingsError, match="unknown metric"):
        run.best_model_by("mase")


def test_ties_on_accuracy_go_to_the_better_log_loss():
    from tsauto.search.engine import SearchResult
    from tsauto.search.trial import TrialResult

    trials = [TrialResult(0, "a", {}, "completed", {"accuracy": 0.9, "log_loss": 0.5}),
              TrialResult(1, "b", {}, "completed", {"accuracy": 0.9, "log_loss": 0.2}),
              TrialResult(2, "c", {}, "completed", {"accuracy": 0.8, "log_loss": 0.1}),
              TrialResult(3, "d", {}, "failed")]
    result = SearchResult(trials, "accuracy", "done", 1.0)
    assert [t.learner for t in result.ranked()] == ["b", "a", "c"]
    assert result.best("log_loss").learner == "c"
