"""Calibration variants with the model held fixed (issue 19, fourth pass): one learner per
collection of the public panel, fitted once by ``AutoML`` (one search window, up to 12
calibration windows, no budget); its out-of-fold forecasts are calibrated again under each
variant, on all its windows and on the newest 8 only (what the 90 s panel run afforded on
global_economy), and the held-out last horizon is scored (coverage of the 50/80/95% intervals
and WQL, as in intervals_benchmark.py).

The variants are not in tsauto (none helped, see benchmarks/results/intervals.md): they live
in ``benchmarks/patches/calibration_variants.diff`` (module switches in
tsauto/evaluation/calibration.py).  Run on a scratch copy with the patch applied:

    git apply benchmarks/patches/calibration_variants.diff
    .venv/bin/python benchmarks/calibration_variants_benchmark.py global_economy:auto_ets ...
    git checkout tsauto/evaluation/calibration.py

- as shipped: rows pooled, the newest window's signed scores (its bias included);
- eq-windows: each window weighs the same in a step's quantiles, however many rows it holds;
- newest 3 windows: the shipped quantiles read from at least the newest 3 windows (not only
  the newest that hold 100 paths), so that one period's shock is one of three;
- median-bias all / recent: each window's scores centred on its own median per step (its
  bias, where every window-step holds 20 or more rows); the shipped quantiles are the newest
  windows' centred scores plus the median bias of all windows (all) or of the newest (recent);
- blend quantile / step: per quantile (or per step and quantile), the weight of the calibrated
  quantile against the learner's own (0, 0.1, .. 1) that minimises the windows' WQL; judged
  cross-fitted like the rest (each group's weights from the other groups) and kept only where
  that beats own and calibrated.

Prints one markdown row per collection, window count and variant.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import intervals_benchmark as ib  # noqa: E402
from calibration_windows_benchmark import cells, holdout_scores, replay_fixed  # noqa: E402

import tsauto.evaluation.calibration as calibration  # noqa: E402

NEWEST = 8
SHIPPED = dict(WEIGHT="rows", BIAS="window", BIAS_FROM="all", BLEND="none",
               MIN_QUANTILE_WINDOWS=1)
VARIANTS = {
    "as shipped": SHIPPED,
    "eq-windows": {**SHIPPED, "WEIGHT": "windows"},
    "newest 3 windows": {**SHIPPED, "MIN_QUANTILE_WINDOWS": 3},
    "median-bias all": {**SHIPPED, "BIAS": "median"},
    "median-bias recent": {**SHIPPED, "BIAS": "median", "BIAS_FROM": "recent"},
    "blend quantile": {**SHIPPED, "BLEND": "quantile"},
    "blend step": {**SHIPPED, "BLEND": "step"},
}


def main() -> None:
    if not hasattr(calibration, "BLEND"):
        sys.exit("apply benchmarks/patches/calibration_variants.diff first")
    print("| collection | learner | windows (paths) | variant | kept | 50% | 80% | 95% | WQL | "
          "validation WQL own / calibrated |\n|---|---|---|---|---|---|---|---|---|---|",
          flush=True)

    def switch(switches: dict) -> None:
        for key, value in switches.items():
            setattr(calibration, key, value)

    def replay(c, learner, inputs, own_forecast, model, test):
        oof, folds, context, dataset, added, _ = inputs
        for keep in sorted({len(folds), min(len(folds), NEWEST)}, reverse=True):
            dropped = len(folds) - keep  # the oldest windows left out: a shorter budget's run
            for variant, switches in VARIANTS.items():
                switch(switches)
                cal = calibration.fit_calibration(
                    oof[oof["fold"].isin([f.index for f in folds[dropped:]])], folds[dropped:],
                    context, dataset, added - dropped)
                pred = cal.apply(own_forecast, model.history, ib.QUANTILES) \
                    if cal.replaces else own_forecast
                kept = "own" if not cal.replaces else cal.normaliser + (
                    "" if cal.blend is None else
                    f", weights {cal.blend.mean(axis=0).round(1).tolist()}")
                print(f"| {c.name} | {learner} | {cal.windows} ({cal.paths}) | {variant} | "
                      f"{kept} | {cells(holdout_scores(pred, test))} | "
                      f"{cal.scores['wql_learner']:.4f} / {cal.scores['wql_calibrated']:.4f} |",
                      flush=True)
        switch(SHIPPED)

    switch(SHIPPED)  # the model is fitted as shipped
    replay_fixed(sys.argv[1:], replay)


if __name__ == "__main__":
    main()
