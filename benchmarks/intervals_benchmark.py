"""Do tsauto's intervals mean what they say?  Coverage of the 50, 80 and 95% intervals and the
weighted quantile loss on the public panel (benchmarks/panel.py), last horizon held out.

    .venv/bin/python benchmarks/intervals_benchmark.py [--only tourism prison ...] [--budget 60]
        [--origins K]

Per collection, in one process and on the same series: tsauto (``AutoML.fit`` with default
settings but the quantiles of the three intervals and a fixed ``--budget``), whose one fitted
model forecasts twice: with its calibrated intervals (the default) and with its learner's own
(``forecast(calibrated=False)``): the point forecast is the same; and the statistical ensemble
(mean of AutoETS, AutoARIMA, AutoTheta and AutoCES) with its own intervals (the mean of its
members' bounds).  The weighted quantile loss is computed here, independently of tsauto's
metric code: 2 * sum of pinball losses / sum |y|, averaged over the seven quantiles (the
ensemble's median is its point forecast).  MASE is the panel's referee.  Results go to
benchmarks/results/intervals.md.

``--origins K`` repeats the holdout at K forecast origins, as the conformal literature judges
coverage: the last horizon, then the origin moved back by one horizon each time, so that the K
held-out periods are disjoint (a step of one season would overlap them whenever h > season,
and overlapping periods share their shocks: the same draw counted twice).  At each origin
tsauto (and the peer) is fitted afresh, same budget and settings, on the data before it;
series whose training part would be shorter than three horizons (or than the newest
origin's shortest, where that is less) are left out.
The pooled table scores the forecast rows of all origins together (coverage, WQL) and shows
the spread of the 80% coverage across origins; MASE is the mean of the origins'.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import replace
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
          ) -> tuple[list[dict], dict, dict[str, pd.DataFrame], pd.DataFrame]:
    """Rows of scores, the model's description, each method's quantile frame and the
    held-out part (the last horizon of ``collection``)."""
    c = collection
    train, test = panel.split(c.frame, c.h)
    rows, preds = [], {}
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
        preds[label] = fc
        rows.append({"collection": c.name, "method": label,
                     **interval_scores(fc, test), **panel.score(fc, test, train, c.season),
                     "seconds": fit_seconds})
    if peer:
        peers = panel.statistical_peers(train, c.h, c.season, c.freq, levels=LEVELS)
        frame, secs = peers["StatEnsemble"]
        preds["statistical ensemble"] = quantile_frame_of_peer(frame)
        rows.append({"collection": c.name, "method": "statistical ensemble",
                     **interval_scores(preds["statistical ensemble"], test),
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
            + (f" (windows {r['calibrated_min']:.3f}-{r['calibrated_max']:.3f})"
               if np.isfinite(r.get('calibrated_min', np.nan)) else "")
            for r in cal.validation.to_dict(orient="records"))
    return rows, info, preds, test


def origins(collection: panel.Collection, k: int) -> list[panel.Collection]:
    """The collection cut at ``k`` forecast origins, the newest first: origin i ends i
    horizons before the data's end (disjoint held-out periods).  Each origin keeps the series
    whose training part is at least three horizons long, or as long as the newest origin's
    shortest where that is less (the panel's own floor: global_economy keeps 10 years)."""
    c = collection
    lengths = c.frame.groupby("unique_id")["y"].transform("size")
    shortest = min(int(lengths.min()) - c.h, 3 * c.h)
    out = []
    for i in range(k):
        frame = panel.split(c.frame, i * c.h)[0] if i else c.frame
        size = frame.groupby("unique_id")["y"].transform("size")
        out.append(replace(c, frame=frame[size >= shortest + c.h].reset_index(drop=True)))
    return out


def pooled(name: str, per_origin: list[tuple[dict[str, pd.DataFrame], pd.DataFrame]],
           rows: list[dict]) -> list[dict]:
    """One row per method: coverage and WQL over the forecast rows of every origin together,
    the min and max of the origins' 80% coverage, their mean MASE and total seconds."""
    test = pd.concat([t for _, t in per_origin], ignore_index=True)
    out = []
    for method in per_origin[0][0]:
        pred = pd.concat([p[method] for p, _ in per_origin], ignore_index=True)
        mine = [r for r in rows if r["method"] == method]
        cov80 = [r["cov80"] for r in mine]
        out.append({"collection": name, "method": method, "origins": len(mine),
                    **interval_scores(pred, test), "cov80_min": min(cov80),
                    "cov80_max": max(cov80), "mase": float(np.mean([r["mase"] for r in mine])),
                    "seconds": sum(r["seconds"] for r in mine)})
    return out


def _table(rows: list[dict]) -> str:
    by_origin = any("holdout" in r for r in rows)
    head = ("| collection | " + ("origin | held out | " if by_origin else "")
            + "method | 50% | 80% | 95% | WQL | MASE | seconds |\n"
            + "|---" * (8 + 2 * by_origin) + "|\n")
    return head + "".join(
        f"| {r['collection']} | "
        + (f"{r['origin']} | {r['holdout']} | " if by_origin else "")
        + f"{r['method']} | {r['cov50']:.1%} | {r['cov80']:.1%} | "
        f"{r['cov95']:.1%} | {r['wql']:.4f} | {r['mase']:.3f} | {r['seconds']:.0f} |\n"
        for r in rows)


def _pooled_table(rows: list[dict]) -> str:
    head = ("| collection | method | origins | 50% | 80% | 95% | WQL | 80% min-max over origins "
            "| MASE (mean) | seconds (all origins) |\n" + "|---" * 10 + "|\n")
    return head + "".join(
        f"| {r['collection']} | {r['method']} | {r['origins']} | {r['cov50']:.1%} | "
        f"{r['cov80']:.1%} | {r['cov95']:.1%} | {r['wql']:.4f} | "
        f"{r['cov80_min']:.1%}-{r['cov80_max']:.1%} | {r['mase']:.3f} | {r['seconds']:.0f} |\n"
        for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(panel.COLLECTIONS),
                        help="collections to run (default: all seven)")
    parser.add_argument("--budget", type=float, default=60, help="tsauto's time budget, s")
    parser.add_argument("--no-peer", action="store_true",
                        help="skip the statistical ensemble (slow on the large collections)")
    parser.add_argument("--origins", type=int, default=1,
                        help="forecast origins, one horizon apart, the newest first (default 1:"
                             " the last horizon only); tsauto is fitted afresh at each")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "intervals.md"))
    args = parser.parse_args()
    if args.origins < 1:
        parser.error(f"--origins must be 1 or more, not {args.origins}")
    names = args.only or list(panel.COLLECTIONS)
    rows, infos, pools = [], [], []
    # the file is rewritten after each origin: a cut run keeps its part
    for name in names:
        per_origin, mine = [], []
        for i, c in enumerate(origins(panel.load(name), args.origins)):
            r, info, preds, test = bench(c, args.budget, not args.no_peer)
            if args.origins > 1:
                held = f"{test['ds'].min():%Y-%m-%d}..{test['ds'].max():%Y-%m-%d}"
                r = [{**x, "origin": i, "holdout": held} for x in r]
                info["collection"] += f", origin {i} ({held})"
            per_origin.append((preds, test))
            mine += r
            rows += r
            infos.append(info)
            print(_table(r), info, flush=True)
            _write(args, rows, infos, pools)
        if args.origins > 1:
            pools += pooled(c.name, per_origin, mine)
            print(_pooled_table(pools[-len(per_origin[0][0]):]), flush=True)
            _write(args, rows, infos, pools)
    print(f"written {args.out}")


def _write(args, rows: list[dict], infos: list[dict], pools: list[dict] = ()) -> None:
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
        "/ sum |y|, mean over the 7 quantiles; last horizon of every series held out"
        + (f", then the origin moved back one horizon at a time ({args.origins} origins, "
           "fitted afresh at each)" if args.origins > 1 else ""), "",
        *(["## Pooled over the origins", "", _pooled_table(pools), "", "## Each origin", ""]
          if pools else []),
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
