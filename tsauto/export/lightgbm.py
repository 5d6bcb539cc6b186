"""A fitted LightGBM regressor as one ONNX ``TreeEnsemble`` (ai.onnx.ml opset 5), in float64.

onnxmltools writes LightGBM as the older ``TreeEnsembleRegressor``: float32 thresholds and
leaves, and each categorical split as a chain of equality tests, one per category (a series id
of 1,000 levels made trees of 36,000 nodes that onnxruntime walked 30 times slower than the
numeric splits).  ``TreeEnsemble`` has double thresholds and leaves and set-membership splits,
so this graph computes what LightGBM computes: its own decision rule, NaN handling included
(``NumericalDecision``/``CategoricalDecision`` in LightGBM's tree.h).
"""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from tsauto.export.graph import DOUBLE, OPSET

TREE_OPSET = 5
_LEQ, _MEMBER = 0, 6


class Unsupported(Exception):
    """A model this converter does not write (the caller uses onnxmltools instead)."""


def lightgbm_model(model, n_features: int):
    """The ONNX model of a fitted ``LGBMRegressor`` or ``LGBMClassifier``: input X double
    [N, F], output Y double [N, K], LightGBM's raw scores (K = 1 but for multiclass, where
    each class has its own trees, taken in turn)."""
    dump = model.booster_.dump_model()
    n_targets = int(dump.get("num_tree_per_iteration", 1))
    if dump.get("average_output"):
        raise Unsupported("random-forest mode averages its trees")
    nodes = {k: [] for k in ("feature", "split", "mode", "true", "true_leaf", "false",
                             "false_leaf", "nan_true")}
    members: list[float] = []
    leaves: list[float] = []
    targets: list[int] = []
    roots: list[int] = []

    def leaf(value: float) -> int:
        leaves.append(float(value))
        targets.append(len(roots) % n_targets)
        return len(leaves) - 1

    def visit(node: dict) -> tuple[int, bool]:
        """(index, is a leaf) of ``node``, its subtree written."""
        if "leaf_value" in node:
            return leaf(node["leaf_value"]), True
        i = len(nodes["feature"])
        for values in nodes.values():
            values.append(0)
        nodes["feature"][i] = int(node["split_feature"])
        if node["decision_type"] == "==":
            categories = [float(c) for c in str(node["threshold"]).split("||")]
            members.extend(categories + [np.nan])
            nodes["mode"][i], nodes["split"][i] = _MEMBER, 0.0
            nodes["nan_true"][i] = 0  # NaN and negative codes go right
        elif node["decision_type"] == "<=":
            threshold = float(node["threshold"])
            nodes["mode"][i], nodes["split"][i] = _LEQ, threshold
            missing = node.get("missing_type", "None")
            if missing == "NaN":
                nodes["nan_true"][i] = int(node["default_left"])
            elif missing == "None":  # NaN is read as 0
                nodes["nan_true"][i] = int(0.0 <= threshold)
            elif bool(node["default_left"]) == (0.0 <= threshold):  # zero as missing
                nodes["nan_true"][i] = int(node["default_left"])
            else:
                raise Unsupported("zero-as-missing splits that send zero against its side")
        else:
            raise Unsupported(f"decision type {node['decision_type']!r}")
        left, left_leaf = visit(node["left_child"])
        right, right_leaf = visit(node["right_child"])
        nodes["true"][i], nodes["true_leaf"][i] = left, int(left_leaf)
        nodes["false"][i], nodes["false_leaf"][i] = right, int(right_leaf)
        return i, False

    for tree in dump["tree_info"]:
        root, is_leaf = visit(tree["tree_structure"])
        if is_leaf:  # a tree without a split: one test whose both sides reach its leaf
            i = len(nodes["feature"])
            for key, value in (("feature", 0), ("split", 0.0), ("mode", _LEQ), ("true", root),
                               ("true_leaf", 1), ("false", root), ("false_leaf", 1),
                               ("nan_true", 1)):
                nodes[key].append(value)
            root = i
        roots.append(root)
    attrs = dict(
        tree_roots=roots, nodes_featureids=nodes["feature"],
        nodes_splits=numpy_helper.from_array(np.asarray(nodes["split"], dtype=np.float64)),
        nodes_modes=numpy_helper.from_array(np.asarray(nodes["mode"], dtype=np.uint8)),
        nodes_truenodeids=nodes["true"], nodes_trueleafs=nodes["true_leaf"],
        nodes_falsenodeids=nodes["false"], nodes_falseleafs=nodes["false_leaf"],
        nodes_missing_value_tracks_true=nodes["nan_true"],
        leaf_targetids=targets,
        leaf_weights=numpy_helper.from_array(np.asarray(leaves, dtype=np.float64)),
        n_targets=n_targets, aggregate_function=1, post_transform=0)
    if members:
        attrs["membership_values"] = numpy_helper.from_array(np.asarray(members,
                                                                        dtype=np.float64))
    node = helper.make_node("TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml", **attrs)
    graph = helper.make_graph([node], "lightgbm", [
        helper.make_tensor_value_info("X", DOUBLE, [None, n_features])],
        [helper.make_tensor_value_info("Y", DOUBLE, [None, n_targets])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                   helper.make_opsetid("ai.onnx.ml",
                                                                       TREE_OPSET)])
