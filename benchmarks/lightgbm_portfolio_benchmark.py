"""LightGBM's configurations on the validation windows before each collection's holdout
(issue 13): which defaults to try right after LightGBM's own (``portfolio()`` on the learner).

    .venv/bin/python benchmarks/lightgbm_portfolio_benchmark.py [--windows 2] [--only demo prison ...]
        [--configs default diff ...]

Per collection of the public panel (benchmarks/panel.py; ``demo``: aus_retail cut as the demo
is, 132 months, h=12; PBS every 2nd series), the held-out last horizon is dropped and never
read: the configurations are scored on the ``--windows`` rolling-origin windows before it, as
the search would validate them.  Each is fitted with points only; MASE of LightGBM alone and of
its equal-weight mean with AutoTheta (how it enters an ensemble), and seconds per window.
Prints a markdown table; results go to benchmarks/results/accuracy.md by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import panel  # noqa: E402
from automl_benchmark import demo_frame  # noqa: E402

from tsauto import TimeSeriesDataset  # noqa: E402
from tsauto.evaluation.scoring import score_forecast  # noqa: E402
from tsauto.evaluation.splits import rolling_origin  # noqa: E402
from tsauto.features.spec import FeaturizationSpec  # noqa: E402
from tsauto.learners import registry  # noqa: E402
from tsauto.search.trial import TrialSpec, build_learner  # noqa: E402
from tsauto.tasks.forecasting import ForecastContext, score_fold  # noqa: E402

CONFIGS = {
    "default": {},
    "diff": {"target_difference": "first"},
    "robust": {"target_scaler": "robust"},
    "diff+robust": {"target_difference": "first", "target_scaler": "robust"},
    "direct": {"strategy": "direct"},
    # a larger model: twice the trees and leaves of LightGBM's defaults
    "diff+large": {"target_difference": "first", "n_estimators": 600, "num_leaves": 63},
    "diff+large+robust": {"target_difference": "first", "n_estimators": 600, "num_leaves": 63,
                          "target_scaler": "robust"},
}
COLLECTIONS = ("demo", "prison", "global_economy", "tourism", "us_employment", "PBS", "aus_retail")


def training_part(name: str) -> tuple[pd.DataFrame, int]:
    """A collection without its held-out last horizon, and the horizon."""
    if name == "demo":
        return panel.split(demo_frame(), 12)[0], 12
    c = panel.load(name)
    train = panel.split(c.frame, c.h)[0]
    if name == "PBS":  # every 2nd series: the whole collection's LightGBM fits take minutes
        ids = train["unique_id"].drop_duplicates().iloc[::2]
        train = train[train["unique_id"].isin(ids)]
    return train, c.h


def scores(name: str, windows: int, configs: list[str]) -> pd.DataFrame:
    train, h = training_part(name)
    dataset = TimeSeriesDataset(train, time_column="ds", target_column="y",
                                grain_columns=["unique_id"])
    context = ForecastContext(h, (), dataset.season_length, FeaturizationSpec(), 0)
    rows = []
    for fold in rolling_origin(dataset, h, windows, h):
        forecasts = {}
        for config, (learner, params) in {"AutoTheta": ("auto_theta", {}), **{
                k: ("lightgbm", CONFIGS[k]) for k in configs}}.items():
            start = time.perf_counter()
            model = build_learner(TrialSpec(-1, learner, params, registry.get(learner)), context)
            metrics, forecasts[config] = score_fold(model, fold, h, dataset.season_length, ())
            seconds = time.perf_counter() - start
            mean = forecasts["AutoTheta"].assign(forecast=(
                forecasts["AutoTheta"]["forecast"].to_numpy()
                + forecasts[config]["forecast"].to_numpy()) / 2)
            rows.append({"collection": name, "window": fold.index, "config": config,
                         "mase": metrics["mase"], "mean with AutoTheta": score_forecast(
                             mean, fold.train.frame, "y", dataset.season_length, ())["mase"],
                         "seconds": seconds})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=COLLECTIONS, default=list(COLLECTIONS))
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    args = parser.parse_args()
    table = pd.concat([scores(name, args.windows, args.configs) for name in args.only])
    mean = table.groupby(["collection", "config"], sort=False)[
        ["mase", "mean with AutoTheta", "seconds"]].mean().round(4)
    mean = mean.reset_index()
    print("| " + " | ".join(mean.columns) + " |\n|" + "---|" * len(mean.columns))
    for row in mean.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
