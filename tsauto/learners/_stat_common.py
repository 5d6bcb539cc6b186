"""Pieces the statistical, Prophet and TCN learners share.

- running one statsforecast model over many series in one ``StatsForecast.forecast`` call, with
  a guard that turns a failure on one series into NaN for that series alone;
- the seasonal-naive / naive fallback used for series a model cannot handle;
- statsforecast interval levels <-> quantiles;
- the seasonal periods of a time grid;
- the training target as finite per-series arrays.

Heavy libraries are imported inside functions: importing this module stays cheap.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID, TimeSeriesDataset
from tsauto.data.frequency import TimeGrid
from tsauto.data.grouped import position_in_series, series_codes, subset
from tsauto.errors import DataError, SettingsError, is_int, preview

# Below this much estimated serial work a process pool costs more than it saves: starting the
# workers and shipping the data took ~0.1-0.3 s on the 2-core build machine, where Naive on 152
# series ran in 0.41 s with 1 process and 0.48 s with 2 (see docs/learners.md).
PARALLEL_MIN_SECONDS = 2.0


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the host's core count), or its
    share of them in a search worker beside others (``TSAUTO_CORES``, search/executor.py)."""
    share = os.environ.get("TSAUTO_CORES", "")
    if share.isdigit() and int(share) > 0:
        return int(share)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_jobs(n_jobs: int | None, n_tasks: int, estimated_seconds: float) -> int:
    """Workers to use: ``n_jobs`` (-1/None = all cores), but 1 when the work is too small to pay
    for starting workers or when this process may not start any, and never more than there are
    tasks."""
    if n_jobs is not None and not (is_int(n_jobs, minimum=-1) and n_jobs != 0):
        raise SettingsError(f"n_jobs must be -1 (all cores) or a positive integer, got {n_jobs!r}.")
    cores = cpu_count() if n_jobs in (None, -1) else n_jobs
    # A daemonic process (e.g. a Dask worker) may not start processes of its own; a search
    # trial's worker may (search/executor.py).
    if estimated_seconds < PARALLEL_MIN_SECONDS or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(cores, n_tasks))


# -- quantiles <-> statsforecast levels --------------------------------------------------------
def level_of(q: float) -> int | float:
    """The central interval whose bound is quantile ``q``: q=0.1 and q=0.9 are both 80."""
    lv = round(abs(100.0 * (1.0 - 2.0 * q)), 6)
    return int(lv) if lv == int(lv) else lv


def levels_for(quantiles: Sequence[float]) -> list[int | float]:
    return sorted({level_of(q) for q in quantiles if q != 0.5})


def interval_keys(levels: Sequence[int | float]) -> list[str]:
    return ["mean", *[f"lo-{lv}" for lv in levels], *[f"hi-{lv}" for lv in levels]]


def quantile_key(q: float) -> str:
    """Which statsforecast output holds quantile ``q``: lower bounds below the median."""
    if q == 0.5:
        return "mean"
    return f"{'lo' if q < 0.5 else 'hi'}-{level_of(q)}"


# -- seasonal periods --------------------------------------------------------------------------
_DAY_NS = 86_400 * 10**9


def seasonal_periods(grid: TimeGrid) -> list[float]:
    """The grid's seasonal periods in steps, main one first: monthly [12], every 2 months [6],
    quarterly [4], daily [7, 365.25], hourly [24, 168], weekly [52.18]; yearly data has none."""
    if grid.kind == "business":
        return [5.0, 260.9]
    if grid.kind == "month":
        return [12.0 / grid.step] if grid.step < 12 else []
    step = grid.step
    if step == 7 * _DAY_NS:
        return [365.25 / 7]
    if step == _DAY_NS:
        return [7.0, 365.25]
    if step < _DAY_NS and _DAY_NS % step == 0:
        per_day = _DAY_NS // step
        return [float(per_day), float(7 * per_day)]
    return []


# -- training arrays ---------------------------------------------------------------------------
def target_arrays(train: TimeSeriesDataset, learner: str) -> tuple[np.ndarray, np.ndarray]:
    """The target as float64 values + indptr; infinite values are an error naming the series
    (the base class already rejects missing ones)."""
    grouped = train.grouped()
    values = grouped.values
    bad = ~np.isfinite(values)
    if bad.any():
        owner = series_codes(grouped.indptr)[bad]
        series = grouped.series_ids[np.unique(owner)].tolist()
        raise DataError(f"{learner}: the target '{train.target_column}' has {int(bad.sum())} "
                        f"infinite values (series {preview(series)}); replace or drop them.")
    return values, grouped.indptr


