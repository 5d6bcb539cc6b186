"""The choice between a learner's own quantiles and the calibrated ones, with the model held
fixed (issue 19): one learner per collection of the public panel, fitted once by ``AutoML``
(one search window, up to 12 calibration windows, no budget); its out-of-fold forecasts are
calibrated again under each choice rule, on all its windows and on the newest 8 only (what the
90 s panel run afforded on global_economy), and the held-out last horizon is scored (coverage
of the 50/80/95% intervals and WQL, as in intervals_benchmark.py).

The rules are not in tsauto (none helped, see benchmarks/results/intervals.md): they live in
``benchmarks/patches/calibration_choice_rules.diff`` (a module switch ``JUDGE`` in
tsauto/evaluation/calibration.py).  Run on a scratch copy with the patch applied:

    git apply benchmarks/patches/calibration_choice_rules.diff
    .venv/bin/python benchmarks/calibration_choice_benchmark.py global_economy:auto_ets ...
    git checkout tsauto/evaluation/calibration.py

- cross-mean: as shipped: each window's calibrated quantiles are read from the other windows,
  and they replace the learner's own where their WQL averaged over the windows is lower;
- cross-majority: also lower on more than half of the windows;
- sequential-mean / -majority: each window's quantiles are read only from windows whose actuals
  were all known at its origin (the newest of them holding 100 paths, as shipped), so the judge
  replays how the shipped quantiles are used; windows with none before them are not judged;
- shipped-mean: also the shipped quantiles (from the newest windows) must beat the learner's
  own on the older windows they were not read from;
- newest: judged on the newest window alone (the one nearest the forecast origin).

Prints one markdown row per collection, window count and rule.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import intervals_benchmark as ib  # noqa: E402
from calibration_windows_benchmark import cells, holdout_scores, replay_fixed  # noqa: E402

import tsauto.evaluation.calibration as calibration  # noqa: E402

NEWEST = 8
RULES = ("cross-mean", "cross-majority", "sequential-mean", "sequential-majority",
         "shipped-mean", "newest")


def main() -> None:
    if not hasattr(calibration, "JUDGE"):
        sys.exit("apply benchmarks/patches/calibration_choice_rules.diff first")
    calibration.JUDGE = "cross-mean"
    print("| collection | learner | windows (paths) | rule | kept | 50% | 80% | 95% | WQL |\n"
          "|---|---|---|---|---|---|---|---|---|", flush=True)

    def replay(c, learner, inputs, own_forecast, model, test):
        oof, folds, context, dataset, added, _ = inputs
        for keep in sorted({len(folds), min(len(folds), NEWEST)}, reverse=True):
            dropped = len(folds) - keep  # the oldest windows left out: a shorter budget's run
            for rule in RULES:
                calibration.JUDGE = rule
                cal = calibration.fit_calibration(
                    oof[oof["fold"].isin([f.index for f in folds[dropped:]])], folds[dropped:],
                    context, dataset, added - dropped)
                if cal is None:
                    print(f"| {c.name} | {learner} | {keep} | {rule} | no window judged |",
                          flush=True)
                    continue
                pred = cal.apply(own_forecast, model.history, ib.QUANTILES) \
                    if cal.replaces else own_forecast
                print(f"| {c.name} | {learner} | {cal.windows} ({cal.paths}) | {rule} | "
                      f"{'own' if not cal.replaces else cal.normaliser} | "
                      f"{cells(holdout_scores(pred, test))} |", flush=True)
            calibration.JUDGE = "cross-mean"

    replay_fixed(sys.argv[1:], replay)


if __name__ == "__main__":
    main()
