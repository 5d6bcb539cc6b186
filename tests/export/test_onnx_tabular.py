"""Tabular ONNX scorers: onnxruntime's probabilities / predictions on held-out rows equal the
model's own, for every exportable learner, the encodings and the weighted ensembles; what does
not export raises ExportError naming the part."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from tsauto.data.tabular import TabularDataset
from tsauto.ensemble.weighted import WeightedTabularEnsemble
from tsauto.errors import ExportError
from tsauto.export.tabular import exports_columns
from tsauto.learners.tabular import registry
from tsauto.model import TabularModel

TITANIC = "datasets/titanic/titanic.csv.gz"


def titanic() -> pd.DataFrame:
    frame = pd.read_csv(TITANIC).drop(columns=["Name"])   # TF-IDF text does not export
    rng = np.random.default_rng(0)
    frame.loc[rng.choice(len(frame), 40, replace=False), "PClass"] = np.nan
    frame["Cabin"] = rng.choice([f"c{i}" for i in range(15)], len(frame))  # ordinal (11-50)
    return frame


def iris() -> pd.DataFrame:
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame.loc[::17, "sepal_length"] = np.nan           # median imputation + indicator
    return frame


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def fit_model(frame, target, task, names, params=None, weights=None, train=0.75):
    n = int(len(frame) * train)
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    ds = TabularDataset(shuffled.iloc[:n], target, task)
    members = [registry.create(name, task, random_state=0, **(params or {})).fit(ds.X, ds.y)
               for name in names]
    learner = members[0] if len(members) == 1 else WeightedTabularEnsemble(members, weights)
    return TabularModel(learner, ds.schema()), shuffled.iloc[n:].drop(columns=[target])


def feeds(sidecar: dict, rows: pd.DataFrame) -> dict:
    """The scorer's inputs from a frame: numbers as float64 (NaN missing), categories as
    strings ('' missing)."""
    out = {}
    for item in sidecar["inputs"]:
        column = rows[item["name"]]
        if item["dtype"] == "string":
            out[item["name"]] = column.astype("string").fillna("").to_numpy(dtype=object)
        else:
            out[item["name"]] = pd.to_numeric(column, errors="coerce").to_numpy("float64")
    return out


def score(model, rows, tmp_path):
    sidecar = model.to_onnx(tmp_path / "m.onnx")
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return sidecar, dict(zip(names, session.run(None, feeds(sidecar, rows))))


def check_classifier(model, rows, tmp_path, atol=1e-12):
    sidecar, out = score(model, rows, tmp_path)
    expected = model.predict_proba(rows).to_numpy()
    np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-5, atol=atol)
    # labels agree wherever the top two probabilities are further apart than the tolerance
    top = np.sort(expected, axis=1)
    decided = top[:, -1] - top[:, -2] > 10 * atol
    assert decided.mean() > 0.8
    np.testing.assert_array_equal(out["label"][decided], model.predict(rows)[decided])
    assert sidecar["classes"] == list(model.classes) and sidecar["task"] == "classification"
    return sidecar


@pytest.mark.parametrize("name", ["logistic_regression", "lightgbm", "linear_svm"])
def test_titanic_classifier_equals_predict_proba(name, tmp_path):
    model, rows = fit_model(titanic(), "Survived", "classification", [name])
    sidecar = check_classifier(model, rows, tmp_path)
    kinds = sidecar["column_kinds"]
    assert kinds["PClass"] == "categorical" and kinds["Age"] == "numeric"
    assert sidecar["float32_parts"] == []


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_tree_ensembles_in_float32(name, tmp_path):
    # skl2onnx sums scikit-learn's trees in float32: probabilities agree to 1e-6 absolute
    model, rows = fit_model(titanic(), "Survived", "classification", [name],
                            {"n_estimators": 20})
    sidecar = check_classifier(model, rows, tmp_path, atol=1e-6)
    assert sidecar["float32_parts"] == [name]


@pytest.mark.parametrize("name,scaler", [("lightgbm", "none"), ("logistic_regression", "pca"),
                                         ("logistic_regression", "robust")])
def test_iris_multiclass(name, scaler, tmp_path):
    model, rows = fit_model(iris(), "target", "classification", [name], {"scaler": scaler})
    check_classifier(model, rows, tmp_path)


def test_target_encoding_multiclass(tmp_path):
    frame = iris()
    frame["code"] = [f"k{i % 60}" for i in range(len(frame))]   # > max_ordinal: target encoded
    model, rows = fit_model(frame, "target", "classification", ["logistic_regression"])
    assert "target encoding" in " ".join(model.featurization_summary()["action"])
    rows = rows.assign(code=rows["code"].where(rows.index % 3 > 0, "unseen"))
    check_classifier(model, rows, tmp_path)


def test_string_labels_and_voting_ensemble(tmp_path):
    frame = titanic()
    frame["Survived"] = frame["Survived"].map({0: "no", 1: "yes"})
    model, rows = fit_model(frame, "Survived", "classification",
                            ["lightgbm", "logistic_regression"], weights=[0.3, 0.5])
    sidecar = check_classifier(model, rows, tmp_path)
    assert [m["weight"] for m in sidecar["learners"]] == [0.3, 0.5]


@pytest.mark.parametrize("names", [["elastic_net"], ["lightgbm"], ["ridge", "lasso"]])
def test_regression_equals_predict(names, tmp_path):
    model, rows = fit_model(diabetes(), "target", "regression", names,
                            weights=[0.6, 0.4] if len(names) > 1 else None)
    sidecar, out = score(model, rows, tmp_path)
    np.testing.assert_allclose(out["prediction"], model.predict(rows), rtol=1e-9)
    assert [o["name"] for o in sidecar["outputs"]] == ["prediction"]


def test_what_does_not_export_names_the_part(tmp_path):
    model, _ = fit_model(iris(), "target", "classification", ["knn"])
    with pytest.raises(ExportError, match="knn.*KNeighborsClassifier"):
        model.to_onnx(tmp_path / "m.onnx")
    frame = pd.read_csv(TITANIC)
    model, _ = fit_model(frame, "Survived", "classification", ["logistic_regression"])
    with pytest.raises(ExportError, match="text column 'Name'"):
        model.to_onnx(tmp_path / "m.onnx")
    # the leaderboard's onnx column reads the same rule off the data
    assert not exports_columns(TabularDataset(frame, "Survived", "classification"))
    assert exports_columns(TabularDataset(titanic(), "Survived", "classification"))


def test_lightgbm_beside_scikit_learn_trees(tmp_path):
    # one graph holds one version of the tree ops: LightGBM goes through onnxmltools (float32)
    model, rows = fit_model(titanic(), "Survived", "classification",
                            ["lightgbm", "random_forest"], {"n_estimators": 20},
                            weights=[0.5, 0.5])
    sidecar = check_classifier(model, rows, tmp_path, atol=1e-6)
    assert sidecar["float32_parts"] == ["lightgbm", "random_forest"]
    model, rows = fit_model(diabetes(), "target", "regression", ["lightgbm", "extra_trees"],
                            {"n_estimators": 20}, weights=[0.5, 0.5])
    _, out = score(model, rows, tmp_path)
    np.testing.assert_allclose(out["prediction"], model.predict(rows), rtol=1e-5)


def test_onnx_only_tabular_search_exports_its_best_model(tmp_path):
    from tsauto.automl import AutoML
    from tsauto.progress import skipped_learners
    from tsauto.settings import ClassificationSettings

    frame = iris().sample(frac=1.0, random_state=1).reset_index(drop=True)
    settings = ClassificationSettings(target_column="target", max_trials=3, time_budget=120,
                                      verbosity=0, n_folds=3, enable_onnx_compatible_models=True,
                                      allowed_models=["knn", "logistic_regression", "lightgbm"])
    run = AutoML(settings).fit(frame.iloc[:120])
    board = run.leaderboard()
    assert "knn" not in set(board["learner"]) and board["onnx"].all()
    assert "does not export to ONNX" in skipped_learners(run.result)["knn"]
    check_classifier(run.best_model, frame.iloc[120:].drop(columns=["target"]), tmp_path)
    # without the setting, a k-NN trial is on the leaderboard, marked as not exporting
    settings = settings.model_copy(update={"enable_onnx_compatible_models": False,
                                           "allowed_models": ["knn"], "max_trials": 1})
    board = AutoML(settings).fit(frame.iloc[:120]).leaderboard()
    assert not board.loc[board["learner"] == "knn", "onnx"].any()


def test_cli_exports_a_tabular_model(tmp_path):
    import subprocess
    import sys

    model, _ = fit_model(diabetes(), "target", "regression", ["ridge"])
    model.save(tmp_path / "model.pkl")
    done = subprocess.run([sys.executable, "-m", "tsauto.cli", "export", str(tmp_path /
                          "model.pkl"), "--onnx", str(tmp_path / "m.onnx")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "bmi" in done.stdout
    assert (tmp_path / "m.onnx.json").exists()
