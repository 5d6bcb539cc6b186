"""tsauto AutoML against statsforecast's statistical ensemble and SeasonalNaive.

    .venv/bin/python benchmarks/automl_benchmark.py [--budget 120] [--scale]

Per data set, the last ``horizon`` points of every series are held out.  Peers, called directly
in the same process on the same series: SeasonalNaive, and the mean of AutoETS, AutoARIMA,
AutoTheta and AutoCES (the "statistical ensemble").  tsauto runs AutoML with a fixed time
budget.  MASE (seasonal-naive scaled on each series' training part), sMAPE and wall time.
``--scale`` adds 1,000 monthly series of 120 points (windows cut from aus_retail) with a
5-minute budget.  Results go to benchmarks/results/automl.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

import tsauto
from tsauto import AutoML, ForecastSettings, datasets
from tsauto.evaluation.metrics import evaluate


def _long(frame, roles):
    """unique_id/ds/y frame from a bundled dataset's frame and roles."""
    grains = roles["grain_columns"]
    uid = frame[grains].astype(str).agg("|".join, axis=1) if grains else "all"
    return pd.DataFrame({"unique_id": uid, "ds": pd.to_datetime(frame[roles["time_column"]]),
                         "y": frame[roles["target_column"]].astype(float)})


def demo_frame() -> pd.DataFrame:
    """The demo's data: aus_retail, the last 132 months (11 years) of each series (AutoARIMA on
    all 441 months of 152 series takes most of an hour on 2 cores); its last 12 are held out."""
    retail = _long(datasets.load_frame("aus_retail"), datasets.roles("aus_retail"))
    return retail.sort_values(["unique_id", "ds"]).groupby("unique_id").tail(132)


