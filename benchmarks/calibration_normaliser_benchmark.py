"""The calibration's normaliser and bias, with the model held fixed (issue 19, sixth pass): one
learner per collection of the public panel, fitted by ``AutoML`` at each of ``--origins``
forecast origins (one horizon apart, as ``intervals_benchmark.py --origins``; one search
window, up to 12 calibration windows, no time budget); its out-of-fold forecasts are
calibrated again under each variant, with all the windows and with the search's window alone
(what a short budget affords), and the held-out horizon after each origin is scored (coverage
of the 50/80/95% intervals and WQL), per origin and pooled over the origins.

The variants are not in tsauto (none helped, see benchmarks/results/intervals.md): they live
in ``benchmarks/patches/calibration_normalisers.diff`` (module switches ``NORMALISERS``,
``RECENT_SEASONS``, ``RECENT_MIN`` and ``BIAS`` in tsauto/evaluation/calibration.py).  Run on a
scratch copy with the patch applied:

    git apply benchmarks/patches/calibration_normalisers.diff
    .venv/bin/python benchmarks/calibration_normaliser_benchmark.py --origins 3 \
        prison:auto_theta global_economy:auto_ets aus_retail:seasonal_naive tourism:auto_theta
    git checkout tsauto/evaluation/calibration.py

- before: scale and spread (what tsauto ships), signed scores;
- recent: the series scale over the last ``recent_length`` points of each row's training part
  (3 seasons, at least 12 points; or 4 and 16), as a third candidate or alone: on growing
  series the errors follow the current volatility, which the whole-history scale understates
  the more the longer the history;
- level: each row's normaliser the mean absolute level of its series' last season (errors
  relative to the current level; defined here);
- larger: the larger of the whole-history and the recent scale (defined here), alone or as a
  third candidate;
- mirrored: the scores mirrored around 0 (symmetric intervals: the validation period's bias
  not carried over), where there is one window (with several, signed and mirrored are both
  judged cross-fitted), or always.

Prints markdown rows; results go to benchmarks/results/intervals.md by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import intervals_benchmark as ib  # noqa: E402
import panel  # noqa: E402
from calibration_windows_benchmark import cells, fit_fixed, holdout_scores  # noqa: E402

import tsauto.evaluation.calibration as calibration  # noqa: E402
import tsauto.tasks.forecasting as forecasting  # noqa: E402
from tsauto.data.dataset import SERIES_ID  # noqa: E402


def level_scale(train: pd.DataFrame, target: str, season_length: int) -> pd.Series:
    """Mean absolute level of each series' last season (NaN where it is 0)."""
    from_end = train.groupby(SERIES_ID, sort=False).cumcount(ascending=False).to_numpy()
    last = train[from_end < max(int(season_length), 1)]
    level = last[target].abs().groupby(last[SERIES_ID], sort=False).mean()
    return level.where(level > 0)


def larger_scale(train: pd.DataFrame, target: str, season_length: int) -> pd.Series:
    """The larger of the whole-history and the recent series scale: widens where the recent
    volatility is higher, never narrows where it is lower."""
    whole = calibration.naive_scale(train, target, season_length)
    return pd.concat([whole, calibration.recent_scale(train, target, season_length)
                      .reindex(whole.index)], axis=1).max(axis=1)


PATCHED = ("NORMALISERS", "RECENT_SEASONS", "RECENT_MIN", "BIAS")  # the patch's switches
DEFAULTS: dict = {}  # their values as the patch sets them (read in main)
VARIANTS = {
    "before (scale, spread; signed)": {"NORMALISERS": ("scale", "spread"), "BIAS": "signed"},
    "scale, spread, recent; signed": {"NORMALISERS": ("scale", "spread", "recent"),
                                      "BIAS": "signed"},
    "recent only (3 seasons, >= 12); signed": {"NORMALISERS": ("recent",), "BIAS": "signed"},
    "recent only (4 seasons, >= 16); signed": {"NORMALISERS": ("recent",), "BIAS": "signed",
                                               "RECENT_SEASONS": 4, "RECENT_MIN": 16},
    "level only; signed": {"NORMALISERS": ("level",), "BIAS": "signed"},
    "larger of scale and recent only; signed": {"NORMALISERS": ("larger",), "BIAS": "signed"},
    "scale, spread, larger; signed": {"NORMALISERS": ("scale", "spread", "larger"),
                                      "BIAS": "signed"},
    "scale, spread; mirrored at 1 window": {"NORMALISERS": ("scale", "spread"), "BIAS": "auto"},
    "scale, spread; mirrored always": {"NORMALISERS": ("scale", "spread"),
                                       "BIAS": "symmetric"},
    "scale, spread, recent; mirrored at 1 window": {
        "NORMALISERS": ("scale", "spread", "recent"), "BIAS": "auto"},
}


