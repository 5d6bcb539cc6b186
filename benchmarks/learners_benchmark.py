"""Accuracy and cost of every statistical, Prophet and TCN learner, and the overhead of the
statsforecast wrapper over statsforecast called directly on the same series and holdout.

    .venv/bin/python benchmarks/learners_benchmark.py            # ~5-10 minutes on 2 cores
    .venv/bin/python benchmarks/learners_benchmark.py --retail-series 8 --skip tcn  # quicker

Data (bundled with tsauto): ``aus_retail`` (monthly turnover; a seeded sample of series, the
last 11 years of each, horizon 12) and ``aus_accommodation`` (quarterly takings of 8 states,
CPI as a known covariate, horizon 8).  The last horizon of every series is held out.  Metrics
follow DESIGN.md: MASE (seasonal-naive scale), sMAPE, and the pinball loss averaged over the
quantiles 0.1, 0.5, 0.9.  Times are fit + predict, wall clock, in this process, after a warm-up
(imports, first calls); runs under a second are the best of up to 5.

Writes Markdown to benchmarks/results/learners.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import tsauto
from tsauto import datasets
from tsauto.evaluation.metrics import evaluate
from tsauto.learners import create, get

QUANTILES = (0.1, 0.5, 0.9)
STATISTICAL = ["auto_arima", "auto_ets", "auto_theta", "auto_ces", "seasonal_naive", "naive",
               "historic_average", "window_average", "seasonal_window_average",
               "croston_optimized", "adida", "imapa", "mstl"]
LEARNERS = [*STATISTICAL, "prophet", "tcn"]
SEED = 2024
OUT = Path(__file__).parent / "results" / "learners.md"


# -- data --------------------------------------------------------------------------------------
def retail(n_series: int) -> tuple[tsauto.TimeSeriesDataset, int, str]:
    full = datasets.load("aus_retail")
    frame = full.to_frame()
    ids = np.sort(np.random.default_rng(SEED).choice(full.series_ids, n_series, replace=False))
    frame = frame[frame["series_id"].isin(ids) & (frame["Month"] >= "2008-01-01")]
    ds = tsauto.TimeSeriesDataset(frame.drop(columns="series_id"), time_column="Month",
                                  target_column="Turnover", grain_columns=["State", "Industry"],
                                  freq="MS")
    note = (f"aus_retail: {n_series} of 152 series drawn with numpy seed {SEED}, Jan 2008 - Dec "
            f"2018 (132 months), last 12 held out")
    return ds, 12, note


def accommodation() -> tuple[tsauto.TimeSeriesDataset, int, str]:
    ds = datasets.load("aus_accommodation")
    note = ("aus_accommodation: all 8 states, 1998 Q1 - 2016 Q2 (74 quarters), last 8 held out; "
            "CPI is a known covariate (used by auto_arima, prophet, tcn), Occupancy past-only "
            "(used by tcn)")
    return ds, 8, note


# -- running -----------------------------------------------------------------------------------
def score(train, test, frame, season) -> dict:
    target = train.target_column
    frame = frame.reset_index(drop=True)
    scores = evaluate(test.frame[target].to_numpy(), frame, frame["series_id"].to_numpy(),
                      train.frame, target, season, QUANTILES)
    return {name: scores[name] for name in ("mase", "smape", "pinball")}


def timed(run):
    """(result, seconds) of ``run()``; runs under a second are repeated (best of up to 5, within
    about 2 s) so that milliseconds are not mostly noise."""
    start = time.perf_counter()
    result = run()
    best = time.perf_counter() - start
    spent, repeats = best, 1
    while best < 1.0 and repeats < 5 and spent < 2.0:
        start = time.perf_counter()
        run()
        took = time.perf_counter() - start
        best, spent, repeats = min(best, took), spent + took, repeats + 1
    return result, best


def interleaved(first, second, repeats: int):
    """Results and best times of two callables run alternately, ``repeats`` times each: the
    load of a shared machine drifts, and alternating exposes both to the same drift."""
    best, results = [np.inf, np.inf], [None, None]
    for _ in range(repeats):
        for k, run in enumerate((first, second)):
            start = time.perf_counter()
            out = run()
            took = time.perf_counter() - start
            if took < best[k]:
                best[k], results[k] = took, out
    return results, best


def ours_runner(name, train, horizon, future):
    """Fit + predict of a fresh learner (a fresh one: the statistical ones cache forecasts)."""
    def run():
        learner = create(name, quantiles=QUANTILES).fit(train)
        uses = learner.capabilities.known_covariates and train.known_covariates
        return learner, learner.predict(horizon, future if uses else None)

    return run


def import_times() -> dict[str, float]:
    """One-time import costs, paid before any timing (and reported on their own)."""
    import importlib

    from tsauto.learners.prophet import _quiet

    out = {}
    for name in ("statsforecast", "prophet", "torch"):
        start = time.perf_counter()
        if name == "prophet":
            with _quiet():
                importlib.import_module(name)
        else:
            importlib.import_module(name)
        out[name] = time.perf_counter() - start
    return out


def warm_up(season, horizon):
    """Pay one-time costs (imports, first calls into compiled code) before any timing."""
    from statsforecast import StatsForecast

    y = 100 + 10 * np.sin(np.arange(4 * max(season, 2)) * 2 * np.pi / max(season, 2))
    df = pd.DataFrame({"unique_id": "w", "ds": np.arange(len(y)), "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in STATISTICAL:
            StatsForecast([direct_model(name, season, 2)], freq=1).forecast(h=2, df=df, level=[80])


def direct_model(name, season, horizon):
    """The statsforecast model our learner of that name builds with its defaults."""
    import statsforecast.models as m
    from statsforecast.utils import ConformalIntervals

    conformal = ConformalIntervals(h=horizon, n_windows=5)
    return {
        "auto_arima": lambda: m.AutoARIMA(season_length=season),
        "auto_ets": lambda: m.AutoETS(season_length=season),
        "auto_theta": lambda: m.AutoTheta(season_length=season),
        "auto_ces": lambda: m.AutoCES(season_length=season),
        "seasonal_naive": lambda: m.SeasonalNaive(season_length=season),
        "naive": lambda: m.Naive(),
        "historic_average": lambda: m.HistoricAverage(),
        "window_average": lambda: m.WindowAverage(window_size=4, prediction_intervals=conformal),
        "seasonal_window_average": lambda: m.SeasonalWindowAverage(
            season_length=season, window_size=2, prediction_intervals=conformal),
        "croston_optimized": lambda: m.CrostonOptimized(prediction_intervals=conformal),
        "adida": lambda: m.ADIDA(prediction_intervals=conformal),
        "imapa": lambda: m.IMAPA(prediction_intervals=conformal),
        "mstl": lambda: m.MSTL(season_length=[season], trend_forecaster=m.AutoETS(model="ZZN")),
    }[name]()


def direct_runner(name, train, test, horizon, n_jobs):
    """statsforecast on the same series and holdout, from a ready long frame: the call to time,
    and the conversion of its output to our forecast layout."""
    from statsforecast import StatsForecast

    target, time_col = train.target_column, train.time_column
    exog = list(train.known_covariates) if get(name).capabilities.known_covariates else []
    df = train.frame[["series_id", time_col, target, *exog]].rename(
        columns={"series_id": "unique_id", time_col: "ds", target: "y"})
    df["unique_id"] = df["unique_id"].astype(str)
    X_df = None
    if exog:
        X_df = test.frame[["series_id", time_col, *exog]].rename(
            columns={"series_id": "unique_id", time_col: "ds"})
        X_df["unique_id"] = X_df["unique_id"].astype(str)
    model = direct_model(name, train.season_length, horizon)
    sf = StatsForecast(models=[model], freq=train.freq, n_jobs=n_jobs)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sf.forecast(h=horizon, df=df, X_df=X_df, level=[80])

    def to_frame(out):
        alias = repr(model)
        frame = pd.DataFrame({"series_id": out["unique_id"].to_numpy(),
                              "step": out.groupby("unique_id").cumcount().to_numpy() + 1,
                              "forecast": out[alias].to_numpy(),
                              "q0.1": out[f"{alias}-lo-80"].to_numpy(),
                              "q0.5": out[alias].to_numpy(),
                              "q0.9": out[f"{alias}-hi-80"].to_numpy()})
        # In the dataset's series order (statsforecast sorts the ids as strings).
        order = pd.MultiIndex.from_arrays([np.repeat(train.series_ids.astype(str), horizon),
                                           np.tile(np.arange(1, horizon + 1), train.n_series)])
        return frame.set_index(["series_id", "step"]).reindex(order).rename_axis(
            ["series_id", "step"]).reset_index()

    return run, to_frame


def pool_check(train, horizon) -> list[dict]:
    """Does a process pool help on this machine? Direct statsforecast, 1 vs 2 processes."""
    from statsforecast import StatsForecast

    df = train.frame[["series_id", train.time_column, train.target_column]].set_axis(
        ["unique_id", "ds", "y"], axis=1)
    df["unique_id"] = df["unique_id"].astype(str)
    rows = []
    for name in ("naive", "auto_theta", "auto_ets"):
        times = {}
        for jobs in (1, 2):
            sf = StatsForecast(models=[direct_model(name, train.season_length, horizon)],
                               freq=train.freq, n_jobs=jobs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, times[jobs] = timed(lambda sf=sf: sf.forecast(h=horizon, df=df, level=[80]))
        rows.append({"model": name, "series": train.n_series, "1 process (s)": times[1],
                     "2 processes (s)": times[2], "speed-up": times[1] / times[2]})
    return rows


def benchmark(ds, horizon, skip) -> tuple[list[dict], list[dict]]:
    train, test = ds.split_last(horizon)
    future = test.to_frame()
    season = train.season_length
    warm_up(season, horizon)
    results, overhead = [], []
    for name in LEARNERS:
        if name in skip:
            continue
        run = ours_runner(name, train, horizon, future)
        (learner, frame), seconds = timed(run)
        if name in STATISTICAL:
            direct_run, to_frame = direct_runner(name, train, test, horizon, frame.attrs["n_jobs"])
            if seconds < 20:
                (_, raw), (again, direct_seconds) = interleaved(run, direct_run, 3)
                seconds = min(seconds, again)
            else:  # one more minute-long run of each would add little but time
                raw, direct_seconds = timed(direct_run)
            direct = to_frame(raw)
            ok = ~frame["series_id"].astype(str).isin(frame.attrs["fallbacks"]).to_numpy()
            diff = np.abs(frame["forecast"].to_numpy() - direct["forecast"].to_numpy())[ok]
            overhead.append({"learner": name, "processes": frame.attrs["n_jobs"], "tsauto (s)": seconds,
                             "statsforecast (s)": direct_seconds,
                             "overhead": seconds / direct_seconds - 1,
                             "extra (s)": seconds - direct_seconds,
                             "max |diff|": float(diff.max()) if len(diff) else 0.0,
                             "direct mase": score(train, test, direct, season)["mase"]})
        fallbacks = len(frame.attrs.get("fallbacks", {}))
        row = {"learner": name, **score(train, test, frame, season), "seconds": seconds,
               "ms/series": 1000 * seconds / train.n_series, "fallbacks": fallbacks}
        results.append(row)
        print(f"  {name:24s} mase {row['mase']:.3f}  smape {row['smape']:6.2f}  "
              f"pinball {row['pinball']:9.3f}  {seconds:7.2f}s  fallbacks {fallbacks}",
              flush=True)
    return results, overhead


# -- report ------------------------------------------------------------------------------------
def table(rows: list[dict], formats: dict) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        cells = []
        for col in cols:
            value = row[col]
            fmt = formats.get(col)
            number = fmt and isinstance(value, (int, float))
            cells.append(format(value, fmt) if number else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions() -> str:
    from importlib.metadata import version

    names = ["statsforecast", "prophet", "cmdstanpy", "torch", "numpy", "pandas"]
    parts = [f"tsauto {tsauto.__version__}", f"python {platform.python_version()}"]
    parts += [f"{n} {version(n)}" for n in names]
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retail-series", type=int, default=30)
    parser.add_argument("--skip", nargs="*", default=[], choices=LEARNERS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    command = "python " + " ".join([sys.argv[0], *sys.argv[1:]])
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    imports = import_times()
    sections = []
    data_notes = []
    fmt = {"mase": ".3f", "smape": ".2f", "pinball": ".3f", "seconds": ".2f", "ms/series": ".1f"}
    over_fmt = {"tsauto (s)": ".2f", "statsforecast (s)": ".2f", "overhead": "+.1%",
                "extra (s)": "+.3f", "max |diff|": ".2g", "direct mase": ".3f"}
    pool_rows = None
    for title, (ds, horizon, note) in [("aus_retail sample", retail(args.retail_series)),
                                        ("aus_accommodation", accommodation())]:
        print(f"{title}: {note}", flush=True)
        data_notes.append(note)
        results, overhead = benchmark(ds, horizon, set(args.skip))
        sections.append(f"### {title} (horizon {horizon})\n\n" + table(results, fmt))
        if overhead:
            sections.append(f"Wrapper overhead on {title}: tsauto's learner (fit + predict from a "
                            f"TimeSeriesDataset) against `StatsForecast(...).forecast` on a "
                            f"ready frame, same model, series, holdout and number of processes; "
                            f"'max |diff|' compares the point forecasts of the series that did "
                            f"not fall back.\n\n" + table(overhead, over_fmt))
        if pool_rows is None:
            train, _ = ds.split_last(horizon)
            pool_rows = pool_check(train, horizon)
    total = time.perf_counter() - started
    text = [
        "# Learner benchmark: statistical, Prophet, TCN",
        "",
        f"- Date: {dt.date.today().isoformat()}",
        f"- Command: `{command}` (from the repository root, in .venv)",
        f"- Versions: {versions()}",
        f"- Machine: {os.cpu_count()} cores, shared: load average {load_before:.1f} at the "
        f"start; absolute times drift from run to run, compare within a table",
        f"- Total run time: {total / 60:.1f} min; one-time imports, paid before any timing: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in imports.items()),
        "- Data (bundled with tsauto, the last horizon of every series held out):",
        *[f"  - {n}" for n in data_notes],
        "- Every learner with its defaults and quantiles 0.1, 0.5, 0.9; `pinball` is the "
        "pinball loss averaged over the three; `seconds` is fit + predict after a warm-up (best of "
        "up to 5 runs when under a second); `fallbacks` counts "
        "series forecast by the naive fallback (or, for mstl, by its trend model alone).",
        "",
        "## Accuracy and cost",
        "",
        *[s + "\n" for s in sections],
        "## Does a process pool help? (statsforecast direct, 1 vs 2 processes, first data set)",
        "",
        table(pool_rows, {"1 process (s)": ".2f", "2 processes (s)": ".2f",
                          "speed-up": ".2f"}),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text))
    print(f"wrote {args.out} in {total / 60:.1f} min")


if __name__ == "__main__":
    main()