def retail_windows(n_series: int, length: int) -> pd.DataFrame:
    """Real monthly series: ``length``-month windows cut from aus_retail's long series."""
    data = _long(datasets.load_frame("aus_retail"), datasets.roles("aus_retail"))
    data = data.sort_values(["unique_id", "ds"])
    pieces = []
    for offset in range(0, 441, length // 3):  # overlapping windows: ~1,300 series
        part = data.groupby("unique_id").nth(list(range(offset, offset + length)))
        counts = part.groupby("unique_id")["y"].transform("size")
        part = part[counts == length].copy()
        part["unique_id"] = part["unique_id"] + f"@{offset}"
        pieces.append(part)
    frame = pd.concat(pieces)
    ids = frame["unique_id"].drop_duplicates().sample(n_series, random_state=0)
    return frame[frame["unique_id"].isin(ids)]


def peers(train, h, season, freq):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoCES, AutoETS, AutoTheta, SeasonalNaive

    out = {}
    start = time.perf_counter()
    naive = StatsForecast(models=[SeasonalNaive(season)], freq=freq, n_jobs=1).forecast(df=train, h=h)
    out["SeasonalNaive"] = (naive.rename(columns={"SeasonalNaive": "yhat"}), time.perf_counter() - start)
    start = time.perf_counter()
    models = [AutoETS(season_length=season), AutoARIMA(season_length=season),
              AutoTheta(season_length=season), AutoCES(season_length=season)]
    fc = StatsForecast(models=models, freq=freq, n_jobs=-1).forecast(df=train, h=h)
    cols = ["AutoETS", "AutoARIMA", "AutoTheta", "CES"]
    fc["yhat"] = fc[[c for c in cols if c in fc.columns]].mean(axis=1)
    out["StatEnsemble (ETS+ARIMA+Theta+CES)"] = (fc, time.perf_counter() - start)
    return out


def score(pred, test, train, season):
    merged = test.merge(pred[["unique_id", "ds", "yhat"]], on=["unique_id", "ds"])
    scores = evaluate(merged.y.to_numpy(), merged[["yhat"]].rename(columns={"yhat": "forecast"}),
                      merged.unique_id.to_numpy(), train.rename(columns={"unique_id": "series_id"}),
                      "y", season)
    return scores["mase"], scores["smape"]


def bench(name, frame, h, season, freq, budget, origins=1, with_peers=True, settings=None):
    """Rows (data, method, MASE, sMAPE, seconds) for the holdout of the last ``h`` points and,
    with ``origins`` > 1, for holdouts ending ``h``, ``2h``... points earlier too, plus the mean
    over origins (one holdout of a few short series is a noisy judge); ``settings``: more
    ForecastSettings for tsauto."""
    frame = frame.sort_values(["unique_id", "ds"])
    rows = []
    for origin in range(origins):
        rank = frame.groupby("unique_id").cumcount(ascending=False) - origin * h
        train, test = frame[rank >= h], frame[(rank >= 0) & (rank < h)]
        label = name if origins == 1 else f"{name}, holdout ending {test.ds.max():%Y-%m}"
        print(f"-- {label}", flush=True)
        for method, (pred, secs) in (peers(train, h, season, freq) if with_peers else {}).items():
            rows.append((label, method, *score(pred, test, train, season), secs))
        settings = ForecastSettings(time_column="ds", target_column="y",
                                    grain_columns=["unique_id"], horizon=h, time_budget=budget,
                                    seed=0, verbosity=0, **(settings or {}))
        start = time.perf_counter()
        run = AutoML(settings).fit(train)
        fc = run.best_model.forecast().rename(columns={"forecast": "yhat"})
        secs = time.perf_counter() - start
        rows.append((label, f"tsauto AutoML ({budget:.0f}s budget; best: "
                            f"{run.best_model.description})", *score(fc, test, train, season), secs))
        for row in rows[-3:]:
            print(row, flush=True)
    if origins > 1:
        table = pd.DataFrame(rows, columns=["data", "method", "mase", "smape", "secs"])
        table["method"] = table["method"].str.replace(r" \(.*", "", regex=True)
        mean = table.groupby("method", sort=False)[["mase", "smape", "secs"]].mean()
        rows += [(f"{name}, mean over {origins} holdouts", method, *values)
                 for method, values in zip(mean.index, mean.to_numpy())]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=120)
    parser.add_argument("--only-scale", action="store_true", help="run just the 1,000-series case")
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--demo", action="store_true",
                        help="just tsauto on aus_retail (the demo figure), no peers, nothing written")
    parser.add_argument("--settings", type=json.loads, default={},
                        help='with --demo: more ForecastSettings as JSON, e.g. '
                             '\'{"blocked_models": ["auto_arima"]}\'')
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "automl.md"))
    args = parser.parse_args()
    from statsforecast import __version__ as sf_version

    rows = []
    if args.demo:  # e.g. to compare commits checked out side by side, at the same load
        print(bench("aus_retail", demo_frame(), 12, 12, "MS", args.budget, with_peers=False,
                    settings=args.settings))
        return
    if not args.only_scale:
        rows += bench("aus_retail (152 monthly series, last 132 months, h=12)", demo_frame(), 12,
                      12, "MS", args.budget)
        accom = _long(datasets.load_frame("aus_accommodation"), datasets.roles("aus_accommodation"))
        rows += bench("aus_accommodation (8 quarterly series, h=8)", accom, 8, 4, "QS",
                      args.budget, origins=3)
    if args.scale or args.only_scale:
        rows += bench("aus_retail windows (1,000 monthly series x 120, h=12)",
                      retail_windows(1000, 120), 12, 12, "MS", 300)
    command = "python " + " ".join(["benchmarks/automl_benchmark.py", *sys.argv[1:]])
    lines = ["# AutoML benchmark", "", f"- date: {dt.date.today()}", f"- command: `{command}`",
             f"- versions: tsauto {tsauto.__version__}, statsforecast {sf_version}, pandas "
             f"{pd.__version__}, Python {platform.python_version()}; 2-core machine",
             "- holdout: the last h points of every series (aus_accommodation: also the h points "
             "before those, and before those again, each with its own fit); MASE scaled by each series' in-sample "
             "seasonal-naive error; tsauto's time includes validation, search and refit", "",
             "| data | method | MASE | sMAPE | seconds |", "|---|---|---|---|---|",
             *[f"| {d} | {m} | {a:.4f} | {b:.3f} | {t:.1f} |" for d, m, a, b, t in rows], ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
