"""The tabular scorer: a fitted ``TabularModel`` (one learner or a weighted ensemble) as one
ONNX graph and its sidecar.

Inputs, one per raw feature column the model uses, each one-dimensional ``[n_rows]``:

- numeric columns: float64, NaN where missing (imputed as fitted, missing indicator included);
- boolean columns: float64 0/1, NaN where missing;
- categorical columns: string; the empty string is a missing value (scikit-learn's featurizer
  reads a missing category as the level 'missing'); unseen levels are encoded as fitted
  (one-hot: all zeros, ordinal: -1, target encoding: the training mean).

Outputs: classification: ``probabilities`` float64 [n_rows, n_classes] in the sidecar's
``classes`` order and ``label`` [n_rows] (int64 when the classes are integers, else string);
regression: ``prediction`` float64 [n_rows].

The featurizer is written by hand in float64 (skl2onnx's imputer is float32-only in
onnxruntime and drops the missing indicators); scaler and model come from skl2onnx in float64,
scikit-learn's tree ensembles in float32 (as scikit-learn itself compares them), LightGBM from
``tsauto.export.lightgbm`` in float64.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from tsauto.errors import ExportError
from tsauto.export.graph import DOUBLE, FLOAT, INT64, ML_OPSET, OPSET, Graph, value_info

FORMAT = "tsauto-onnx-tabular/1"
STRING = TensorProto.STRING
# scikit-learn's tree ensembles compare float32 features and skl2onnx sums them in float32
_FLOAT32_MODELS = ("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
                   "ExtraTreesRegressor")
_NOT_EXPORTED = {
    "KNeighborsClassifier": "its converted distances may pick other neighbours than "
                            "scikit-learn's",
    "KNeighborsRegressor": "its converted distances may pick other neighbours than "
                           "scikit-learn's",
    "HistGradientBoostingClassifier": "skl2onnx 1.20 fails on scikit-learn 1.9's gradient "
                                      "boosting",
    "HistGradientBoostingRegressor": "skl2onnx 1.20 fails on scikit-learn 1.9's gradient "
                                     "boosting",
}


# column kinds whose features are not exported (featurize raises ExportError naming them)
NOT_EXPORTED_KINDS = ("text", "datetime")


def exports_columns(dataset) -> bool:
    """Whether a ``TabularDataset``'s columns all featurize in ONNX."""
    return not any(kind in NOT_EXPORTED_KINDS for kind in dataset.column_kinds().values())


class ColumnInputs:
    """One graph input per raw column, made when a featurizer first reads it."""

    def __init__(self) -> None:
        self.made: dict[str, onnx.ValueInfoProto] = {}
        self.kinds: dict[str, str] = {}

    def get(self, g: Graph, column: str, kind: str) -> str:
        """The column as a 2-D [n_rows, 1] value."""
        if column not in self.made:
            dtype = STRING if kind == "categorical" else DOUBLE
            self.made[column] = value_info(column, dtype, ["n_rows"])
            self.kinds[column] = kind
        return g.unsqueeze(column, [1])


def _codes(g: Graph, x: str, categories) -> str:
    """int64 [n_rows, 1]: each string's position among ``categories``, len(categories) when
    unseen; the empty string reads as the level 'missing' (when it was seen at fit)."""
    from tsauto.features.tabular import MISSING

    keys = [str(c) for c in categories]
    values = list(range(len(keys)))
    if "" not in keys and MISSING in keys:
        keys.append("")
        values.append(keys.index(MISSING))
    return g.op("LabelEncoder", x, domain="ai.onnx.ml", keys_strings=keys,
                values_int64s=values, default_int64=len(categories))


def _lookup(g: Graph, x: str, categories, table: np.ndarray) -> str:
    """double [n_rows, width]: the row of ``table`` (one per category, then the unseen row)."""
    codes = g.reshape(_codes(g, x, categories), [-1])
    return g.rows(g.const(table), codes)


