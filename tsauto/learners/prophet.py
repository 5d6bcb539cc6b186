"""Prophet: one additive (or multiplicative) trend + seasonality + holiday model per series.

Prophet is the one family where per-series fitting is inherent.  Series are fitted in a thread
pool: the optimisation runs in CmdStan's own process, so threads run in parallel without the
cost of starting Python workers (16 monthly series: 0.90 s serial, 0.60 s on 2 threads, 1.65 s
on 2 loky processes on the build machine).  Each fitted model is kept as Prophet's JSON, which
pickles as plain text.

Seasonalities follow the frequency (yearly below a year's step, weekly below a week's, daily
below a day's), each only where the series spans two of its cycles, as Prophet's own 'auto'
decides.  Holidays of ``country_or_region`` (and ``subdivision``) from the ``holidays`` package
are added for daily and finer data; coarser steps cannot place a one-day holiday.  Known
covariates are extra regressors.  Quantiles are empirical quantiles of ``uncertainty_samples``
draws from Prophet's predictive distribution (trend changes + noise), seeded per series; the
point forecast is Prophet's ``yhat``.

A series Prophet cannot fit (fewer than two points, or the fit fails) is forecast by seasonal
naive (naive when shorter than a season) and listed in ``fallbacks_``.
"""

from __future__ import annotations

import copy
import logging
import threading
import zlib
from contextlib import contextmanager

import numpy as np
import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.data.grouped import subset
from tsauto.errors import SettingsError, closest_hint, is_int, preview
from tsauto.learners._stat_common import (
    covariate_matrix,
    levels_for,
    naive_fallback,
    quantile_key,
    resolve_jobs,
    target_arrays,
)
from tsauto.learners.base import Capabilities, Forecaster, training_positions
from tsauto.learners.registry import register
from tsauto.learners.space import Choice, FloatRange

# Prophet samples from numpy's global generator, which predict seeds per series.
_GLOBAL_RNG = threading.Lock()

_DAY = pd.Timedelta(days=1)
# Measured serial fit time per series on the build machine (0.06-0.3 s); sizes the pool.
_SECONDS_PER_SERIES = 0.2
_HOLIDAY_YEARS_AHEAD = 10
_NOISY_LOGGERS = ("cmdstanpy", "prophet", "prophet.plot", "prophet.models")


