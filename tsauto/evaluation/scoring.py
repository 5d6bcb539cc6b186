"""Scoring one forecast against its actuals: align the forecast's rows with the actuals by
series and time, then compute every metric.  Trials (each validation fold), backtests (each
cutoff) and ``model.evaluate`` (a user's holdout) all score this way."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import STEP
from tsauto.evaluation.metrics import evaluate


def join_actuals(forecast: pd.DataFrame, actuals: pd.DataFrame, time_column: str,
                 target: str) -> pd.DataFrame:
    """The forecast rows that have an actual, with it in an ``actual`` column."""
    keys = [SERIES_ID, time_column]
    return forecast.merge(actuals[keys + [target]], on=keys, how="inner") \
        .rename(columns={target: "actual"})


def score_forecast(joined: pd.DataFrame, train: pd.DataFrame, target: str, season_length: int,
                   quantiles) -> dict[str, float]:
    """Every metric of ``joined`` (from ``join_actuals``); ``train`` (series_id, target) is the
    training part that gives the MASE scales and the series' ranges."""
    return evaluate(joined["actual"].to_numpy(), joined, joined[SERIES_ID].to_numpy(), train,
                    target, season_length, quantiles)


def with_steps(oof: pd.DataFrame, time_column: str) -> pd.DataFrame:
    """Out-of-fold forecasts (a ``fold`` column) with their horizon ``step``: ensembles' blends
    keep none, so it is counted within each fold and series (the grid is regular)."""
    if STEP in oof:
        return oof
    frame = oof.sort_values(["fold", SERIES_ID, time_column], kind="stable")
    return frame.assign(**{STEP: frame.groupby(["fold", SERIES_ID], sort=False,
                                               observed=True).cumcount().to_numpy() + 1})


def mean_metrics(fold_metrics: list[dict]) -> dict:
    """Each metric averaged over the folds (NaN folds left out)."""
    return {k: float(np.nanmean([m[k] for m in fold_metrics])) for k in fold_metrics[0]}