def covariate_matrix(frame: pd.DataFrame, columns: Sequence[str], learner: str) -> np.ndarray:
    """Numeric covariates as a float matrix; non-numeric or missing values are errors naming
    the column and series."""
    for col in columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DataError(f"{learner} uses covariate '{col}' as a number, but it holds "
                            f"{frame[col].dtype} values; encode it as numbers first.")
        missing = frame[col].isna()
        if missing.any():
            series = frame.loc[missing, SERIES_ID].unique().tolist()
            raise DataError(f"{learner}: covariate '{col}' has {int(missing.sum())} missing values "
                            f"(series {preview(series)}); fill them first (e.g. interpolate within each "
                            f"series), or use the pivoted learners, which impute them.")
    return frame[list(columns)].to_numpy(dtype="float64")


# -- statsforecast -----------------------------------------------------------------------------
class Guarded:
    """A statsforecast model that never raises.

    A series on which the wrapped model fails, or returns non-finite values, comes back as NaN,
    so that the caller can fall back for that series alone and record why.  statsforecast's own
    ``fallback_model`` would replace such forecasts silently: nobody could tell which series
    were not modelled as asked.  It duck-types statsforecast's model interface (``alias``,
    ``new``, ``forecast``), so this module need not import statsforecast.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.alias = repr(model)
        self.uses_exog = bool(getattr(model, "uses_exog", False))
        self.prediction_intervals = getattr(model, "prediction_intervals", None)

    def new(self) -> Guarded:
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        return other

    def __repr__(self) -> str:
        return self.alias

    def fit(self, y, X=None):
        """Fit the wrapped model; ``model`` is None where it failed (the caller falls back)."""
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                self.model = self.model.new().fit(y=y, X=X)
        except Exception:  # noqa: BLE001 - a failure on one series means: no form for it
            self.model = None
        return self

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        keys = interval_keys(level or [])
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = self.model.forecast(y=y, h=h, X=X, X_future=X_future,
                                          level=list(level) if level else None)
            # A fixed key order: statsforecast lays out columns from each result's key order.
            out = {k: np.asarray(res[k], dtype="float64").reshape(h) for k in keys}
            if all(np.isfinite(v).all() for v in out.values()):
                return out
        except Exception:  # noqa: BLE001 - any failure on one series means: fall back for it
            pass
        return {k: np.full(h, np.nan) for k in keys}


def native_statsforecast(models, n_jobs: int = 1):
    """statsforecast's in-process engine for pandas frames.  Its public ``StatsForecast`` hands
    a frame to its Fugue backend whenever a Fugue engine is current, as it is in a
    many-models partition (a Fugue transform); that backend's schema casts the forecasts to
    float32 (33.8 came back as 33.79999923706055) and adds Fugue's overhead to every call."""
    from statsforecast.core import _StatsForecast

    return _StatsForecast(models=models, freq=1, n_jobs=n_jobs)


