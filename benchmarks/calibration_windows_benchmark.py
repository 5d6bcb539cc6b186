"""Calibration windows, with the model held fixed: one learner per collection of the public
panel (benchmarks/panel.py), fitted by ``AutoML`` with that learner only, one search window
and no time budget, calibrated on the search's window alone (``MAX_CALIBRATION_WINDOWS = 0``,
as before the calibration windows) and on up to 12 more origins (the default; for one or two
series also with the more windows they take now, ``MAX_FEW_SERIES_WINDOWS``); coverage of
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


def holdout_scores(forecast, test) -> dict:
    """Coverage of the 50/80/95% intervals and WQL of ``forecast`` on the held-out ``test``."""
    return ib.interval_scores(forecast.rename(columns={"forecast": "yhat"}), test)


def cells(s: dict) -> str:
    return f"{s['cov50']:.1%} | {s['cov80']:.1%} | {s['cov95']:.1%} | {s['wql']:.4f}"


def replay_fixed(args: list[str], replay) -> None:
    """For each ``collection:learner`` of ``args``: the model of that learner alone, its own
    intervals' row, then ``replay(c, learner, calibration inputs, own forecast, model, test)``
    (the inputs its calibration was fitted from: out-of-fold forecasts, windows, context,
    dataset, added windows, seconds) to calibrate them again."""
    import tsauto.evaluation.calibration as calibration

    captured = []

    def capture(*inputs):
        captured.append(inputs)
        return calibration.fit_calibration(*inputs)

    forecasting.fit_calibration = capture
    for arg in args:
        name, learner = arg.split(":")
        c = panel.load(name)
        train, test = panel.split(c.frame, c.h)
        model = fit_fixed(c, train, learner)
        future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
        own_forecast = model.forecast(future=future, calibrated=False)
        print(f"| {c.name} | {learner} | | learner's own | | "
              f"{cells(holdout_scores(own_forecast, test))} |", flush=True)
        replay(c, learner, captured[-1], own_forecast, model, test)


def main() -> None:
    print("| collection | learner | calibrated on | kept | 50% | 80% | 95% | WQL | own 80% | "
          "own WQL | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    most, few = forecasting.MAX_CALIBRATION_WINDOWS, forecasting.MAX_FEW_SERIES_WINDOWS
    for arg in sys.argv[1:]:
        name, learner = arg.split(":")
        c = panel.load(name)
        train, test = panel.split(c.frame, c.h)
        # none; 12 (what one or two series got before MAX_FEW_SERIES_WINDOWS); as shipped
        settings = [(0, 0), (most, 0), (most, few)] if c.frame["unique_id"].nunique() <= 2 \
            else [(0, 0), (most, few)]
        for windows, few_series in settings:
            forecasting.MAX_CALIBRATION_WINDOWS = windows
            forecasting.MAX_FEW_SERIES_WINDOWS = few_series
            start = time.perf_counter()
            model = fit_fixed(c, train, learner)
            seconds = time.perf_counter() - start
            future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
            cal, own = (holdout_scores(model.forecast(future=future, calibrated=flag), test)
                        for flag in (True, False))
            info = model.calibration  # None: nothing to calibrate on (1 series, 1 window)
            print(f"| {c.name} | {learner} | "
                  + ("none | own" if info is None else
                     f"{info.windows} windows, {info.paths} paths | "
                     f"{'own' if not info.replaces else info.normaliser}")
                  + f" | {cells(cal)} | "
                  f"{own['cov80']:.1%} | {own['wql']:.4f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
