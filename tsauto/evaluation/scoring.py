"""Scoring one forecast against its actuals: align the forecast's rows with the actuals by
series and time, then compute every metric.  Trials (each validation fold), backtests (each
cutoff) and ``model.evaluate`` (a user's holdout) all score this way."""

from __future__ import annotations

import pandas as pd

from tsauto.data.dataset import SERIES_ID
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