def median_scores(oof, folds, dataset, model, own, test) -> str:
    """Per normaliser (scale, recent): the median absolute score (error / normaliser) of each
    window, oldest first (``folds`` are in time order: the added windows, then the search's),
    and of the held-out horizon (the model's forecast, normalised from its whole history)."""
    frame = oof.reset_index(drop=True)
    error = (frame["actual"] - frame["forecast"]).to_numpy(dtype="float64")
    held = own.merge(test, on=["unique_id", "ds"])
    out = []
    for name in ("scale", "recent"):
        scale_of = calibration.SCALES[name]
        norm = calibration._row_scales(frame, folds, dataset.target_column,
                                       dataset.season_length, scale_of)
        per = pd.Series(abs(error / norm)).groupby(frame["fold"].to_numpy()).median()
        scale = scale_of(model.history, dataset.target_column, dataset.season_length)
        holdout = (held["y"] - held["forecast"]).abs() / scale.reindex(
            held[SERIES_ID]).to_numpy()
        out.append(f"{name}: windows " + " ".join(f"{per[f.index]:.2f}" for f in folds)
                   + f", holdout {holdout.median():.2f}")
    return "; ".join(out)


def switch(changes: dict) -> None:
    for key, value in {**DEFAULTS, **changes}.items():
        setattr(calibration, key, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", help="collection:learner")
    parser.add_argument("--origins", type=int, default=3)
    parser.add_argument("--scores", action="store_true",
                        help="also print each window's and the holdout's median |score|")
    args = parser.parse_args()
    if not hasattr(calibration, "BIAS"):
        sys.exit("apply benchmarks/patches/calibration_normalisers.diff first")
    DEFAULTS.update({key: getattr(calibration, key) for key in PATCHED})
    calibration.SCALES.update(level=level_scale, larger=larger_scale)
    captured = []

    def capture(*inputs):
        captured.append(inputs)
        return calibration.fit_calibration(*inputs)

    forecasting.fit_calibration = capture
    print("| collection | learner | origin | windows (paths) | variant | kept | 50% | 80% | 95% "
          "| WQL | validation WQL own / calibrated |\n" + "|---" * 11 + "|", flush=True)
    pooled_rows = []
    for pair in args.pairs:
        name, learner = pair.split(":")
        per_variant: dict = {("", "learner's own"): []}
        tests = []
        for i, c in enumerate(ib.origins(panel.load(name), args.origins)):
            train, test = panel.split(c.frame, c.h)
            switch({})
            model = fit_fixed(c, train, learner)
            future = test[["unique_id", "ds", *c.covariates]] if c.covariates else None
            own = model.forecast(future=future, calibrated=False)
            tests.append(test)
            per_variant[("", "learner's own")].append(own)
            print(f"| {c.name} | {learner} | {i} | | learner's own | | "
                  f"{cells(holdout_scores(own, test))} | |", flush=True)
            oof, folds, context, dataset, added, _ = captured[-1]
            if args.scores:
                print(f"median |score| at origin {i}: "
                      f"{median_scores(oof, folds, dataset, model, own, test)}", flush=True)
            for label, keep in (("all", folds), ("search", folds[added:])):
                # "search": the search's window(s) alone, what a short budget affords
                part = oof[oof["fold"].isin([f.index for f in keep])]
                for variant, changes in VARIANTS.items():
                    switch(changes)
                    cal = calibration.fit_calibration(part, keep, context, dataset,
                                                      added if label == "all" else 0)
                    replaces = cal is not None and cal.replaces
                    pred = cal.apply(own, model.history, ib.QUANTILES) if replaces else own
                    per_variant.setdefault((label, variant), []).append(pred)
                    kept = (cal.normaliser + (", mirrored" if cal.symmetric else "")
                            if replaces else "own")
                    judged = ("none" if cal is None else f"{cal.scores['wql_learner']:.4f} / "
                              f"{cal.scores['wql_calibrated']:.4f}")
                    print(f"| {c.name} | {learner} | {i} | "
                          f"{'' if cal is None else f'{cal.windows} ({cal.paths})'} | "
                          f"{variant} | {kept} | {cells(holdout_scores(pred, test))} | "
                          f"{judged} |", flush=True)
            switch({})
        test = pd.concat(tests, ignore_index=True)
        for (label, variant), preds in per_variant.items():
            s = holdout_scores(pd.concat(preds, ignore_index=True), test)
            pooled_rows.append(f"| {name} | {learner} | {label} | {variant} | {cells(s)} |")
        print("\npooled over the origins:\n| collection | learner | windows | variant | 50% | 80% "
              "| 95% | WQL |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(pooled_rows),
              flush=True)


if __name__ == "__main__":
    main()