def featurize(g: Graph, featurizer, inputs: ColumnInputs, name: str) -> str:
    """A fitted ``TabularFeaturizer`` as graph ops: double [n_rows, n_features], in
    ``featurizer.feature_names_`` order."""
    kinds = {str(c): i.kind for c, i in featurizer.columns_.items()}
    blocks = []
    for step, fitted, cols in featurizer.transformer_.transformers_:
        if step == "remainder":
            continue
        if step.startswith("text:"):
            raise ExportError(f"{name}: the text column '{cols}' (TF-IDF features) is not "
                              f"exported: onnxruntime's tokenizer needs a system locale and "
                              f"does not split words as scikit-learn does; drop the column "
                              f"(drop_columns) to export this model.")
        if step == "datetime":
            raw = sorted({c.rsplit(".", 1)[0] for c in cols})
            raise ExportError(f"{name}: the datetime column(s) {raw} are not exported; drop "
                              f"them (drop_columns) or pass their parts as numeric columns.")
        if step in ("numeric", "boolean"):
            x = g.concat([inputs.get(g, c, kinds[c]) for c in cols], axis=1)
            blocks.append(g.op("Where", g.op("IsNaN", x), g.const(fitted.statistics_), x))
            if fitted.indicator_ is not None:
                seen = g.cols(x, list(fitted.indicator_.features_))
                blocks.append(g.op("Cast", g.op("IsNaN", seen), to=DOUBLE))
        elif step == "onehot":
            for c, levels in zip(cols, fitted.categories_):
                table = np.vstack([np.eye(len(levels)), np.zeros((1, len(levels)))])
                blocks.append(_lookup(g, inputs.get(g, c, "categorical"), levels, table))
        elif step == "ordinal":
            for c, levels in zip(cols, fitted.categories_):
                table = np.append(np.arange(len(levels), dtype="float64"), -1.0)[:, None]
                blocks.append(_lookup(g, inputs.get(g, c, "categorical"), levels, table))
        elif step == "target":
            k = len(fitted.classes_) if fitted.target_type_ == "multiclass" else 1
            unseen = np.atleast_1d(fitted.target_mean_).astype("float64")
            for i, (c, levels) in enumerate(zip(cols, fitted.categories_)):
                # multiclass: one encoding per (column, class), column-major
                table = np.column_stack([fitted.encodings_[i * k + j] for j in range(k)])
                table = np.vstack([table, unseen[None, :]])
                blocks.append(_lookup(g, inputs.get(g, c, "categorical"), levels, table))
        else:
            raise ExportError(f"{name}: the featurizer step '{step}' is not exported.")
    return g.concat(blocks, axis=1)


def _convert(estimator, n_features: int, float32: bool, classifier: bool, name: str):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    tensor = FloatTensorType if float32 else DoubleTensorType
    options = {id(estimator): {"zipmap": False}} if classifier else None
    try:
        return convert_sklearn(estimator, initial_types=[("X", tensor([None, n_features]))],
                               target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
                               options=options)
    except Exception as exc:  # noqa: BLE001 - the converter's own message says why
        raise ExportError(f"{name}: {type(estimator).__name__} has no ONNX converter "
                          f"({type(exc).__name__}: {exc}).") from exc


def learner_scores(g: Graph, learner, inputs: ColumnInputs, classes,
                   old_trees: bool = False) -> tuple[str, bool]:
    """(class probabilities [n_rows, n_classes] or predictions [n_rows], whether float32) of
    one fitted ``TabularLearner``; ``old_trees``: write LightGBM for ai.onnx.ml 3 (onnxmltools),
    as one graph holds one version of ONNX's tree ops and skl2onnx writes version 3."""
    from tsauto.learners.tabular.base import TabularLearner

    if not isinstance(learner, TabularLearner):
        raise ExportError(f"{type(learner).__name__} is not exported to ONNX: only tabular "
                          f"learners and weighted ensembles of them are.")
    name = learner.name
    pipeline = learner._fitted()
    scaler, model = pipeline["scale"], pipeline["model"]
    kind = type(model).__name__
    if kind in _NOT_EXPORTED:
        raise ExportError(f"{name}: its model {kind} is not exported: {_NOT_EXPORTED[kind]}; "
                          f"exportable tabular learners are listed in docs/onnx.md.")
    classifier = learner.task == "classification"
    if classifier and list(learner.classes_) != list(classes):
        raise ExportError(f"{name}: its classes {list(learner.classes_)} differ from the "
                          f"model's {list(classes)}.")
    X = featurize(g, pipeline["featurize"], inputs, name)
    width = len(pipeline["featurize"].feature_names_)
    if scaler != "passthrough":
        X = g.call(_convert(scaler, width, False, False, name), [X])
        width = scaler.transform(np.zeros((1, width))).shape[1]  # PCA/SVD change it
    if kind in ("LGBMClassifier", "LGBMRegressor") and old_trees:
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import DoubleTensorType, FloatTensorType

        # onnxmltools reads a classifier's features in float32 only; leaves sum in float32
        tensor = FloatTensorType if classifier else DoubleTensorType
        proto = convert_lightgbm(model, initial_types=[("X", tensor([None, width]))],
                                 target_opset=15, zipmap=False)
        outputs = g.call(proto, [g.op("Cast", X, to=FLOAT) if classifier else X])
        out = g.op("Cast", outputs[1] if classifier else outputs, to=DOUBLE)
        return (out if classifier else g.reshape(out, [-1])), True
    if kind in ("LGBMClassifier", "LGBMRegressor"):
        from tsauto.export.lightgbm import Unsupported, lightgbm_model

        try:
            raw = g.call(lightgbm_model(model, width), [X])
        except Unsupported as exc:
            raise ExportError(f"{name}: {exc}.") from exc
        if not classifier:
            return g.reshape(raw, [-1]), False
        if len(classes) == 2:  # LightGBM's binary objective: a sigmoid of the raw score
            p = g.op("Sigmoid", raw)
            return g.concat([g.op("Sub", g.const(1.0), p), p], axis=1), False
        return g.op("Softmax", raw, axis=1), False
    float32 = kind in _FLOAT32_MODELS
    proto = _convert(model, width, float32, classifier, name)
    x = g.op("Cast", X, to=FLOAT) if float32 else X
    outputs = g.call(proto, [x])
    out = outputs[1] if classifier else (outputs if isinstance(outputs, str) else outputs[0])
    if float32:
        out = g.op("Cast", out, to=DOUBLE)
    return (out if classifier else g.reshape(out, [-1])), float32


