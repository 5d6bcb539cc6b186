"""Backtests: refit a learner at several cutoffs, forecast each horizon, and score the errors
per cutoff, per horizon step and per series, with every metric and interval coverage."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID, TimeSeriesDataset
from tsauto.data.forecast_columns import STEP, central_intervals, quantile_column
from tsauto.data.grouped import offsets, series_codes
from tsauto.errors import SettingsError, check_int
from tsauto.evaluation.metrics import METRICS, Scoring, naive_scale, score
from tsauto.evaluation.scoring import join_actuals, score_forecast, with_steps
from tsauto.evaluation.splits import MIN_TRAIN, held_after, max_windows, rolling_origin, \
    window_rows
from tsauto.learners.base import Forecaster


@dataclass
class Backtest:
    forecasts: pd.DataFrame   # cutoff, series_id, time, step, actual, forecast, quantiles
    by_cutoff: pd.DataFrame   # every metric per cutoff
    by_step: pd.DataFrame     # every metric per horizon step
    by_series: pd.DataFrame   # per-series errors
    overall: dict             # every metric, mean over cutoffs
    # Observed share of actuals inside each central interval of the quantiles, by nominal level.
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame | None = None  # series_id, time, target: what the plots draw behind
    time_column: str = "time"
    quantiles: list = field(default_factory=list)
    model: object | None = None          # the ForecastModel backtested, for its report
    # cutoff, series_id, periods: the series too short to train on at a cutoff, forecast there
    # by the fallback from the periods they had (as the model forecasts such series)
    fallbacks: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["cutoff", SERIES_ID, "periods"]))

    def plot(self, series=None, n_series: int = 4, history: int | None = None):
        """A matplotlib figure of actuals against the forecasts (with quantile bands) at every
        cutoff, for ``series`` (ids) or the worst and best ``n_series`` by MASE."""
        from tsauto.reports.figures import backtest_series_figure

        return backtest_series_figure(self, series, n_series, history)

    def to_html(self, path, title: str = "tsauto backtest"):
        """One self-contained HTML report of this backtest (no network needed to open it)."""
        from tsauto.reports.report import backtest_report

        return backtest_report(self, path, title)


def backtest(learner: Forecaster, ds: TimeSeriesDataset, horizon: int, n_windows: int = 3,
             step: int | None = None, adjust=None, fallback: Forecaster | None = None
             ) -> Backtest:
    """Refit a copy of ``learner`` at each of ``n_windows`` rolling origins (``step`` periods
    apart, default ``horizon``) and score its forecasts of the next ``horizon`` periods.
    ``adjust(forecast, train_frame)``, if given, replaces each cutoff's forecast before it is
    scored (a model's calibrated quantiles, from that cutoff's history).  A series with fewer
    than ``MIN_TRAIN`` periods before a cutoff sits it out, or, given a ``fallback``, is
    forecast there by a copy of it fitted on the periods it has."""
    horizon, n_windows = check_int(horizon, "horizon"), check_int(n_windows, "n_windows")
    step = None if step is None else check_int(step, "step")
    most = max_windows(ds, horizon, step)
    if n_windows > most:
        longest = int(ds.lengths.max())
        held = (f"at most {most} window(s) of horizon {horizon}, step {step or horizon}; use "
                f"n_windows={most} or less, or a smaller step" if most else
                f"no window of horizon {horizon} after {MIN_TRAIN} periods to train on; use a "
                f"horizon of {longest - MIN_TRAIN} or less" if longest > MIN_TRAIN else
                f"no window: a backtest needs more than {MIN_TRAIN} periods")
        raise SettingsError(f"n_windows={n_windows} is too many for this data: the longest "
                            f"series has {longest} periods, which hold {held}.")
    quantiles = list(getattr(learner, "quantiles_", None) or learner.quantiles or [])
    parts, trains, away = [], {}, []
    for fold in rolling_origin(ds, horizon, n_windows, step):
        model = copy.deepcopy(learner).fit(fold.train)
        forecast = model.predict(horizon, future=fold.valid.frame)
        if adjust is not None:
            forecast = adjust(forecast, fold.train.frame)
        cutoff = fold.train.frame[ds.time_column].max()
        parts.append(join_actuals(forecast, fold.valid.frame, ds.time_column, ds.target_column)
                     .assign(cutoff=cutoff))
        trains[cutoff] = fold.train.frame
        short = _short_series(ds, fold, horizon, n_windows, step or horizon)
        if fallback is not None and short is not None:
            train, valid = short
            forecast = copy.deepcopy(fallback).fit(train).predict(horizon,
                                                                   quantiles=quantiles or None)
            parts.append(join_actuals(forecast, valid.frame, ds.time_column, ds.target_column)
                         .assign(cutoff=cutoff))
            trains[cutoff] = pd.concat([fold.train.frame, train.frame], ignore_index=True)
            away.append(pd.DataFrame({"cutoff": cutoff, SERIES_ID: train.series_ids,
                                      "periods": train.lengths}))
    frame = pd.concat(parts, ignore_index=True)
    result = score_backtest(frame, trains, ds, quantiles)
    if away:
        result.fallbacks = pd.concat(away, ignore_index=True)
    return result


def _short_series(ds: TimeSeriesDataset, fold, horizon: int, n_windows: int, step: int
                  ) -> tuple[TimeSeriesDataset, TimeSeriesDataset] | None:
    """The training part and the window of the series that sit ``fold`` out but have a period
    or more before its cutoff (None: no such series)."""
    if not fold.skipped_series:
        return None
    part = ds.only(np.isin(ds.series_ids, fold.skipped_series))
    train, valid = window_rows(part.lengths, held_after(fold.index, n_windows, horizon, step),
                               horizon)
    has_past = np.repeat(np.bincount(series_codes(offsets(part.lengths)), weights=train,
                                     minlength=part.n_series) > 0, part.lengths)
    if not has_past.any():
        return None
    return (part._replace(part.frame[train & has_past]),
            part._replace(part.frame[valid & has_past]))


def score_backtest(frame: pd.DataFrame, trains: dict, ds: TimeSeriesDataset, quantiles
                   ) -> Backtest:
    """Every metric of forecasts against actuals (``frame``: cutoff, series_id, time, step,
    actual, forecast, quantiles) per cutoff, per horizon step and per series; ``trains`` maps a
    cutoff to its training frame (the MASE scales)."""
    season, target = ds.season_length, ds.target_column
    by_cutoff = pd.DataFrame([{"cutoff": c, **score_forecast(rows, trains[c], target, season,
                                                              quantiles)}
                              for c, rows in frame.groupby("cutoff", sort=True)])
    # Per step, MASE scales each row by its own cutoff's training data; the range-normalised
    # metrics of a step use that step's first cutoff.
    scaled = _with_scale(frame, trains, target, season)
    by_step = []
    for s, rows in scaled.groupby(STEP, sort=True):
        scoring = Scoring.of(rows["actual"], rows, rows[SERIES_ID], trains[rows["cutoff"].iloc[0]],
                             target, season, quantiles)
        by_step.append({STEP: s, **score(scoring),
                        "mase": METRICS["mase"].value(scoring.with_scale(rows["scale"]))})
    by_step = pd.DataFrame(by_step)
    overall = {k: float(by_cutoff[k].mean()) for k in by_cutoff.columns if k != "cutoff"}
    history = ds.frame[[SERIES_ID, ds.time_column, target]].copy()
    return Backtest(frame, by_cutoff, by_step, _by_series(scaled, trains, ds, quantiles), overall,
                    _coverage(frame, quantiles), history, ds.time_column, list(quantiles))


def backtest_of_folds(oof: pd.DataFrame, folds: list, ds: TimeSeriesDataset, quantiles
                      ) -> Backtest:
    """The backtest of a search trial from its out-of-fold forecasts (``fold`` column): each
    fold becomes a cutoff, its last training time."""
    cutoffs = {f.index: f.train.frame[ds.time_column].max() for f in folds}
    frame = oof.assign(cutoff=oof["fold"].map(cutoffs))
    frame = with_steps(frame, ds.time_column).drop(columns="fold")
    trains = {cutoffs[f.index]: f.train.frame for f in folds}
    return score_backtest(frame, trains, ds, quantiles)


def _coverage(frame: pd.DataFrame, quantiles) -> pd.DataFrame:
    """Observed coverage of each central interval (q, 1 - q) the quantiles form."""
    rows = []
    for low, high in central_intervals(quantiles):
        inside = (frame["actual"] >= frame[quantile_column(low)]) & \
                 (frame["actual"] <= frame[quantile_column(high)])
        rows.append({"interval": f"{quantile_column(low)}-{quantile_column(high)}",
                     "nominal": round(high - low, 10), "observed": float(inside.mean())})
    return pd.DataFrame(rows, columns=["interval", "nominal", "observed"])


def _with_scale(frame, trains, target, season) -> pd.DataFrame:
    scales = pd.concat([naive_scale(train, target, season).rename("scale").to_frame()
                        .assign(cutoff=c) for c, train in trains.items()])
    scales.index.name = SERIES_ID
    return frame.merge(scales.reset_index(), on=["cutoff", SERIES_ID], how="left")


def _by_series(frame: pd.DataFrame, trains: dict, ds: TimeSeriesDataset, quantiles
               ) -> pd.DataFrame:
    """Per series (sorted by id): the metrics with a per-series form, over every cutoff (each
    row scaled by its own cutoff's training part), and the number of points."""
    first = trains[frame["cutoff"].iloc[0]]
    scoring = Scoring.of(frame["actual"], frame, frame[SERIES_ID], first, ds.target_column,
                         ds.season_length, quantiles).with_scale(frame["scale"])
    ids = pd.Index(scoring.ids, name=SERIES_ID)
    names = ["mae", "mase", "smape", *(["coverage"] if quantiles else []), "rmse"]
    out = pd.DataFrame({name: METRICS[name].per_series(scoring) for name in names}, index=ids)
    out["points"] = np.bincount(scoring.codes, minlength=scoring.n_series)
    return out.reset_index()