@contextmanager
def _quiet():
    """Silence Prophet's and CmdStan's INFO chatter (and the 'plotly failed' import message)
    for the duration, then restore the loggers as they were.  Loggers are disabled rather than
    raised in level: cmdstanpy resets its level the first time it logs."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, disabled in zip(loggers, saved):
            lg.disabled = disabled


def _step_days(grid) -> float:
    if grid.kind == "month":
        return 30.44 * grid.step
    if grid.kind == "business":
        return 7 / 5
    return grid.step / _DAY.value


def _seasonalities(step_days: float, span_days: float) -> dict:
    """Prophet's yearly/weekly/daily settings for one series: a Fourier order, or False."""
    per_year = round(365.25 / step_days)
    return {
        # At most per_year / 2 harmonics are visible at this step (10 is Prophet's default).
        "yearly_seasonality": (min(10, per_year // 2)
                               if per_year >= 2 and span_days >= 730 else False),
        "weekly_seasonality": 3 if step_days < 7 and span_days >= 14 else False,
        "daily_seasonality": 4 if step_days < 1 and span_days >= 2 else False,
    }


def _holidays(country: str, subdivision: str | None, first_year: int, last_year: int):
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise SettingsError(f"prophet: country_or_region={country!r} is not known to the "
                            f"'holidays' package.{closest_hint(country, supported)} Use an ISO "
                            f"code such as 'AU', 'US' or 'DE'.")
    if subdivision is not None and subdivision not in supported[country]:
        raise SettingsError(f"prophet: subdivision={subdivision!r} is not a subdivision of "
                            f"{country}.{closest_hint(subdivision, supported[country])} Valid: "
                            f"{preview(supported[country], 20)}.")
    days = holidays.country_holidays(country, subdiv=subdivision,
                                     years=range(first_year, last_year + 1))
    if not days:
        return None
    frame = pd.DataFrame(sorted(days.items()), columns=["ds", "holiday"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame


def _fit_one(config: dict, ds: np.ndarray, y: np.ndarray, X: np.ndarray | None,
             regressors: list[str]) -> tuple[str | None, str | None]:
    """Fit one series; returns (Prophet JSON, None) or (None, why it failed)."""
    from prophet import Prophet
    from prophet.serialize import model_to_json

    try:
        model = Prophet(**config)
        for name in regressors:
            model.add_regressor(name)
        frame = pd.DataFrame({"ds": ds, "y": y})
        if X is not None:
            frame[regressors] = X
        model.fit(frame)
        return model_to_json(model), None
    except Exception as exc:  # noqa: BLE001 - one series failing must not stop the others
        return None, f"Prophet failed: {type(exc).__name__}: {str(exc)[:200]}"


@register
class ProphetForecaster(Forecaster):
    """Prophet per series; see the module docstring."""

    name = "prophet"
    capabilities = Capabilities(known_covariates=True, min_history=2, cost="high")

    context_fields = ("quantiles", "country_or_region", "subdivision", "seed")

    def __init__(self, quantiles=(), country_or_region: str | None = None,
                 subdivision: str | None = None, growth: str = "linear",
                 seasonality_mode: str = "additive", changepoint_prior_scale: float = 0.05,
                 seasonality_prior_scale: float = 10.0, holidays_prior_scale: float = 10.0,
                 changepoint_range: float = 0.8, uncertainty_samples: int = 500, seed: int = 0,
                 n_jobs: int = -1) -> None:
        super().__init__(quantiles, country_or_region=country_or_region, subdivision=subdivision,
                         growth=growth, seasonality_mode=seasonality_mode,
                         changepoint_prior_scale=changepoint_prior_scale,
                         seasonality_prior_scale=seasonality_prior_scale,
                         holidays_prior_scale=holidays_prior_scale,
                         changepoint_range=changepoint_range,
                         uncertainty_samples=uncertainty_samples, seed=seed, n_jobs=n_jobs)

    @classmethod
    def search_space(cls):
        return {"changepoint_prior_scale": FloatRange(0.001, 0.5, log=True),
                "seasonality_prior_scale": FloatRange(0.01, 10.0, log=True),
                "seasonality_mode": Choice(("additive", "multiplicative")),
                "changepoint_range": FloatRange(0.8, 0.95)}

    def _check_params(self) -> None:
        p = self.params
        for name, options in (("growth", ("linear", "flat")),
                              ("seasonality_mode", ("additive", "multiplicative"))):
            if p[name] not in options:
                raise SettingsError(f"prophet: {name}={p[name]!r} is not valid; use one of "
                                    f"{', '.join(options)}.")
        for name in ("changepoint_prior_scale", "seasonality_prior_scale",
                     "holidays_prior_scale"):
            if not float(p[name]) > 0:
                raise SettingsError(f"prophet: {name} must be positive, got {p[name]!r}.")
        if not 0 < float(p["changepoint_range"]) <= 1:
            raise SettingsError(f"prophet: changepoint_range must be in (0, 1], got "
                                f"{p['changepoint_range']!r}.")
        samples = p["uncertainty_samples"]
        if self.quantiles_ and not is_int(samples, minimum=10):
            raise SettingsError(f"prophet: uncertainty_samples must be an integer >= 10 when "
                                f"quantiles are asked for, got {samples!r}.")
        if p["subdivision"] is not None and p["country_or_region"] is None:
            raise SettingsError("prophet: subdivision needs country_or_region as well, e.g. "
                                "country_or_region='AU', subdivision='VIC'.")

    def _fit(self, train: TimeSeriesDataset) -> None:
        self._check_params()
        p = self.params
        values, indptr = target_arrays(train, self.name)
        times = _naive(train.frame[train.time_column])
        regressors = list(train.known_covariates)
        X = covariate_matrix(train.frame, regressors, self.name) if regressors else None
        step_days = _step_days(train.grid)
        self.season_length_ = train.season_length
        self.holidays_ = None
        if p["country_or_region"] is not None and step_days <= 1:
            years = pd.DatetimeIndex(times).year
            self.holidays_ = _holidays(p["country_or_region"], p["subdivision"], int(years.min()),
                                       int(years.max()) + _HOLIDAY_YEARS_AHEAD)
        base = {"growth": p["growth"], "seasonality_mode": p["seasonality_mode"],
                "changepoint_prior_scale": p["changepoint_prior_scale"],
                "seasonality_prior_scale": p["seasonality_prior_scale"],
                "holidays_prior_scale": p["holidays_prior_scale"],
                "changepoint_range": p["changepoint_range"],
                "uncertainty_samples": p["uncertainty_samples"] if self.quantiles_ else 0,
                "holidays": self.holidays_}
        lengths = np.diff(indptr)
        need = self.capabilities.min_history
        tasks, reasons = [], {}
        for i in range(len(lengths)):
            lo, hi = indptr[i], indptr[i + 1]
            if lengths[i] < need:
                reasons[i] = f"too short: prophet needs at least {need} points"
                continue
            span = (times[hi - 1] - times[lo]) / np.timedelta64(1, "D")
            config = {**base, **_seasonalities(step_days, span)}
            tasks.append((i, config, times[lo:hi], values[lo:hi],
                          None if X is None else X[lo:hi]))
        jobs = resolve_jobs(p["n_jobs"], len(tasks), len(tasks) * _SECONDS_PER_SERIES)
        from joblib import Parallel, delayed

        with _quiet():
            import prophet  # noqa: F401 - imported under _quiet for its plotly message

            results = Parallel(n_jobs=jobs, backend="threading")(
                delayed(_fit_one)(config, ds, y, x, regressors)
                for _, config, ds, y, x in tasks)
        self.models_: list[str | None] = [None] * len(lengths)
        for (i, *_), (model, error) in zip(tasks, results):
            self.models_[i] = model
            if error:
                reasons[i] = error
        self.y_, self.indptr_ = values, indptr
        # Why a series has no model; predict adds which fallback forecast it, in fallbacks_.
        self.failures_ = {str(train.series_ids[i]): reasons[i] for i in sorted(reasons)}
        self.fallbacks_ = dict(self.failures_)

    def with_history(self, history: TimeSeriesDataset) -> ProphetForecaster:
        """Prophet's fitted curve (trend, seasonalities, holidays) is a function of time alone,
        with no state to update: from new data it is evaluated at the periods after the new
        history's end; the new values only serve the naive fallback of series without a model
        (too short at training, or not seen then)."""
        other = copy.copy(self)
        other.schema_ = history.schema()
        other.y_, other.indptr_ = target_arrays(history, self.name)
        pos = training_positions(self.schema_, history)
        other.models_ = [self.models_[p] if p >= 0 else None for p in pos]
        ids = history.series_ids
        other.failures_ = {ids[i]: (self.failures_.get(ids[i]) if p >= 0 else
                                    "not seen at training: no fitted model for it")
                           for i, p in enumerate(pos) if other.models_[i] is None}
        return other

    def _predict(self, horizon: int, future: pd.DataFrame) -> pd.DataFrame:
        n = len(self.models_)
        levels = levels_for(self.quantiles_)
        times = _naive(future[self.schema_.time_column]).reshape(n, horizon)
        regressors = list(self.schema_.known_covariates)
        X = (covariate_matrix(future, regressors, self.name).reshape(n, horizon, -1)
             if regressors else None)
        point = np.full((n, horizon), np.nan)
        qs = {q: np.full((n, horizon), np.nan) for q in self.quantiles_}
        # Prophet draws its samples from numpy's global generator: seed it per series, from the
        # series id (a series' forecast does not depend on the others), and restore it after.
        ids = self.schema_.series_ids
        with _GLOBAL_RNG:  # threads serving one model must not interleave their seeds
            self._sample(times, X, regressors, point, qs, ids)
        fallen = np.array([i for i, text in enumerate(self.models_) if text is None], dtype=int)
        if len(fallen):
            out, used = naive_fallback(*subset(self.y_, self.indptr_, fallen), horizon, levels,
                                       self.season_length_)
            point[fallen] = out["mean"]
            for q in self.quantiles_:
                qs[q][fallen] = out[quantile_key(q)]
            fallbacks = {str(key): f"{self.failures_[key]}; forecast with {model}"
                         for key, model in zip(ids[fallen], used)}
        future = future.copy()
        future.attrs["fallbacks"] = fallbacks if len(fallen) else {}
        future[POINT] = point.ravel()
        for q in self.quantiles_:
            future[quantile_column(q)] = qs[q].ravel()
        return future

    def _sample(self, times, X, regressors, point, qs, ids) -> None:
        """Fill ``point`` and ``qs`` from each series' model (numpy's global generator is
        seeded per series and restored after)."""
        from prophet.serialize import model_from_json

        saved = np.random.get_state()
        try:
            with _quiet():
                for i, text in enumerate(self.models_):
                    if text is None:
                        continue
                    model = model_from_json(text)
                    frame = pd.DataFrame({"ds": times[i]})
                    if X is not None:
                        frame[regressors] = X[i]
                    samples = model.uncertainty_samples
                    model.uncertainty_samples = 0  # the point needs no sampling
                    point[i] = model.predict(frame)["yhat"].to_numpy()
                    if self.quantiles_:
                        model.uncertainty_samples = samples
                        np.random.seed((self.params["seed"] + zlib.crc32(str(ids[i]).encode()))
                                       % 2**32)
                        draws = model.predictive_samples(frame)["yhat"]
                        values = np.quantile(draws, self.quantiles_, axis=1)
                        for q, v in zip(self.quantiles_, values):
                            qs[q][i] = v
        finally:
            np.random.set_state(saved)


def _naive(times: pd.Series) -> np.ndarray:
    """Times as naive datetime64 on the user's wall clock (Prophet rejects time zones)."""
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    return times.to_numpy(dtype="datetime64[ns]")