def forecast_grouped(model, values: np.ndarray, indptr: np.ndarray, horizon: int,
                     levels: Sequence[int | float], n_jobs: int = 1, X: np.ndarray | None = None,
                     X_future: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Forecast every series of a grouped array with ``model`` in one ``StatsForecast.forecast``
    call.  Returns ``mean``, ``lo-L`` and ``hi-L`` arrays of shape (series, horizon); series
    the model failed on are NaN.  ``X`` holds covariates per training row, ``X_future`` per
    (series, step) row."""
    k = len(indptr) - 1
    lengths = np.diff(indptr)
    # Integer ids and positions with freq=1: no date arithmetic inside statsforecast, and data
    # already sorted the way it sorts.
    df = pd.DataFrame({"unique_id": series_codes(indptr),
                       "ds": position_in_series(indptr),
                       "y": values})
    X_df = None
    if X is not None:
        names = [f"x{j}" for j in range(X.shape[1])]
        df[names] = X
        X_df = pd.DataFrame({"unique_id": np.repeat(np.arange(k), horizon),
                             "ds": np.repeat(lengths, horizon) + np.tile(np.arange(horizon), k)})
        X_df[names] = X_future
    guard = Guarded(model)
    sf = native_statsforecast([guard], n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(h=horizon, df=df, X_df=X_df, level=list(levels) or None)
    out = {}
    for key in interval_keys(levels):
        col = guard.alias if key == "mean" else f"{guard.alias}-{key}"
        out[key] = fc[col].to_numpy(dtype="float64").reshape(k, horizon)
    return out


def seasonal_naive_fits(lengths: np.ndarray, season_length: int) -> np.ndarray:
    """Which series seasonal naive forecasts: those holding a season plus one point (for the
    residuals its intervals come from); naive takes the others."""
    return (np.asarray(lengths) > season_length) & (season_length > 1)


def naive_fallback(values: np.ndarray, indptr: np.ndarray, horizon: int,
                   levels: Sequence[int | float], season_length: int) -> tuple[dict, list[str]]:
    """Seasonal-naive forecasts where a series has a full season, naive ones elsewhere (both with
    their own intervals).  Returns the outputs and the fallback model name per series."""
    from statsforecast.models import Naive, SeasonalNaive

    k = len(indptr) - 1
    lengths = np.diff(indptr)
    out = {key: np.full((k, horizon), np.nan) for key in interval_keys(levels)}
    seasonal = np.flatnonzero(seasonal_naive_fits(lengths, season_length))
    if len(seasonal):
        part = forecast_grouped(SeasonalNaive(season_length=season_length),
                                *subset(values, indptr, seasonal), horizon, levels)
        for key in out:
            out[key][seasonal] = part[key]
    done = np.all([np.isfinite(v).all(axis=1) for v in out.values()], axis=0)
    rest = np.flatnonzero(~done)
    if len(rest):
        part = forecast_grouped(Naive(), *subset(values, indptr, rest), horizon, levels)
        for key in out:
            out[key][rest] = part[key]
    used = np.where(done, "seasonal_naive", "naive").tolist()
    return out, used


def fit_grouped(model, values: np.ndarray, indptr: np.ndarray, n_jobs: int = 1,
                X: np.ndarray | None = None) -> list:
    """The fitted ``model`` of every series (statsforecast ``fit``, processes when ``n_jobs``
    > 1): the learned form and parameters that ``forward_each`` reuses; None where it failed."""
    df = pd.DataFrame({"unique_id": series_codes(indptr),
                       "ds": position_in_series(indptr),
                       "y": values})
    if X is not None:
        df[[f"x{j}" for j in range(X.shape[1])]] = X
    sf = native_statsforecast([Guarded(model)], n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.fit(df)
    return [guard.model for guard in sf.fitted_[:, 0]]


def forward_each(forms: Sequence, values: np.ndarray, indptr: np.ndarray, horizon: int,
                 levels: Sequence[int | float], X: np.ndarray | None = None,
                 X_future: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Forecast series i of a grouped array with ``forms[i]`` applied to it (statsforecast
    ``forward``: the fitted form and parameters, the state filtered through these values; no
    search).  Same outputs as ``forecast_grouped``; NaN where a form fails or gives non-finite
    values.  One call per
    series, as statsforecast itself runs one model per series."""
    k = len(indptr) - 1
    keys = interval_keys(levels)
    out = {key: np.full((k, horizon), np.nan) for key in keys}
    for i, form in enumerate(forms):
        lo, hi = indptr[i], indptr[i + 1]
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = form.forward(y=values[lo:hi], h=horizon,
                                   X=None if X is None else X[lo:hi],
                                   X_future=None if X_future is None
                                   else X_future[i * horizon:(i + 1) * horizon],
                                   level=list(levels) or None)
            got = {key: np.asarray(res[key], dtype="float64").reshape(horizon) for key in keys}
        except Exception:  # noqa: BLE001 - this series falls back, like in forecast_grouped
            continue
        # As in Guarded: non-finite intervals (e.g. a multiplicative model on a few points)
        # fail the whole series, which then falls back.
        if all(np.isfinite(v).all() for v in got.values()):
            for key in keys:
                out[key][i] = got[key]
    return out
