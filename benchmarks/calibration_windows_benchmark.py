"""Calibration windows, with the model held fixed: one learner per collection of the public
panel (benchmarks/panel.py), fitted by ``AutoML`` with that learner only, one search window
and no time budget, calibrated on the search's window alone (``MAX_CALIBRATION_WINDOWS = 0``,
as before the calibration windows) and on up to 12 more origins (the default); coverage of
the 50/80/95% intervals and WQL on the held-out last horizon (as in intervals_benchmark.py).

    .venv/bin/python benchmarks/calibration_windows_benchmark.py prison:auto_theta ...

Prints one markdown row per collection and setting; results go to
benchmarks/results/intervals.md by hand.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import intervals_benchmark as ib  # noqa: E402
import panel  # noqa: E402

import tsauto.tasks.forecasting as forecasting  # noqa: E402
from tsauto import AutoML, ForecastSettings  # noqa: E402


def fit_fixed(c: panel.Collection, train, learner: str):
    """The model of ``learner`` alone on ``train``: one search window, no time budget."""
    return AutoML(ForecastSettings(
        time_column="ds", target_column="y", grain_columns=["unique_id"], horizon=c.h,
        known_covariates=list(c.covariates), quantiles=ib.QUANTILES,
        allowed_models=[learner], max_trials=1, n_cross_validations=1,
        enable_voting_ensemble=False, enable_stack_ensemble=False, verbosity=0,
        time_budget=None)).fit(train).best_model


def main() -> None:
    print("| collection | learner | calibrated on | kept | 50% | 80% | 95% | WQL | own 80% | "
          "own WQL | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for arg in sys.argv[1:]:
        name, learner = arg.split(":")
        c = panel.load(name)
        train, test = panel.split(c.frame, c.h)
        for most in (0, 12):
            forecasting.MAX_CALIBRATION_WINDOWS = most
            start = time.perf_counter()
            model = fit_fixed(c, train, learner)
            seconds = time.perf_counter() - start
            future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
            cal, own = (ib.interval_scores(model.forecast(future=future, calibrated=flag)
                                           .rename(columns={"forecast": "yhat"}), test)
                        for flag in (True, False))
            info = model.calibration
            print(f"| {c.name} | {learner} | {info.windows} windows, {info.paths} paths | "
                  f"{'own' if not info.replaces else info.normaliser} | {cal['cov50']:.1%} | "
                  f"{cal['cov80']:.1%} | {cal['cov95']:.1%} | {cal['wql']:.4f} | "
                  f"{own['cov80']:.1%} | {own['wql']:.4f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
