"""Per-series selection against the statistical combination, offline (issue 13, step 3).

    python benchmarks/per_series_selection.py prison

On one collection of ``benchmarks/panel.py``: AutoETS, AutoTheta, AutoCES and AutoARIMA
(statsforecast, 2 processes) are fitted on the training part less its last ``h`` points (the
last validation window, as tsauto's one-window plan validates) and on the whole training part.
Per series, the member (or, in the second variant, the member or the equal-weight combination)
with the best validation MASE is chosen, and its holdout forecast scored by the panel's referee
against the combination's.  Prints the holdout MASE of each and how often each member was
chosen.  Results are recorded in benchmarks/results/accuracy.md.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import panel  # noqa: E402

MEMBERS = ["AutoETS", "AutoTheta", "CES", "AutoARIMA"]


def forecasts(frame: pd.DataFrame, c: panel.Collection) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoCES, AutoETS, AutoTheta

    models = [AutoETS(season_length=c.season), AutoTheta(season_length=c.season),
              AutoCES(season_length=c.season), AutoARIMA(season_length=c.season)]
    out = StatsForecast(models=models, freq=c.freq, n_jobs=2).forecast(df=frame, h=c.h)
    out["Combination"] = out[MEMBERS].mean(axis=1)
    return out


def per_series_mase(pred: pd.DataFrame, actual: pd.DataFrame, train: pd.DataFrame,
                    season: int) -> pd.DataFrame:
    """Series x method MASE (the referee's scale)."""
    merged = actual.merge(pred, on=["unique_id", "ds"])
    scale = panel._scale(train, season)
    errors = merged[MEMBERS + ["Combination"]].sub(merged["y"], axis=0).abs()
    return errors.groupby(merged["unique_id"]).mean().div(scale, axis=0)


def main() -> None:
    warnings.simplefilter("ignore")
    c = panel.load(sys.argv[1] if len(sys.argv) > 1 else "prison")
    train, test = panel.split(c.frame, c.h)
    train = train[["unique_id", "ds", "y"]]
    vtrain, vtest = panel.split(train, c.h)
    start = time.perf_counter()
    valid = per_series_mase(forecasts(vtrain, c), vtest, vtrain, c.season)
    holdout = forecasts(train, c)
    print(f"{c.description}: fits {time.perf_counter() - start:.0f} s")
    for pool in (MEMBERS, MEMBERS + ["Combination"]):
        choice = valid[pool].idxmin(axis=1)
        column = holdout["unique_id"].map(choice).map(pool.index).to_numpy()
        pred = holdout.assign(yhat=holdout[pool].to_numpy()[np.arange(len(holdout)), column])
        print(f"per-series selection among {pool}: holdout MASE "
              f"{panel.score(pred, test, train, c.season)['mase']:.4f}; chosen "
              f"{choice.value_counts().to_dict()}")
    for name in MEMBERS + ["Combination"]:
        mase = panel.score(holdout.assign(yhat=holdout[name]), test, train, c.season)["mase"]
        print(f"{name}: holdout MASE {mase:.4f}, validation MASE {valid[name].mean():.4f}")


if __name__ == "__main__":
    main()
