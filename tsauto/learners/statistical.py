"""Statistical forecasters: one statsforecast model per series, vectorised over all series.

Each learner wraps one statsforecast model and runs it over every series in one
``StatsForecast.forecast`` call (processes when the work pays for them).  As in statsforecast's
own ``forecast`` and AutoGluon's local models, the per-series models are fitted when a forecast
is asked for: the horizon is known then, which conformal intervals need, and a search trial
(fit, then forecast once) costs the same.  ``fit`` keeps the training arrays.  After the final
refit, ``prepare`` keeps each series' fitted model (for the models that choose a form per
series: ARIMA, ETS, Theta, CES, MSTL) and the forecast of the model's horizon, so that serving
neither searches nor recomputes; ``predict`` only reads them and so may run in many threads.
``with_history`` forecasts from new data with the kept models (see docs/serving.md).

Quantiles come from the models' prediction intervals: quantile q < 0.5 is the lower bound of
the central interval at level 100(1 - 2q), q > 0.5 the upper bound at 100(2q - 1), and q = 0.5
the point forecast.  Models without intervals of their own (window averages, the Croston
family) get conformal intervals from their errors on the last windows of each series'
history (statsforecast ``ConformalIntervals``).

A series the model cannot forecast (too short, or the model raised or gave non-finite values on
it) is forecast by seasonal naive (naive when shorter than a season) and listed in
the forecast frame's ``attrs["fallbacks"]`` (series id -> reason); ``prepare`` also keeps
those of the final forecast in ``fallbacks_``.
"""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.data.grouped import position_in_series, series_codes, subset
from tsauto.errors import DataError, SettingsError, check_int, is_int, preview
from tsauto.learners._stat_common import (
    covariate_matrix,
    fit_grouped,
    forecast_grouped,
    forward_each,
    interval_keys,
    levels_for,
    naive_fallback,
    native_statsforecast,
    quantile_key,
    resolve_jobs,
    seasonal_periods,
    target_arrays,
)
from tsauto.learners.base import Capabilities, Forecaster, training_positions
from tsauto.learners.registry import register
from tsauto.learners.space import Choice, IntRange

# Why a series not seen at training takes the fallback chain (learners with a learned form).
UNSEEN = "not seen at training: no fitted model for it"


# The seasonal models take the data's season length unless a trial tunes its own.
SEASONAL_CONTEXT = ("quantiles", "season_length")


