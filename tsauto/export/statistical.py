"""Statistical learners whose forecast is a fixed function of each series' recent history.

The point forecasts of naive, seasonal naive and the window averages are linear in the
history, so each is one MatMul by a constant matrix.  Their quantiles are the ones statsforecast
gives: normal intervals from the residual spread for the naive pair (sigma * sqrt(h), and
sqrt(floor((h-1)/m)+1) seasonally), conformal intervals for the window averages (each of the
last ``conformal_windows`` windows forecast from what precedes it; numpy's linear quantile of
mean +- the absolute errors).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from tsauto.errors import ExportError, preview
from tsauto.export.graph import Graph
from tsauto.learners._stat_common import level_of


class StatisticalPart:
    """Exports one fitted statistical learner for ``horizon`` steps."""

    def __init__(self, learner, horizon: int) -> None:
        self.learner, self.horizon = learner, horizon
        self.name = learner.name
        fallen = dict(getattr(learner, "fallbacks_", {}) or {})
        if fallen:
            raise ExportError(f"{self.name}: series {preview(list(fallen))} are forecast by its "
                              f"naive fallback, which the graph does not hold; export a model "
                              f"whose series are all long enough for {self.name}.")
        self.m = int(learner.season_length_)
        self.lengths = np.diff(learner.indptr_)
        p = learner.params
        if self.name == "naive":
            self.length = int(self.lengths.max())
        elif self.name == "seasonal_naive":
            self.length = int(self.lengths.max())
            self._check_min(self.m + 1)
        elif self.name in ("window_average", "seasonal_window_average"):
            self.window = int(p["window_size"]) * (self.m if "seasonal" in self.name else 1)
            # The conformal windows a series affords depend on its length (as the learner
            # plans them); a fixed-length scorer holds one count, so the series must agree.
            afford = np.minimum(int(p["conformal_windows"]),
                                (self.lengths - self.window) // horizon)
            self.windows = int(afford.min()) if learner.quantiles_ else 0
            if learner.quantiles_ and (afford != self.windows).any():
                more = learner.schema_.series_ids[afford != self.windows]
                raise ExportError(
                    f"{self.name}: its conformal quantiles use {self.windows} windows on some "
                    f"series and more on {preview(more.tolist())} (longer histories); a scorer "
                    f"reads one history length: export a model fitted on series of similar "
                    f"length, or with conformal_windows={self.windows}.")
            self.length = self.window + self.windows * horizon
            self._check_min(self.length)
        else:
            raise ExportError(f"learner '{self.name}' cannot be exported to ONNX (exportable "
                              f"statistical learners: {', '.join(EXPORTABLE)}).")

    def _check_min(self, need: int) -> None:
        short = self.learner.schema_.series_ids[self.lengths < need]
        if len(short):
            raise ExportError(f"{self.name}: series {preview(short.tolist())} have fewer than "
                              f"{need} points, the history its scorer reads.")

    # -- the linear forecasts ------------------------------------------------------------------
    def _weights(self, end: int) -> np.ndarray:
        """(L, H) matrix: the forecast made from the history before column ``end``."""
        L, H, A = self.length, self.horizon, np.zeros((self.length, self.horizon))
        steps = np.arange(H)
        if self.name == "naive":
            A[end - 1, :] = 1.0
        elif self.name == "seasonal_naive":
            A[end - self.m + steps % self.m, steps] = 1.0
        elif self.name == "window_average":
            A[end - self.window:end, :] = 1.0 / self.window
        else:
            k = self.window // self.m
            for j in range(k):
                A[end - self.window + j * self.m + steps % self.m, steps] += 1.0 / k
        assert A.shape == (L, H)
        return A

    def build(self, g: Graph, y: str, inputs=None) -> tuple[str, str | None]:
        """Point [n, H] and quantiles [n, H, Q] (unsorted) from history ``y`` [n, L]."""
        point = g.op("MatMul", g.nan_to(y), g.const(self._weights(self.length)))
        qs = list(self.learner.quantiles_)
        if not qs:
            return point, None
        if self.name in ("naive", "seasonal_naive"):
            return point, self._normal(g, y, point, qs)
        return point, self._conformal(g, y, point, qs)

    def _normal(self, g: Graph, y: str, point: str, qs: list[float]) -> str:
        H, m = self.horizon, (1 if self.name == "naive" else self.m)
        L = self.length
        # residuals y[t] - y[t-m]; NaN where either side is padding (statsforecast's nansum)
        res = g.op("Sub", g.cols(y, list(range(m, L))), g.cols(y, list(range(0, L - m))))
        sq = g.nan_to(g.op("Mul", res, res))
        total = g.op("ReduceSum", sq, g.ints([1]), keepdims=1)
        count = g.op("ReduceSum", g.op("Cast", g.op("Not", g.op("IsNaN", y)), to=11),
                     g.ints([1]), keepdims=1)
        # statsforecast divides by n - 1 (naive) or n - m (seasonal naive); sigma 0 without any
        denom = g.op("Max", g.op("Sub", count, g.const(float(m))), g.const(1.0))
        sigma = g.op("Sqrt", g.op("Div", total, denom))
        steps = np.arange(1, H + 1)
        growth = np.sqrt(steps) if self.name == "naive" else np.sqrt((steps - 1) // m + 1)
        sigmah = g.op("Mul", sigma, g.const(growth))
        return normal_quantiles(g, point, sigmah, qs)

    def _conformal(self, g: Graph, y: str, point: str, qs: list[float]) -> str:
        L, H, W = self.length, self.horizon, self.windows
        # forecasts and actuals of the W calibration windows, side by side: [n, W*H]
        starts = [L - W * H + i * H for i in range(W)]
        weights = np.concatenate([self._weights(s) for s in starts], axis=1)
        fc = g.op("MatMul", y, g.const(weights))
        actual = g.cols(y, [s + h for s in starts for h in range(H)])
        cs = g.reshape(g.op("Abs", g.op("Sub", fc, actual)), [0, W, H])
        mean = g.unsqueeze(point, [1])
        scores = g.concat([g.op("Sub", mean, cs), g.op("Add", mean, cs)], axis=1)  # [n, 2W, H]
        ordered = g.sort(scores, axis=1, size=2 * W)
        outs = []
        for q in qs:
            if q == 0.5:
                outs.append(g.unsqueeze(point, [2]))
                continue
            # statsforecast cuts at alpha/200 and 1 - alpha/200 of the interval's level
            cut = level_of(q)
            cut = (100 - cut) / 200 if q < 0.5 else 1 - (100 - cut) / 200
            value = g.quantile(ordered, cut, 2 * W, axis=1)  # [n, 1, H]
            outs.append(g.op("Transpose", value, perm=[0, 2, 1]))
        return g.concat(outs, axis=2)


def normal_quantiles(g: Graph, point: str, sigmah: str, qs: list[float]) -> str:
    """point + z_q * sigma_h for each quantile, as statsforecast's intervals: [n, H, Q]."""
    z = []
    for q in qs:
        lv = level_of(q)
        zq = 0.0 if q == 0.5 else float(norm.ppf(0.5 + lv / 200))
        z.append(-zq if q < 0.5 else zq)
    spread = g.op("Mul", g.unsqueeze(sigmah, [2]), g.const(np.asarray(z)))
    return g.op("Add", g.unsqueeze(point, [2]), spread)


EXPORTABLE = ("naive", "seasonal_naive", "window_average", "seasonal_window_average",
              "auto_ets (additive forms)")
