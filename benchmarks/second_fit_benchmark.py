"""Second-fit benchmark: a forecasting fit after a tabular fit in the same process.

    .venv/bin/python benchmarks/second_fit_benchmark.py [--repeat 2]

The trials' fork server starts once per process.  Before this change it only ever preloaded the
first executor's modules, so a statistical fit that followed a tabular one (a notebook, the
test suite) imported statsforecast in every trial's worker.  This script times, in one fresh
process: a small tabular fit (titanic, one logistic regression trial), then ``--repeat``
forecasting fits of three statistical learners on a seeded 3-series monthly panel (3 trials,
no ensembles, default budget), and each fit's trial seconds.  Writes nothing: paste its output
into benchmarks/results/second_fit.md with the date, versions and machine load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import make_panel  # noqa: E402

from tsauto import AutoML, ClassificationSettings, ForecastSettings, datasets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    AutoML(ClassificationSettings(
        target_column="Survived", max_trials=1, verbosity=0, allowed_models=["logistic_regression"],
        enable_voting_ensemble=False, enable_stack_ensemble=False)).fit(
        datasets.load_frame("titanic").head(200))
    print(f"tabular fit: {time.perf_counter() - start:.1f} s")
    settings = ForecastSettings(time_column="date", target_column="sales", grain_columns=["store"],
                                horizon=6, max_trials=3, verbosity=0,
                                allowed_models=["auto_ets", "seasonal_naive", "auto_theta"],
                                enable_voting_ensemble=False, enable_stack_ensemble=False)
    for i in range(args.repeat):
        start = time.perf_counter()
        run = AutoML(settings).fit(make_panel())
        board = run.leaderboard()
        trials = ", ".join(f"{r.learner} {r.seconds:.1f}" for r in board.itertuples())
        print(f"forecasting fit {i + 1}: {time.perf_counter() - start:.1f} s (trials: {trials})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
