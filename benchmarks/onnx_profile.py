"""Where an ONNX scorer spends its time: onnxruntime's own profiler, summed per op type.

Fits the benchmark's model (``onnx_benchmark.panel``: seeded monthly series, horizon 12,
quantiles 0.1/0.5/0.9), exports it, and runs ``session.run`` ``--runs`` times with
``SessionOptions.enable_profiling`` on one series and on all ``--series``; prints, per op type,
the total kernel time per run (microseconds) and its share, and for the tree models LightGBM's
own ``predict`` on the same rows as the scorer's trees see, for comparison.

    python benchmarks/onnx_profile.py --learner elastic_net [--series 1000] [--runs 200]
    python benchmarks/onnx_profile.py --categorical   # trees alone, by categorical levels
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.onnx_benchmark import feeds, panel  # noqa: E402


def profile(path: str, feed: dict, runs: int, threads: int = 1) -> tuple[dict, float]:
    """(op type -> microseconds per run, wall milliseconds per run) of ``runs`` calls."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    for _ in range(5):  # warm
        session.run(None, feed)
    start = time.perf_counter()
    for _ in range(runs):
        session.run(None, feed)
    wall = (time.perf_counter() - start) / (runs + 5) * 1000
    events = json.loads(Path(session.end_profiling()).read_text())
    per_op: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"]
    return {k: v / (runs + 5) for k, v in per_op.items()}, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learner", default="elastic_net")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--categorical", action="store_true",
                        help="only the trees' cost against a categorical's number of levels")
    args = parser.parse_args()
    if args.categorical:
        return categorical_cost(args.trees)

    from tsauto.data.dataset import TimeSeriesDataset
    from tsauto.learners import registry
    from tsauto.model import ForecastModel, history_of

    H, Q = 12, (0.1, 0.5, 0.9)
    ds = TimeSeriesDataset(panel(args.series), time_column="date", target_column="sales",
                           grain_columns=["store"])
    params = {"horizon": H}
    if args.learner == "lightgbm":
        params["n_estimators"] = args.trees
    learner = registry.create(args.learner, quantiles=Q, **params).fit(ds)
    learner.prepare(H)
    model = ForecastModel(learner, ds.schema(), history_of(ds), H, Q)
    path = str(Path(tempfile.mkdtemp()) / "model.onnx")
    sidecar = model.to_onnx(path)
    feed = feeds(sidecar, ds)
    for label, f, runs in (("1 series", {k: v[:1] for k, v in feed.items()}, args.runs),
                           (f"{args.series} series", feed, max(args.runs // 20, 5))):
        per_op, wall = profile(path, f, runs)
        total = sum(per_op.values())
        print(f"\n{args.learner}, {label}: {wall:.3f} ms per run (wall), "
              f"{total / 1000:.3f} ms in kernels")
        for op, us in sorted(per_op.items(), key=lambda kv: -kv[1]):
            print(f"  {op:24s} {us:10.1f} us  {100 * us / total:5.1f}%")
    if args.learner == "lightgbm":
        trees(learner, ds, args.series)


def trees(learner, ds, n_rows: int) -> None:
    """The trees alone on ``n_rows`` of the training rows (one step's batch): LightGBM's own
    predict against each ONNX form, its time (best of 20) and its largest difference."""
    import onnxruntime as ort
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import DoubleTensorType

    from tsauto.export.lightgbm import lightgbm_model

    booster = learner.models_[0]
    final = booster.model if hasattr(booster, "model") else booster
    X, _, _ = learner.featurizer_.transform(ds)
    X = X.to_numpy(dtype=np.float64)
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    X = X[np.linspace(0, len(X) - 1, n_rows).astype(int)]
    F = X.shape[1]
    expected = final.predict(X, num_threads=1)
    dump = final.booster_.dump_model()

    def nodes(t):
        return 0 if "leaf_value" in t else 1 + nodes(t["left_child"]) + nodes(t["right_child"])

    def categorical(t):
        return 0 if "leaf_value" in t else (t["decision_type"] == "==") + \
            categorical(t["left_child"]) + categorical(t["right_child"])

    trees_ = [t["tree_structure"] for t in dump["tree_info"]]
    print(f"\n{len(trees_)} trees, {sum(map(nodes, trees_))} splits, "
          f"{sum(map(categorical, trees_))} categorical; {n_rows} rows x {F} features")
    timings = {"LightGBM predict (num_threads=1)":
               (lambda: final.predict(X, num_threads=1), expected)}
    forms = {"TreeEnsemble (ai.onnx.ml 5, float64, tsauto)": (lightgbm_model(final, F), X),
             "TreeEnsembleRegressor (ai.onnx.ml 3, onnxmltools, float32 thresholds)": (
                 convert_lightgbm(final, initial_types=[("X", DoubleTensorType([None, F]))],
                                  target_opset=15, zipmap=False), X)}
    for label, (proto, feed) in forms.items():
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            session = ort.InferenceSession(proto.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            got = session.run(None, {name: feed})[0].ravel()
            timings[f"{label}, {threads} thread(s)"] = (
                lambda s=session, n=name, f=feed: s.run(None, {n: f}), got)
    for label, (fn, got) in timings.items():
        fn()
        best = min(_time(fn) for _ in range(20))
        diff = float(np.max(np.abs(np.asarray(got, dtype=np.float64).ravel() - expected)))
        print(f"  {label:78s} {best * 1000:8.2f} ms  max abs diff {diff:.1e}")


def categorical_cost(n_trees: int) -> None:
    """LightGBM's predict against onnxruntime's ``TreeEnsemble`` (tsauto's converter) on
    1,000 rows of 32 seeded features, one of them categorical with 0 (numeric), 60 or 1,000
    levels: what categorical splits cost each evaluator."""
    import lightgbm as lgb
    import onnxruntime as ort

    from tsauto.export.lightgbm import lightgbm_model

    rng = np.random.default_rng(0)
    n, F = 60000, 32
    X = rng.normal(size=(n, F))
    X[:, -1] = rng.integers(0, 1000, n)
    y = X[:, 0] + np.sin(X[:, 1]) + 0.01 * (X[:, -1] % 17) + rng.normal(0, 0.1, n)
    print(f"\n{n_trees} trees, 1000 rows x {F} features, one thread each")
    for levels in (0, 60, 1000):
        Xl = X.copy()
        Xl[:, -1] = X[:, -1] % max(levels, 1)
        model = lgb.LGBMRegressor(n_estimators=n_trees, verbose=-1, n_jobs=1,
                                  min_data_per_group=5).fit(
            Xl, y, categorical_feature=[F - 1] if levels else "auto")
        rows = Xl[:1000]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(lightgbm_model(model, F).SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        native = min(_time(lambda: model.predict(rows, num_threads=1)) for _ in range(15))
        onnx_ = min(_time(lambda: session.run(None, {"X": rows})) for _ in range(15))
        diff = np.max(np.abs(session.run(None, {"X": rows})[0].ravel() - model.predict(rows)))
        print(f"  {levels:5d} levels: LightGBM {native * 1000:6.1f} ms, onnxruntime "
              f"{onnx_ * 1000:6.1f} ms ({onnx_ / native:.2f}x), max abs diff {diff:.1e}")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start

if __name__ == "__main__":
    main()