class StatsForecaster(Forecaster):
    """Base of the statistical learners; subclasses build their statsforecast model."""

    capabilities = Capabilities(cost="low")
    # Imported once by the search's fork server, not in every trial (5-30 s on 2 busy cores).
    preload: ClassVar[tuple[str, ...]] = ("statsforecast.models",)
    native_intervals: ClassVar[bool] = True
    # Intervals are computed at forecast time: any level can be asked then.
    free_quantiles = True
    # Models whose fit chooses a form and estimates parameters per series (a search): prepare
    # keeps them, so that forecasting from new data reuses them instead of searching again.
    learns_form: ClassVar[bool] = False
    # Serial seconds per series of ~120 points, measured on the build machine; only used to
    # decide whether a process pool is worth starting.
    seconds_per_series: ClassVar[float] = 0.002

    # -- model construction (subclasses) -------------------------------------------------------
    def _model(self, season_length: int, horizon: int, levels: list, windows: int):
        """The statsforecast model; ``windows`` is the number of conformal windows (0: none)."""
        raise NotImplementedError

    def _model_min(self) -> tuple[int, str]:
        """Fewest points a series needs for the model itself, and the words for why."""
        return self.capabilities.min_history, f"{self.name} needs at least"

    def _plan(self, horizon: int, levels: list, lengths: np.ndarray):
        """(model or None, series indices, note) groups.  A note is recorded in ``fallbacks_``;
        a group without a model goes straight to the naive fallback."""
        need, why = self._model_min()
        conformal = not self.native_intervals and bool(levels)
        if conformal:
            # Each conformal window is forecast from the history before it, which must itself
            # be long enough for the model; statsforecast takes one window count per call, so
            # series are grouped by how many windows (2 at least) their history affords.
            windows = np.minimum(self.params["conformal_windows"], (lengths - need) // horizon)
            windows = np.where(windows >= 2, windows, -1)
        else:
            windows = np.where(lengths >= need, 0, -1)
        groups = [(self._model(self.season_length_, horizon, levels, int(w)),
                   np.flatnonzero(windows == w), None) for w in np.unique(windows[windows >= 0])]
        short = np.flatnonzero(windows < 0)
        if len(short):
            reason = (f"too short: conformal quantiles need {need + 2 * horizon} points ({why} "
                      f"{need}, plus two windows of the horizon)" if conformal
                      else f"too short: {why} {need} points")
            groups.append((None, short, reason))
        return groups

    def _conformal(self, horizon: int, windows: int):
        """Conformal intervals for models without their own (None when no quantiles)."""
        if windows == 0:
            return None
        from statsforecast.utils import ConformalIntervals

        return ConformalIntervals(h=horizon, n_windows=windows)

    # -- the protocol --------------------------------------------------------------------------
    def _season_length(self, train: TimeSeriesDataset) -> int:
        season = self.params.get("season_length")
        if season is not None and not is_int(season):
            raise SettingsError(f"{self.name}: season_length must be a positive integer or None "
                                f"(from the data's frequency), got {season!r}.")
        return int(season or train.season_length)

    def _fit(self, train: TimeSeriesDataset) -> None:
        for name, minimum in (("window_size", 1), ("conformal_windows", 2)):
            if name in self.params:
                check_int(self.params[name], f"{self.name}: {name}", minimum)
        self.season_length_ = self._season_length(train)
        self.y_, self.indptr_ = target_arrays(train, self.name)
        self.x_ = None
        if self.capabilities.known_covariates and train.known_covariates:
            self.x_ = covariate_matrix(train.frame, train.known_covariates, self.name)
        self.fallbacks_: dict[str, str] = {}
        self._cache = None
        # A refit (a backtest's or the calibration's copy of a prepared model) learns its
        # forms again: the kept ones belong to the series and data of the previous fit.
        for kept in ("forms_", "notes_", "unseen_"):
            self.__dict__.pop(kept, None)

    def prepare(self, horizon: int) -> None:
        """After the final fit: keep each series' fitted model (``learns_form`` models: the
        form and parameters their search chose, reused by ``with_history``) and the forecast
        of ``horizon`` (without known covariates), so that serving never searches again.
        Forms already kept (a learner from ``with_history``) are reused, not searched again:
        the refit of a costly learner re-filters the forms its validation chose."""
        if self.learns_form and getattr(self, "forms_", None) is None:
            lengths = np.diff(self.indptr_)
            self.forms_: list = [None] * len(lengths)
            self.notes_: dict[int, str] = {}
            for model, idx, note in self._plan(horizon, [], lengths):
                if model is None or len(idx) == 0:
                    continue
                X = None if self.x_ is None else subset(self.x_, self.indptr_, idx)[0]
                fitted = fit_grouped(model, *subset(self.y_, self.indptr_, idx),
                                     n_jobs=self._jobs(idx, lengths), X=X)
                for i, form in zip(idx.tolist(), fitted):
                    self.forms_[i] = form
                    if note:
                        self.notes_[i] = note
        if self.x_ is None:
            out, fallbacks, jobs = self._forecast(horizon, None)
            self._cache = ((horizon, tuple(self.quantiles_), None), out, fallbacks, jobs)
            self.fallbacks_ = dict(fallbacks)

    def with_history(self, history: TimeSeriesDataset) -> StatsForecaster:
        """Forecast from new data: a series whose fitted model was kept (``prepare``) is
        forecast by that model run over its new values (statsforecast ``forward``: same form and
        parameters, state filtered again; no search); the models without learned state (naive,
        window averages, Croston...) simply run on the new values; a series not seen at training
        takes the fallback chain where the model has a learned form."""
        other = copy.copy(self)
        other.schema_ = history.schema()
        other.y_, other.indptr_ = target_arrays(history, self.name)
        if self.x_ is not None:
            other.x_ = covariate_matrix(history.frame, history.known_covariates, self.name)
        other._cache = None
        pos = training_positions(self.schema_, history)
        if getattr(self, "forms_", None) is not None:
            other.forms_ = [self.forms_[p] if p >= 0 else None for p in pos]
            other.notes_ = {i: self.notes_[p] for i, p in enumerate(pos) if p in self.notes_}
        other.unseen_ = (pos < 0) & self.learns_form
        return other

    def _predict(self, horizon: int, future: pd.DataFrame) -> pd.DataFrame:
        x_future = None
        if self.x_ is not None:
            x_future = covariate_matrix(future, self.schema_.known_covariates, self.name)
        key = (horizon, tuple(self.quantiles_), None if x_future is None else x_future.tobytes())
        cache = getattr(self, "_cache", None)
        # Read-only: the cache is written by prepare alone, so threads may share this learner.
        if cache is not None and cache[0] == key:
            _, out, fallbacks, jobs = cache
        else:
            out, fallbacks, jobs = self._forecast(horizon, x_future)
        future = future.copy()
        future[POINT] = out["mean"].ravel()
        for q in self.quantiles_:
            future[quantile_column(q)] = out[quantile_key(q)].ravel()
        future.attrs.update(fallbacks=dict(fallbacks), n_jobs=jobs)
        return future

    def _jobs(self, idx: np.ndarray, lengths: np.ndarray) -> int:
        work = len(idx) * self.seconds_per_series * float(lengths[idx].mean()) / 120
        return resolve_jobs(self.params.get("n_jobs", -1), len(idx), work)

    def _forecast(self, horizon: int, x_future: np.ndarray | None):
        """Outputs (mean, lo-L, hi-L arrays), fallback reasons by series id, and the most
        worker processes used.  Writes nothing on ``self``."""
        levels = levels_for(self.quantiles_)
        lengths = np.diff(self.indptr_)
        n = len(lengths)
        out = {k: np.full((n, horizon), np.nan) for k in interval_keys(levels)}
        reasons: dict[int, str] = {}
        n_jobs = 1  # workers of the largest group: what the benchmark compares against
        x_fut = None if x_future is None else x_future.reshape(n, horizon, -1)

        def covariates(idx):
            if self.x_ is None:
                return None, None
            return (subset(self.x_, self.indptr_, idx)[0],
                    x_fut[idx].reshape(len(idx) * horizon, -1))

        def put(idx, part):
            for k in out:
                out[k][idx] = part[k]
            return idx[~np.isfinite(part["mean"]).all(axis=1)]

        forms = getattr(self, "forms_", None)
        formed = (np.flatnonzero([f is not None for f in forms]) if forms is not None
                  else np.array([], dtype=int))
        if len(formed):
            failed = put(formed, forward_each([forms[i] for i in formed],
                                              *subset(self.y_, self.indptr_, formed), horizon,
                                              levels, *covariates(formed)))
            reasons.update(dict.fromkeys(failed.tolist(), f"its fitted {self.name} model "
                                         f"failed on these values"))
            for i, note in self.notes_.items():
                reasons.setdefault(i, note)
        unseen = np.flatnonzero(getattr(self, "unseen_", np.zeros(n, dtype=bool)))
        reasons.update(dict.fromkeys(unseen.tolist(), UNSEEN))
        rest = np.setdiff1d(np.arange(n), np.concatenate([formed, unseen]))
        for model, idx, note in (self._plan(horizon, levels, lengths[rest]) if len(rest) else []):
            idx = rest[idx]
            if len(idx) == 0:
                continue
            if model is None:
                reasons.update(dict.fromkeys(idx.tolist(), note))
                continue
            jobs = self._jobs(idx, lengths)
            n_jobs = max(n_jobs, jobs)
            failed = put(idx, forecast_grouped(model, *subset(self.y_, self.indptr_, idx),
                                               horizon, levels, jobs, *covariates(idx)))
            reasons.update(dict.fromkeys(failed.tolist(), f"{model!r} raised an error or gave "
                                         f"non-finite values on this series"))
            if note:
                for i in np.setdiff1d(idx, failed).tolist():
                    reasons[i] = note
        fallen = np.array(sorted(i for i, r in reasons.items() if np.isnan(out["mean"][i]).any()),
                          dtype=int)
        if len(fallen):
            part, used = naive_fallback(*subset(self.y_, self.indptr_, fallen), horizon, levels,
                                        self.season_length_)
            for k in out:
                out[k][fallen] = part[k]
            for i, model in zip(fallen.tolist(), used):
                reasons[i] = f"{reasons[i]}; forecast with {model}"
        bad = ~np.all([np.isfinite(v).all(axis=1) for v in out.values()], axis=0)
        if bad.any():
            series = self.schema_.series_ids[bad].tolist()
            raise DataError(f"{self.name}: series {preview(series)} could not be forecast even by "
                            f"the naive fallback; check their values.")
        ids = self.schema_.series_ids
        return out, {str(ids[i]): reasons[i] for i in sorted(reasons)}, n_jobs

    # Fitted-model entries worth showing a person (ETS form, ARIMA orders and coefficients...).
    _EXPLAINED = ("components", "arma", "coef", "par", "modeltype", "seasontype",
                  "decomposition_type", "aic", "sigma2")

    def explain(self, max_series: int = 20) -> dict:
        """Parameters, the season used, which series fell back and why, and the fitted model of
        each of the first ``max_series`` series (fitted on demand: statsforecast's ``forecast``
        keeps no models)."""
        out = {"learner": self.name, "params": dict(self.params),
               "season_length": getattr(self, "season_length_", None),
               "fallbacks": dict(getattr(self, "fallbacks_", {})), "fitted": {}}
        if not hasattr(self, "y_") or self.x_ is not None:
            return out
        ids = self.schema_.series_ids
        indptr = self.indptr_[:max_series + 1]
        frame = pd.DataFrame({"unique_id": series_codes(indptr),
                              "ds": position_in_series(indptr),
                              "y": self.y_[: int(indptr[-1])]})
        model = self._model(self.season_length_, 1, [], 0)
        try:
            fitted = native_statsforecast([model]).fit(frame).fitted_
        except Exception as exc:  # noqa: BLE001 - explanation is best effort, never a crash
            out["fitted_error"] = f"{type(exc).__name__}: {exc}"
            return out
        for i in range(len(indptr) - 1):
            state = getattr(fitted[i, 0], "model_", None) or {}
            out["fitted"][str(ids[i])] = {k: _plain(state[k]) for k in self._EXPLAINED
                                          if k in state}
        return out

    # The forecast cache and the fitted models are kept when pickling: a refitted model
    # arrives with its forecast ready and forecasts from new data without a search.


def _plain(value):
    """JSON-friendly copy of a fitted-model entry."""
    if isinstance(value, np.ndarray):
        return value.round(6).tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


# -- the models --------------------------------------------------------------------------------
@register
class AutoARIMA(StatsForecaster):
    """Automatic (seasonal) ARIMA, with known covariates as regressors (regression with ARIMA
    errors) when the data has them."""

    name = "auto_arima"
    context_fields = SEASONAL_CONTEXT
    learns_form = True
    capabilities = Capabilities(known_covariates=True, min_history=2, cost="high")
    seconds_per_series = 1.6

    # approximation: conditional sums of squares while searching the orders, maximum
    # likelihood for the chosen one (R's auto.arima on long series); ~2.5x cheaper
    def __init__(self, quantiles=(), season_length: int | None = None, seasonal: bool = True,
                 max_p: int = 5, max_q: int = 5, stepwise: bool = True,
                 approximation: bool = False, n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_length=season_length, seasonal=seasonal, max_p=max_p,
                         max_q=max_q, stepwise=stepwise, approximation=approximation,
                         n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import AutoARIMA as Model

        p = self.params
        return Model(season_length=season_length, seasonal=p["seasonal"], max_p=p["max_p"],
                     max_q=p["max_q"], stepwise=p["stepwise"],
                     approximation=p.get("approximation", False))

    @classmethod
    def search_space(cls):
        return {"seasonal": Choice((True, False)), "max_p": IntRange(1, 5),
                "max_q": IntRange(1, 5)}


@register
class AutoETS(StatsForecaster):
    """Automatic exponential smoothing (error, trend, season chosen by AICc)."""

    name = "auto_ets"
    context_fields = SEASONAL_CONTEXT
    learns_form = True
    # Only the additive-error forms export (tsauto.export.ets); error "A" rules out
    # multiplicative trend and season too (statsforecast's restrict).
    capabilities = Capabilities(min_history=7, cost="medium", onnx=True)
    seconds_per_series = 0.15

    def __init__(self, quantiles=(), season_length: int | None = None, model: str = "ZZZ",
                 damped: bool | None = None, n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_length=season_length, model=model, damped=damped,
                         n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import AutoETS as Model

        return Model(season_length=season_length, model=self.params["model"],
                     damped=self.params["damped"])

    @classmethod
    def search_space(cls):
        return {"model": Choice(("ZZZ", "ZZN", "AZZ", "AAZ")),
                "damped": Choice((None, True, False))}

    @classmethod
    def exports_onnx(cls, params: dict, settings=None) -> bool:
        return str(params.get("model", "ZZZ")).upper().startswith("A")

    @classmethod
    def onnx_search_space(cls):
        return {**cls.search_space(), "model": Choice(("AZZ", "AAZ"))}

    @classmethod
    def onnx_defaults(cls) -> dict:
        return {"model": "AZZ"}


@register
class AutoTheta(StatsForecaster):
    """Theta models (standard, optimised, dynamic) chosen per series."""

    name = "auto_theta"
    context_fields = SEASONAL_CONTEXT
    learns_form = True
    capabilities = Capabilities(min_history=4, cost="low")
    seconds_per_series = 0.025

    def __init__(self, quantiles=(), season_length: int | None = None,
                 decomposition_type: str = "multiplicative", model: str | None = None,
                 n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_length=season_length,
                         decomposition_type=decomposition_type, model=model, n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import AutoTheta as Model

        return Model(season_length=season_length, model=self.params["model"],
                     decomposition_type=self.params["decomposition_type"])

    @classmethod
    def search_space(cls):
        return {"decomposition_type": Choice(("multiplicative", "additive")),
                "model": Choice((None, "STM", "OTM", "DSTM", "DOTM"))}


@register
class AutoCES(StatsForecaster):
    """Complex exponential smoothing, season type chosen by AIC."""

    name = "auto_ces"
    context_fields = SEASONAL_CONTEXT
    learns_form = True
    capabilities = Capabilities(min_history=3, cost="medium")
    seconds_per_series = 0.1

    def __init__(self, quantiles=(), season_length: int | None = None, model: str = "Z",
                 n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_length=season_length, model=model, n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import AutoCES as Model

        return Model(season_length=season_length, model=self.params["model"])

    @classmethod
    def search_space(cls):
        return {"model": Choice(("Z", "N", "S", "P", "F"))}


@register
class SeasonalNaive(StatsForecaster):
    """The value one season ago: the baseline every model should beat."""

    name = "seasonal_naive"
    context_fields = SEASONAL_CONTEXT
    capabilities = Capabilities(min_history=1, cost="trivial", onnx=True)

    def __init__(self, quantiles=(), season_length: int | None = None, n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_length=season_length, n_jobs=n_jobs)

    def _model_min(self):
        # A full season and one more point, for the residuals its intervals come from.
        return self.season_length_ + 1, "seasonal naive needs a season plus one ="

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import SeasonalNaive as Model

        return Model(season_length=season_length)


@register
class Naive(StatsForecaster):
    """The last value."""

    name = "naive"
    capabilities = Capabilities(min_history=1, cost="trivial", onnx=True)

    def __init__(self, quantiles=(), n_jobs: int = -1) -> None:
        super().__init__(quantiles, n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import Naive as Model

        return Model()


@register
class HistoricAverage(StatsForecaster):
    """The mean of the whole history."""

    name = "historic_average"
    capabilities = Capabilities(min_history=1, cost="trivial")

    def __init__(self, quantiles=(), n_jobs: int = -1) -> None:
        super().__init__(quantiles, n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import HistoricAverage as Model

        return Model()


@register
class WindowAverage(StatsForecaster):
    """The mean of the last ``window_size`` values; conformal quantiles."""

    name = "window_average"
    capabilities = Capabilities(min_history=1, cost="trivial", onnx=True)
    native_intervals = False

    def __init__(self, quantiles=(), window_size: int = 4, conformal_windows: int = 5,
                 n_jobs: int = -1) -> None:
        super().__init__(quantiles, window_size=window_size, conformal_windows=conformal_windows,
                         n_jobs=n_jobs)

    def _model_min(self):
        return max(1, self.params["window_size"]), "window_average needs its window of"

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import WindowAverage as Model

        return Model(window_size=self.params["window_size"],
                     prediction_intervals=self._conformal(horizon, windows))

    @classmethod
    def search_space(cls):
        return {"window_size": IntRange(2, 24)}


@register
class SeasonalWindowAverage(StatsForecaster):
    """For each season position, the mean of its last ``window_size`` seasons; conformal
    quantiles."""

    name = "seasonal_window_average"
    context_fields = SEASONAL_CONTEXT
    capabilities = Capabilities(min_history=2, cost="trivial", seasonal=True, onnx=True)
    native_intervals = False

    def __init__(self, quantiles=(), season_length: int | None = None, window_size: int = 2,
                 conformal_windows: int = 5, n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_length=season_length, window_size=window_size,
                         conformal_windows=conformal_windows, n_jobs=n_jobs)

    def _model_min(self):
        return (max(1, self.params["window_size"]) * self.season_length_,
                f"{self.params['window_size']} seasons need")

    def _model(self, season_length, horizon, levels, windows):
        from statsforecast.models import SeasonalWindowAverage as Model

        return Model(season_length=season_length, window_size=self.params["window_size"],
                     prediction_intervals=self._conformal(horizon, windows))

    @classmethod
    def search_space(cls):
        return {"window_size": IntRange(1, 5)}


class _Intermittent(StatsForecaster):
    """Intermittent-demand models: flat forecasts, conformal quantiles."""

    capabilities = Capabilities(min_history=2, cost="low", intermittent=True)
    native_intervals = False
    model_class: ClassVar[str] = ""

    def __init__(self, quantiles=(), conformal_windows: int = 5, n_jobs: int = -1) -> None:
        super().__init__(quantiles, conformal_windows=conformal_windows, n_jobs=n_jobs)

    def _model(self, season_length, horizon, levels, windows):
        import statsforecast.models as models

        return getattr(models, self.model_class)(
            prediction_intervals=self._conformal(horizon, windows))


@register
class CrostonOptimized(_Intermittent):
    """Croston's method with optimised smoothing of demand sizes and intervals."""

    name = "croston_optimized"
    model_class = "CrostonOptimized"


@register
class ADIDA(_Intermittent):
    """Aggregate-disaggregate intermittent demand approach."""

    name = "adida"
    model_class = "ADIDA"


@register
class IMAPA(_Intermittent):
    """Intermittent multiple aggregation prediction algorithm."""

    name = "imapa"
    model_class = "IMAPA"


_TRENDS = ("auto_ets", "auto_theta", "auto_arima")


@register
class MSTL(StatsForecaster):
    """Multiple seasonal-trend decomposition (LOESS): each seasonality repeats, the rest is
    forecast by a non-seasonal trend model.  Seasonal periods come from the frequency (daily:
    7 and 365, hourly: 24 and 168, ...), each used where the series holds two of its cycles;
    a series holding none gets the trend model alone (recorded in ``fallbacks_``).  The
    parameter is ``season_lengths`` (plural), so that a search handing every learner the data's
    main ``season_length`` does not reduce MSTL to one period."""

    name = "mstl"
    learns_form = True
    capabilities = Capabilities(min_history=7, cost="medium", seasonal=True)
    seconds_per_series = 0.2

    def __init__(self, quantiles=(), season_lengths: list[int] | None = None,
                 trend_forecaster: str = "auto_ets", n_jobs: int = -1) -> None:
        super().__init__(quantiles, season_lengths=season_lengths,
                         trend_forecaster=trend_forecaster, n_jobs=n_jobs)

    def _season_length(self, train: TimeSeriesDataset) -> int:
        trend = self.params["trend_forecaster"]
        if trend not in _TRENDS:
            raise SettingsError(f"mstl: trend_forecaster={trend!r} is not valid; use one of "
                                f"{', '.join(_TRENDS)}.")
        given = self.params["season_lengths"]
        periods = list(given) if isinstance(given, (list, tuple)) else [given] if given else None
        if periods is not None and not all(is_int(p, minimum=2) for p in periods):
            raise SettingsError(f"mstl: season_lengths must be an integer > 1, a list of them or "
                                f"None (from the data's frequency), got {given!r}.")
        if periods is None:
            periods = [int(round(p)) for p in seasonal_periods(train.grid)]
        self.periods_ = sorted({p for p in periods if p > 1})
        # The naive fallback uses the shortest period.
        return self.periods_[0] if self.periods_ else 1

    def _trend(self):
        import statsforecast.models as models

        return {"auto_ets": lambda: models.AutoETS(model="ZZN"),
                "auto_theta": lambda: models.AutoTheta(season_length=1),
                "auto_arima": lambda: models.AutoARIMA(season_length=1, seasonal=False),
                }[self.params["trend_forecaster"]]()

    def _plan(self, horizon, levels, lengths):
        from statsforecast.models import MSTL as Model

        need = self.capabilities.min_history
        # STL needs two full cycles of a period; each series keeps the periods it can afford.
        usable = [tuple(p for p in self.periods_ if n >= 2 * p) for n in lengths]
        groups = []
        for periods in sorted(set(usable)):
            idx = np.flatnonzero([u == periods for u in usable])
            idx_ok, idx_short = idx[lengths[idx] >= need], idx[lengths[idx] < need]
            if periods:
                groups.append((Model(season_length=list(periods), trend_forecaster=self._trend()),
                               idx_ok, None))
            else:
                note = ("no seasonal period fits twice in the series"
                        if self.periods_ else "the frequency has no seasonal period")
                groups.append((self._trend(), idx_ok, f"{note}; trend model alone"))
            if len(idx_short):
                groups.append((None, idx_short, f"too short: mstl needs at least {need} points"))
        return groups

    @classmethod
    def search_space(cls):
        return {"trend_forecaster": Choice(_TRENDS)}
