"""Do tsauto's intervals mean what they say?  Coverage of the 50, 80 and 95% intervals and the
weighted quantile loss on the public panel (benchmarks/panel.py), last horizon held out.

    .venv/bin/python benchmarks/intervals_benchmark.py [--only tourism prison ...] [--budget 60]

Per collection, in one process and on the same series: tsauto (``AutoML.fit`` with default
settings but the quantiles of the three intervals and a fixed ``--budget``), whose one fitted
model forecasts twice: with its calibrated intervals (the default) and with its learner's own
(``forecast(calibrated=False)``): the point forecast is the same; and the statistical ensemble
(mean of AutoETS, AutoARIMA, AutoTheta and AutoCES) with its own intervals (the mean of its
members' bounds).  The weighted quantile loss is computed here, independently of tsauto's
metric code: 2 * sum of pinball losses / sum |y|, averaged over the seven quantiles (the
ensemble's median is its point forecast).  MASE is the panel's referee.  Results go to
benchmarks/results/intervals.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import panel  # noqa: E402

from tsauto import AutoML, ForecastSettings  # noqa: E402
from tsauto.versions import versions  # noqa: E402

LEVELS = (50, 80, 95)
QUANTILES = sorted({0.5, *[round(0.5 - lv / 200, 4) for lv in LEVELS],
                    *[round(0.5 + lv / 200, 4) for lv in LEVELS]})


def _q(q: float) -> str:
    return f"q{q:g}"


def quantile_frame_of_peer(frame: pd.DataFrame) -> pd.DataFrame:
    """The statistical ensemble's lo-L/hi-L bounds as quantile columns; its point as median."""
    out = frame[["unique_id", "ds", "yhat"]].copy()
    out[_q(0.5)] = frame["yhat"]
    for lv in LEVELS:
        out[_q(round(0.5 - lv / 200, 4))] = frame[f"lo-{lv}"]
        out[_q(round(0.5 + lv / 200, 4))] = frame[f"hi-{lv}"]
    return out


def interval_scores(pred: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Coverage of each central interval and the weighted quantile loss of ``pred`` (quantile
    columns q0.025 ... q0.975) on the held-out ``test``."""
    merged = test.merge(pred, on=["unique_id", "ds"], how="left")
    if merged[[_q(q) for q in QUANTILES]].isna().any().any():
        raise ValueError("a held-out period has no quantile forecast")
    y = merged["y"].to_numpy()
    out = {}
    for lv in LEVELS:
        lo, hi = merged[_q(round(0.5 - lv / 200, 4))], merged[_q(round(0.5 + lv / 200, 4))]
        out[f"cov{lv}"] = float(((y >= lo) & (y <= hi)).mean())
    losses = []
    for q in QUANTILES:
        diff = y - merged[_q(q)].to_numpy()
        losses.append(np.maximum(q * diff, (q - 1) * diff).sum())
    out["wql"] = float(2 * np.mean(losses) / np.abs(y).sum())
    return out


def bench(collection: panel.Collection, budget: float, peer: bool = True
          ) -> tuple[list[dict], dict]:
    c = collection
    train, test = panel.split(c.frame, c.h)
    rows = []
    start = time.perf_counter()
    settings = ForecastSettings(time_column="ds", target_column="y", grain_columns=["unique_id"],
                                known_covariates=list(c.covariates), horizon=c.h,
                                quantiles=QUANTILES, time_budget=budget, verbosity=0)
    run = AutoML(settings).fit(train)
    fit_seconds = time.perf_counter() - start
    model = run.best_model
    future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
    for label, calibrated in (("tsauto calibrated", True), ("tsauto own intervals", False)):
        fc = model.forecast(future=future, calibrated=calibrated).rename(
            columns={"forecast": "yhat"})
        rows.append({"collection": c.name, "method": label,
                     **interval_scores(fc, test), **panel.score(fc, test, train, c.season),
                     "seconds": fit_seconds})
    if peer:
        peers = panel.statistical_peers(train, c.h, c.season, c.freq, levels=LEVELS)
        frame, secs = peers["StatEnsemble"]
        rows.append({"collection": c.name, "method": "statistical ensemble",
                     **interval_scores(quantile_frame_of_peer(frame), test),
                     **panel.score(frame, test, train, c.season), "seconds": secs})
    cal = model.calibration
    info = {"collection": c.description, "model": model.description[:80],
            "calibration": "none" if cal is None else cal.normaliser,
            "validation": run.validation}
    if cal is not None and getattr(cal, "windows", 0):  # models of before calibration windows
        info["validation"] += (f"; calibrated on {cal.windows} windows ({cal.added} added in "
                               f"{cal.seconds:.1f} s), {cal.paths} paths")
    if cal is not None:
        info["validation coverage (learner / calibrated, cross-fitted)"] = ", ".join(
            f"{r['nominal']:.0%}: {r['learner']:.3f} / {r['calibrated']:.3f}"
            for r in cal.validation.to_dict(orient="records"))
    return rows, info


def _table(rows: list[dict]) -> str:
    head = ("| collection | method | 50% | 80% | 95% | WQL | MASE | seconds |\n"
            "|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['collection']} | {r['method']} | {r['cov50']:.1%} | {r['cov80']:.1%} | "
        f"{r['cov95']:.1%} | {r['wql']:.4f} | {r['mase']:.3f} | {r['seconds']:.0f} |\n"
        for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(panel.COLLECTIONS),
                        help="collections to run (default: all seven)")
    parser.add_argument("--budget", type=float, default=60, help="tsauto's time budget, s")
    parser.add_argument("--no-peer", action="store_true",
                        help="skip the statistical ensemble (slow on the large collections)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "intervals.md"))
    args = parser.parse_args()
    names = args.only or list(panel.COLLECTIONS)
    rows, infos = [], []
    for name in names:  # the file is rewritten after each collection: a cut run keeps its part
        r, info = bench(panel.load(name), args.budget, not args.no_peer)
        rows += r
        infos.append(info)
        print(_table(r), info, flush=True)
        _write(args, rows, infos)
    print(f"written {args.out}")


def _write(args, rows: list[dict], infos: list[dict]) -> None:
    v = versions(("statsforecast", "pandas", "numpy", "lightgbm", "torch"))
    text = [
        "# Interval calibration on the public panel", "",
        f"- command: `python benchmarks/intervals_benchmark.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- date: {dt.date.today()}; versions: " + ", ".join(f"{k} {x}" for k, x in v.items()),
        f"- tsauto: `AutoML.fit`, default settings, quantiles {QUANTILES}, time budget "
        f"{args.budget:g} s per collection; one model forecasts with its calibrated intervals "
        f"and with its learner's own (`calibrated=False`), same point forecast",
        "- statistical ensemble: mean of AutoETS, AutoARIMA, AutoTheta, AutoCES and of their "
        "interval bounds (statsforecast, in the same process)",
        "- coverage: share of held-out values inside the central interval; WQL: 2 * sum pinball "
        "/ sum |y|, mean over the 7 quantiles; last horizon of every series held out", "",
        _table(rows), "", "## The models", "",
        *[f"- {i['collection']}: {i['model']}; calibration: {i['calibration']}; "
          f"validation: {i['validation']}"
          + (f"; validation coverage (learner / calibrated, cross-fitted): "
             f"{i['validation coverage (learner / calibrated, cross-fitted)']}"
             if 'validation coverage (learner / calibrated, cross-fitted)' in i else "")
          for i in infos], ""]
    Path(args.out).write_text("\n".join(text))


if __name__ == "__main__":
    main()
