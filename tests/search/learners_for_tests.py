"""Learners injected into searches by the tests: a mean forecaster, one that fails and one that
hangs.  They live in an importable module so worker processes can unpickle them."""

import time

import numpy as np

from tsauto.data.forecast_columns import quantile_column
from tsauto.learners.base import Capabilities, Forecaster
from tsauto.learners.registry import register
from tsauto.learners.space import IntRange


@register
class WindowMean(Forecaster):
    name = "test_window_mean"
    capabilities = Capabilities(cost="low")

    def __init__(self, quantiles=(), window: int = 3):
        super().__init__(quantiles, window=window)
        self.window = window

    @classmethod
    def search_space(cls):
        return {"window": IntRange(1, 12)}

    def _fit(self, train):
        g = train.grouped()
        means, spreads = [], []
        for i in range(len(g)):  # a test learner: a loop over a handful of series is fine
            values = g.values[g.indptr[i]:g.indptr[i + 1]][-self.window:]
            means.append(values.mean())
            spreads.append(values.std() + 1e-9)
        self.means_, self.spreads_ = np.array(means), np.array(spreads)

    def _predict(self, horizon, future):
        codes = future["series_id"].cat.codes.to_numpy()
        future["forecast"] = self.means_[codes]
        for q in self.quantiles_:
            future[quantile_column(q)] = self.means_[codes] + (q - 0.5) * 2 * self.spreads_[codes]
        return future


@register
class Failing(WindowMean):
    name = "test_failing"

    def _fit(self, train):
        raise RuntimeError("this learner always fails.")


@register
class Hanging(WindowMean):
    name = "test_hanging"

    def _fit(self, train):
        time.sleep(3600)


@register
class SlowMean(WindowMean):
    """Takes about half a second per fit: long enough to be killed mid-trial."""

    name = "test_slow_mean"

    def _fit(self, train):
        time.sleep(0.5)
        super()._fit(train)


@register
class SlowBeforeTheSearchWindows(WindowMean):
    """Fits a history of 36 periods or more per series at once (the search's window and the
    refit, on 40-period series with horizon 4) and takes a minute on anything shorter: the
    calibration windows before the search's."""

    name = "test_slow_before_the_search_windows"

    def _fit(self, train):
        if train.frame.groupby("series_id", observed=True).size().max() < 36:
            time.sleep(60)
        super()._fit(train)


@register
class SlowRefit(WindowMean):
    """Fast on validation folds, 6 s on a full history of 40+ points per series: its final
    refit runs out of a short budget."""

    name = "test_slow_refit"

    def _fit(self, train):
        if train.frame.groupby("series_id").size().max() >= 40:
            time.sleep(6)
        super()._fit(train)
