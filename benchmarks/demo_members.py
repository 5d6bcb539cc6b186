"""Diagnosis of the demo (issue 13): what its candidate members and their equal-weight means
score on the demo's holdout, read after the fact.  Nothing in tsauto is chosen by it; it says
how far a target on the demo is from what these members can reach at all.

    .venv/bin/python benchmarks/demo_members.py

The demo's split (aus_retail, the last 132 months of each series, the last 12 held out); each
member fitted once on the training part with its defaults (AutoARIMA approximate, as the plan
spends it), points only; MASE of each and of every mean of 2 to 4 of them, best first.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import panel  # noqa: E402
from automl_benchmark import demo_frame, score  # noqa: E402

from tsauto import TimeSeriesDataset  # noqa: E402
from tsauto.features.spec import FeaturizationSpec  # noqa: E402
from tsauto.learners import registry  # noqa: E402
from tsauto.search.trial import TrialSpec, build_learner  # noqa: E402
from tsauto.tasks.forecasting import ForecastContext  # noqa: E402

MEMBERS = {"AutoTheta": ("auto_theta", {}), "SeasonalNaive": ("seasonal_naive", {}),
           "LightGBM": ("lightgbm", {}),
           "LightGBM differenced": ("lightgbm", {"target_difference": "first"}),
           "AutoETS": ("auto_ets", {}), "AutoCES": ("auto_ces", {}),
           "AutoARIMA": ("auto_arima", {"approximation": True})}


def main() -> None:
    train, test = panel.split(demo_frame(), 12)
    dataset = TimeSeriesDataset(train, time_column="ds", target_column="y",
                                grain_columns=["unique_id"])
    context = ForecastContext(12, (), dataset.season_length, FeaturizationSpec(), 0)
    forecasts = {}
    for label, (name, params) in MEMBERS.items():
        start = time.perf_counter()
        learner = build_learner(TrialSpec(-1, name, params, registry.get(name)), context)
        forecasts[label] = learner.fit(dataset).predict(12).rename(
            columns={"series_id": "unique_id", "forecast": "yhat"})
        print(f"{label}: MASE {score(forecasts[label], test, train, 12)[0]:.4f} "
              f"({time.perf_counter() - start:.1f}s)", flush=True)
    means = []
    for size in (2, 3, 4):
        for combo in itertools.combinations(MEMBERS, size):
            mean = forecasts[combo[0]].assign(yhat=np.mean(
                [forecasts[c]["yhat"].to_numpy() for c in combo], axis=0))
            means.append((score(mean, test, train, 12)[0], " + ".join(combo)))
    for mase, combo in sorted(means)[:15]:
        print(f"{mase:.4f}  {combo}")


if __name__ == "__main__":
    main()