def tabular_graph(model) -> tuple[onnx.ModelProto, dict]:
    """The ONNX model of a ``TabularModel`` and its sidecar (a dict)."""
    from tsauto.ensemble.weighted import WeightedTabularEnsemble
    from tsauto.export.forecast import _describe

    learner = model.learner
    if isinstance(learner, WeightedTabularEnsemble):
        members, weights = learner.members, learner.weights.tolist()
    else:
        members, weights = [learner], [1.0]
    classifier = model.task == "classification"
    classes = list(model.classes) if classifier else None
    g = Graph()
    inputs = ColumnInputs()
    kinds = {type(m._fitted()["model"]).__name__ for m in members
             if hasattr(m, "pipeline_")}
    old_trees = bool(kinds & set(_FLOAT32_MODELS)) and bool(kinds & {"LGBMClassifier",
                                                                       "LGBMRegressor"})
    parts, float32 = [], []
    for member, weight in zip(members, weights):
        scores, f32 = learner_scores(g, member, inputs, classes, old_trees)
        parts.append(g.op("Mul", scores, g.const(weight)))
        if f32:
            float32.append(member.name)
    total = parts[0] if len(parts) == 1 else g.op("Sum", *parts)
    if classifier:
        # WeightedTabularEnsemble.predict_proba divides by the sum of the weights
        total = g.op("Div", total, g.const(float(sum(weights))))
        g.op("Identity", total)
        g.nodes[-1].output[0] = "probabilities"
        best = g.op("ArgMax", "probabilities", axis=1, keepdims=0)
        integer = all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                      for c in classes)
        labels = (np.asarray(classes, dtype=np.int64) if integer
                  else np.asarray([str(c) for c in classes], dtype=object))
        g.op("Gather", g.const(labels, dtype=labels.dtype, hint="classes"), best, axis=0)
        g.nodes[-1].output[0] = "label"
        outputs = [value_info("probabilities", DOUBLE, ["n_rows", len(classes)]),
                   value_info("label", INT64 if integer else STRING, ["n_rows"])]
    else:
        g.op("Identity", total)
        g.nodes[-1].output[0] = "prediction"
        outputs = [value_info("prediction", DOUBLE, ["n_rows"])]
    graph_inputs = list(inputs.made.values())
    graph = helper.make_graph(g.nodes, "tsauto_tabular", graph_inputs, outputs, g.initializers)
    domains = {"ai.onnx.ml": ML_OPSET, **g.domains}
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v)
                                                    for d, v in domains.items()],
                              functions=[fn for _, fn in g.functions.values()],
                              producer_name="tsauto")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto, full_check=True)
    sidecar = {
        "format": FORMAT,
        "task": model.task,
        "inputs": _describe(graph_inputs),
        "outputs": _describe(outputs),
        "target_column": model.schema.target_column,
        "classes": None if classes is None else [c.item() if isinstance(c, np.generic) else c
                                                 for c in classes],
        "column_kinds": inputs.kinds,
        "missing_category": "",
        "learners": [{"name": m.name, "weight": w} for m, w in zip(members, weights)],
        "float32_parts": float32,
    }
    return proto, sidecar
