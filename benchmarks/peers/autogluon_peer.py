"""AutoGluon-TimeSeries as a benchmark peer, run in its own interpreter (issue 13).

AutoGluon is a benchmark extra, never a tsauto dependency: it pins its own torch, pandas and
numpy, so it lives in a separate virtual environment (see benchmarks/README.md) and runs there
as a subprocess.  This file is both halves:

- imported by ``accuracy_benchmark.py`` (tsauto's interpreter, no AutoGluon needed):
  ``forecast(python, train, h, freq, preset, time_limit, future=None)`` writes the training
  frame (and the known covariates of the held-out periods) to a temporary folder, runs this
  file under ``python`` and reads back a ``unique_id, ds, yhat`` frame for the panel's referee,
  with what AutoGluon did (``AutoGluonRun``);
- run as a script by AutoGluon's interpreter: fits ``TimeSeriesPredictor`` with the given
  preset and ``time_limit`` (seconds of fitting; AutoGluon's own limit), eval metric MASE (what
  the referee scores), and writes the mean forecast and a JSON summary.

Only the standard library and pandas are imported at the top, so both interpreters can load it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PRESETS = ("fast_training", "medium_quality")


@dataclass
class AutoGluonRun:
    forecast: pd.DataFrame | None  # unique_id, ds, yhat; None when the run failed
    seconds: float                 # wall time of the subprocess: start-up, fit, predict
    fit_seconds: float             # of those, inside ``TimeSeriesPredictor.fit``
    best: str                      # the model AutoGluon chose (its ensemble's weights, if any)
    models: list                   # the models it trained, with their validation score
    failed: list                   # models that failed to train, with AutoGluon's reason
    versions: dict                 # autogluon, torch, pandas, numpy in its interpreter
    error: str = ""                # why the run failed, if it did


def forecast(python: str, train: pd.DataFrame, h: int, freq: str, preset: str,
             time_limit: float, future: pd.DataFrame | None = None, seed: int = 0,
             covariates: tuple = ()) -> AutoGluonRun:
    """Run AutoGluon-TimeSeries under ``python`` on ``train`` (``unique_id, ds, y`` and the
    known ``covariates``); ``future``: those covariates over the forecast horizon."""
    with tempfile.TemporaryDirectory(prefix="ag_peer_") as tmp:
        folder = Path(tmp)
        train[["unique_id", "ds", "y", *covariates]].to_csv(folder / "train.csv", index=False)
        if covariates:
            future[["unique_id", "ds", *covariates]].to_csv(folder / "future.csv", index=False)
        # AutoGluon's own caches and the model folder stay in the temporary folder; no hub
        # download is tried (pretrained models fail fast and are reported as failed)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(HOME=tmp, XDG_CACHE_HOME=tmp, MPLCONFIGDIR=tmp, HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1")
        command = [python, __file__, "--folder", tmp, "--h", str(h), "--freq", freq,
                   "--preset", preset, "--time-limit", str(time_limit), "--seed", str(seed),
                   "--covariates", *covariates]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=3 * time_limit + 600)
        except subprocess.TimeoutExpired:
            return _failed(start, f"no answer within {3 * time_limit + 600:.0f}s")
        except OSError as err:  # the interpreter is missing or not executable
            return _failed(start, f"cannot run {python!r}: {err}")
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not (folder / "info.json").exists():
            return _failed(start, f"exit {done.returncode}: {done.stderr.strip()[-800:]}")
        info = json.loads((folder / "info.json").read_text())
        fc = None
        if (folder / "forecast.csv").exists():
            fc = pd.read_csv(folder / "forecast.csv", parse_dates=["ds"],
                             dtype={"unique_id": str})
    return AutoGluonRun(fc, seconds, info["fit_seconds"], info["best"], info["models"],
                        info["failed"], info["versions"],
                        "" if fc is not None else "no model finished within the time limit")


def _failed(start: float, why: str) -> AutoGluonRun:
    return AutoGluonRun(None, time.perf_counter() - start, float("nan"), "", [], [], {}, why)


def to_forecast_frame(pred: pd.DataFrame) -> pd.DataFrame:
    """AutoGluon's prediction (index ``item_id, timestamp``, a ``mean`` column) as the
    referee's ``unique_id, ds, yhat`` frame."""
    out = pd.DataFrame(pred["mean"]).reset_index()
    return out.rename(columns={"item_id": "unique_id", "timestamp": "ds", "mean": "yhat"})[
        ["unique_id", "ds", "yhat"]]


