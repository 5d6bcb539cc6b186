"""ONNX scorers against ``model.forecast()`` on the same fitted model.

For each model (LightGBM and elastic-net pivoted learners, recursive, with conformal quantiles,
a seasonal naive and exponential smoothing (auto_ets, additive forms)), fitted on 1,000 seeded synthetic monthly series of 60 points: export time, file size,
the time to forecast all series with ``model.forecast()`` and with onnxruntime (best of
``--repeats``; the ONNX time includes nothing but ``session.run`` on prepared arrays), their
ratio, the largest relative difference, and the single-series p50/p99 latency of
``session.run`` over ``--single`` calls.

    python benchmarks/onnx_benchmark.py [--series 1000] [--repeats 5] [--single 1000]
        [--out benchmarks/results/onnx.md]
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


def panel(n_series: int, length: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(20, 200, n_series)[:, None]
    season = rng.uniform(0, 0.3, n_series)[:, None] * level * np.sin(2 * np.pi * t / 12)
    trend = rng.normal(0, 0.01, n_series)[:, None] * level * t
    y = level + season + trend + rng.normal(0, 0.05, (n_series, length)) * level
    return pd.DataFrame({"store": np.repeat([f"s{i:04d}" for i in range(n_series)], length),
                         "date": np.tile(pd.date_range("2015-01-01", periods=length, freq="MS"),
                                         n_series),
                         "sales": y.ravel()})


def feeds(sidecar: dict, ds) -> dict:
    from tsauto.export.calendar import origin_values

    L = sidecar["history_length"]
    values, indptr = ds.grouped().values, ds.indptr
    history = np.full((ds.n_series, L), np.nan)
    for i in range(ds.n_series):
        v = values[indptr[i]:indptr[i + 1]][-L:]
        history[i, L - len(v):] = v
    out = {"history": history}
    names = [i["name"] for i in sidecar["inputs"]]
    if "series_index" in names:
        out["series_index"] = np.arange(ds.n_series, dtype=np.int64)
    if "origin" in names:
        out["origin"] = origin_values(ds.grid, ds.schema().last_index)
    return out


def markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "onnx.md"))
    args = parser.parse_args()

    import onnxruntime as ort

    from tsauto.data.dataset import TimeSeriesDataset
    from tsauto.learners import registry
    from tsauto.model import ForecastModel, history_of
    from tsauto.versions import versions

    H, Q = 12, (0.1, 0.5, 0.9)
    frame = panel(args.series)
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales",
                           grain_columns=["store"])
    rows = []
    folder = Path(tempfile.mkdtemp())
    from tsauto.export.forecast import SESSION_OPTIONS

    options = ort.SessionOptions()
    for key, value in SESSION_OPTIONS.items():  # as the sidecar advises
        setattr(options, key, value)
    for name, params in [("lightgbm", {"n_estimators": 200, "horizon": H}),
                         ("elastic_net", {"horizon": H}),
                         ("seasonal_naive", {}),
                         ("auto_ets", {"model": "AZZ"})]:
        learner = registry.create(name, quantiles=Q, **params).fit(ds)
        learner.prepare(H)
        model = ForecastModel(learner, ds.schema(), history_of(ds), H, Q)
        path = folder / f"{name}.onnx"
        start = time.perf_counter()
        sidecar = model.to_onnx(path)
        export_s = time.perf_counter() - start
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = feeds(sidecar, ds)
        expected = model.forecast()["forecast"].to_numpy()
        got = session.run(None, inputs)[0].ravel()
        diff = float(np.max(np.abs(got - expected) / np.abs(expected)))
        # ETS: forecast(data=...) filters the kept models through the history again, as the
        # scorer does (forecast() alone reads the forecast prepare() cached)
        call = ((lambda: model.forecast(data=frame)) if name == "auto_ets" else model.forecast)
        tsauto_s = best_of(call, args.repeats)
        onnx_s = best_of(lambda: session.run(None, inputs), args.repeats)
        one = {k: v[:1] for k, v in inputs.items()}
        latencies = []
        for _ in range(args.single):
            start = time.perf_counter()
            session.run(None, one)
            latencies.append(time.perf_counter() - start)
        lat = np.array(latencies) * 1000
        # onnxruntime's default options (threads: all cores), against the sidecar's advice
        default = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        default_lat = []
        for _ in range(args.single):
            start = time.perf_counter()
            default.run(None, one)
            default_lat.append(time.perf_counter() - start)
        rows.append({"model": name, "export s": round(export_s, 2),
                     "file KB": round(path.stat().st_size / 1024, 1),
                     f"forecast() s ({args.series} series)": round(tsauto_s, 4),
                     f"onnxruntime s ({args.series} series)": round(onnx_s, 4),
                     "speed-up": round(tsauto_s / onnx_s, 1),
                     "1-series p50 ms": round(float(np.percentile(lat, 50)), 3),
                     "1-series p99 ms": round(float(np.percentile(lat, 99)), 3),
                     "1-series p50 ms, default options": round(
                         float(np.percentile(default_lat, 50)) * 1000, 3),
                     "max rel. diff": f"{diff:.1e}"})
        print(rows[-1], flush=True)

    table = pd.DataFrame(rows)
    lib = versions(("onnx", "onnxruntime", "onnxmltools", "skl2onnx", "lightgbm",
                    "statsforecast", "numpy", "pandas"))
    text = [
        "# ONNX scorers against model.forecast()", "",
        f"Command: `python benchmarks/onnx_benchmark.py --series {args.series} --repeats "
        f"{args.repeats} --single {args.single}`", "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end (shared machine: "
        f"compare the ratios, measured in the same run).", "",
        f"Data: {args.series} seeded synthetic monthly series x 60 points (level, trend, "
        f"yearly season, noise); horizon {H}, quantiles {list(Q)}.  LightGBM (200 trees) and "
        f"elastic net: pivoted, recursive (an ONNX Loop over the 12 steps), conformal "
        f"quantiles, default featurization (lags, rolling and seasonal windows, calendar, "
        f"series id, per-series scaling).  onnxruntime with the sidecar's session options (one "
        f"thread), CPU provider; the last column: onnxruntime's default options.", "",
        "forecast() is the whole model call (future frame, features, regressor, inverse "
        "transform, quantiles, the long output frame); the ONNX time is session.run on "
        "prepared arrays (history [n, L], series_index, origin).  Seasonal naive's "
        "forecast() reads the forecast its prepare() cached, so its ratio compares a cache "
        "lookup against recomputing from the history.  auto_ets (model AZZ: additive forms "
        "chosen per series by AICc) is timed with forecast(data=the same history): each "
        "series' kept model filtered through it (statsforecast forward), as its scorer's Scan "
        "does; its scorer reads the whole history (free width).", "",
        markdown(table), "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in lib.items()), "",
    ]
    Path(args.out).write_text("\n".join(text))
    print(markdown(table))


if __name__ == "__main__":
    main()
