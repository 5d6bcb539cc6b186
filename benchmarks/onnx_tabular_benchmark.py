"""Tabular ONNX scorers against ``model.predict_proba()`` on the same fitted model.

For each learner (logistic regression, LightGBM, random forest), fitted on the titanic rows
(datasets/titanic, the text column 'Name' dropped: TF-IDF does not export): export time, file
size, the time to score every row with ``predict_proba()`` and with onnxruntime (best of
``--repeats``; the ONNX time is ``session.run`` on prepared column arrays), their ratio, the
largest absolute difference of the probabilities, and the single-row p50/p99 latency of
``session.run`` over ``--single`` calls.

    python benchmarks/onnx_tabular_benchmark.py [--repeats 5] [--single 1000]
        [--out benchmarks/results/onnx_tabular.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.onnx_benchmark import best_of  # noqa: E402  (the same timing rule)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/onnx_tabular.md"))
    args = parser.parse_args()

    import onnxruntime as ort

    from tsauto.data.tabular import TabularDataset
    from tsauto.learners.tabular import registry
    from tsauto.model import TabularModel
    from tsauto.versions import versions

    frame = pd.read_csv(ROOT / "datasets/titanic/titanic.csv.gz").drop(columns=["Name"])
    ds = TabularDataset(frame, "Survived", "classification")
    rows = frame.drop(columns=["Survived"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("logistic_regression", "lightgbm", "random_forest"):
            learner = registry.create(name, "classification", random_state=0).fit(ds.X, ds.y)
            model = TabularModel(learner, ds.schema())
            path = Path(tmp) / f"{name}.onnx"
            start = time.perf_counter()
            sidecar = model.to_onnx(path)
            export_s = time.perf_counter() - start
            session = ort.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
            feeds = {}
            for item in sidecar["inputs"]:
                column = rows[item["name"]]
                feeds[item["name"]] = (column.astype("string").fillna("").to_numpy(dtype=object)
                                       if item["dtype"] == "string"
                                       else column.to_numpy("float64"))
            expected = model.predict_proba(rows).to_numpy()
            got = session.run(["probabilities"], feeds)[0]
            python_s = best_of(lambda: model.predict_proba(rows), args.repeats)
            onnx_s = best_of(lambda: session.run(["probabilities"], feeds), args.repeats)
            one = {k: v[:1] for k, v in feeds.items()}
            lat = []
            for _ in range(args.single):
                start = time.perf_counter()
                session.run(["probabilities"], one)
                lat.append(time.perf_counter() - start)
            table.append({"learner": name, "export s": round(export_s, 2),
                          "file KB": round(path.stat().st_size / 1024, 1),
                          f"predict_proba() s ({len(rows)} rows)": round(python_s, 4),
                          f"onnxruntime s ({len(rows)} rows)": round(onnx_s, 5),
                          "speed-up": round(python_s / onnx_s, 1),
                          "1-row p50 ms": round(1e3 * float(np.median(lat)), 3),
                          "1-row p99 ms": round(1e3 * float(np.quantile(lat, 0.99)), 3),
                          "max abs. diff": f"{np.abs(got - expected).max():.1e}",
                          "float32": ", ".join(sidecar["float32_parts"]) or "-"})
            print(table[-1], flush=True)
    board = pd.DataFrame(table)
    header = "| " + " | ".join(board.columns) + " |"
    lines = [header, "|" + "---|" * len(board.columns)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in board.itertuples(index=False)]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    v = versions(("onnx", "onnxruntime", "onnxmltools", "skl2onnx", "scikit-learn", "lightgbm"))
    text = "\n".join([
        "# Tabular ONNX scorers against predict_proba()", "",
        "Command: `python benchmarks/onnx_tabular_benchmark.py --repeats "
        f"{args.repeats} --single {args.single}`", "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load} at the end "
        "(shared machine: compare the ratios, measured in the same run).", "",
        f"Data: datasets/titanic ({len(rows)} rows; PClass, Age, Sex, SexCode; 'Name' dropped), "
        "each learner with its default parameters, fitted on every row and scored on every "
        "row.  onnxruntime on one thread, CPU provider; predict_proba() is the whole model "
        "call (featurizer, scaler, model).", "",
        *lines, "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()), ""])
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