def _run(args: argparse.Namespace) -> None:
    """Inside AutoGluon's interpreter."""
    import autogluon.timeseries as agts
    import numpy as np
    import torch
    from autogluon.timeseries import TimeSeriesDataFrame, TimeSeriesPredictor

    folder = Path(args.folder)
    covariates = list(args.covariates)
    train = pd.read_csv(folder / "train.csv", parse_dates=["ds"], dtype={"unique_id": str})
    data = TimeSeriesDataFrame.from_data_frame(train, id_column="unique_id",
                                               timestamp_column="ds").rename(
        columns={"y": "target"})
    known = None
    if covariates:
        future = pd.read_csv(folder / "future.csv", parse_dates=["ds"], dtype={"unique_id": str})
        known = TimeSeriesDataFrame.from_data_frame(future, id_column="unique_id",
                                                    timestamp_column="ds")
    predictor = TimeSeriesPredictor(prediction_length=args.h, freq=args.freq, target="target",
                                    eval_metric="MASE", known_covariates_names=covariates or None,
                                    path=str(folder / "model"), verbosity=2)
    failures = _Failures()
    logging.getLogger("autogluon").addHandler(failures)
    start = time.perf_counter()
    predictor.fit(data, presets=args.preset, time_limit=args.time_limit,
                  random_seed=args.seed)
    fit_seconds = time.perf_counter() - start
    failed = failures.failed + failures.unreached(predictor.model_names())
    info = {"fit_seconds": fit_seconds, "failed": failed, "best": "", "models": [],
            "versions": {"autogluon": agts.__version__, "torch": torch.__version__,
                         "pandas": pd.__version__, "numpy": np.__version__,
                         "python": sys.version.split()[0]}}
    if predictor.model_names():  # none when no model finished within the time limit
        pred = predictor.predict(data, known_covariates=known)
        to_forecast_frame(pred).to_csv(folder / "forecast.csv", index=False)
        board = predictor.leaderboard(silent=True)
        weights = _ensemble_weights(predictor, predictor.model_best)
        # score_val is AutoGluon's validation MASE with its sign flipped (higher is better)
        info.update(best=predictor.model_best + (f" ({weights})" if weights else ""),
                    models=[f"{m} {-v:.4f}" for m, v in zip(board["model"], board["score_val"])])
    (folder / "info.json").write_text(json.dumps(info))


class _Failures(logging.Handler):
    """The models AutoGluon's trainer skipped or failed, with the reason it logged (its
    trainer logs them and goes on; the leaderboard lists only what trained)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.failed: list[str] = []
        self.planned: list[str] = []
        self._pending = ""

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().strip()
        if msg.startswith("Models that will be trained:"):
            self.planned = re.findall(r"'([^']+)'", msg)
        elif "to fail during training" in msg:
            self._pending = msg.split("Exception caused ")[-1].split(" to fail")[0]
        elif self._pending and msg.startswith("Traceback"):
            # the reason without its links (a hub's help pages say nothing the reason doesn't)
            reason = re.sub(r"\s*(at\s+)?\S*https?://\S+", "", msg.splitlines()[-1])[:200]
            self.failed.append(f"{self._pending}: {reason}")
            self._pending = ""
        elif "Skipping" in msg and ("lack of time" in msg or "Time limit exceeded" in msg):
            self.failed.append(msg)

    def unreached(self, trained: list[str]) -> list[str]:
        """The planned models that neither trained nor failed: the time ran out first (its
        trainer stops without saying so)."""
        named = " ".join(self.failed)
        return [f"{m}: not reached within the time limit" for m in self.planned
                if m not in trained and m not in named]


def _ensemble_weights(predictor, name: str) -> str:
    """The chosen ensemble's member weights in words, or '' when the best is one model."""
    try:
        model = predictor._trainer.load_model(name)
        weights = getattr(model, "model_to_weight", None)
    except Exception:  # a private API: the weights are a nicety, not the result
        return ""
    if not weights:
        return ""
    return " + ".join(f"{m} {w:.2f}" for m, w in sorted(weights.items(), key=lambda kv: -kv[1])
                      if w > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description="run by AutoGluon's interpreter; see forecast()")
    parser.add_argument("--folder", required=True)
    parser.add_argument("--h", type=int, required=True)
    parser.add_argument("--freq", required=True)
    parser.add_argument("--preset", choices=PRESETS, required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--covariates", nargs="*", default=[])
    _run(parser.parse_args())


if __name__ == "__main__":
    main()
