"""Where an ONNX scorer spends its time: onnxruntime's own profiler, summed per op type.

Fits the benchmark's model (``onnx_benchmark.panel``: seeded monthly series, horizon 12,
quantiles 0.1/0.5/0.9), exports it, and runs ``session.run`` ``--runs`` times with
``SessionOptions.enable_profiling`` on one series and on all ``--series``; prints, per op type,
the total kernel time per run (microseconds) and its share, and for the tree models LightGBM's
own ``predict`` on the same rows as the scorer's trees see, for comparison.

    python benchmarks/onnx_profile.py --learner elastic_net [--series 1000] [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
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
    args = parser.parse_args()

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
    if args.learner == "lightgbm":  # LightGBM's own predict on rows of the same shape
        booster = learner.models_[0]
        final = booster.model if hasattr(booster, "model") else booster
        X = np.random.default_rng(0).normal(size=(args.series, final.n_features_in_))
        start = time.perf_counter()
        for _ in range(20):
            final.predict(X, num_threads=1)
        print(f"\nLightGBM predict, {args.series} rows, 1 thread: "
              f"{(time.perf_counter() - start) / 20 * 1000:.2f} ms per call; cpu {os.cpu_count()}")


if __name__ == "__main__":
    main()
