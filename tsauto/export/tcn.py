"""The TCN forecaster (``tsauto.learners.tcn``) inside the forecasting contract.

What the learner does in numpy around its network is written as graph ops in float64: each
series' context window (the last ``lookback`` values of ``history``, NaN before its start),
its mean/deviation scaling with the per-series floor (read by ``series_index``), the sin/cos
calendar channels of the context and forecast periods (their grid period numbers derived from
``origin``), the seasonal-naive baseline, and the roll-out when the model's horizon is longer
than the network's.  The network itself comes from ``torch.onnx`` and computes in float32, as
it does in torch.  Past-only and known covariates are not exported (the network reads their
history, which the contract does not carry).
"""

from __future__ import annotations

import io

import numpy as np
import onnx

from tsauto.errors import ExportError
from tsauto.export.graph import DOUBLE, FLOAT, Graph


def _network(learner) -> onnx.ModelProto:
    """The learner's network as an ONNX model: past [N, C, L], future [N, H, F], baseline
    [N, H] (float32) -> quantiles [N, H, Q]."""
    import torch

    net = learner._net(torch.device("cpu"))
    H, L = learner.horizon_, learner.lookback_
    cfg = learner.net_config_
    example = (torch.zeros(2, cfg["past_channels"], L), torch.zeros(2, H, cfg["future_channels"]),
               torch.zeros(2, H))
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(net, example, buffer, input_names=["past", "future", "baseline"],
                          output_names=["quantiles"], opset_version=18, dynamo=False,
                          dynamic_axes={"past": {0: "n"}, "future": {0: "n"},
                                        "baseline": {0: "n"}, "quantiles": {0: "n"}})
    return onnx.load_model_from_string(buffer.getvalue())


class TCNPart:
    """Exports one fitted ``ForecastTCN`` for ``horizon`` steps."""

    float32 = True

    def __init__(self, learner, horizon: int) -> None:
        self.learner, self.horizon = learner, horizon
        self.name = learner.name
        if len(learner.cov_mean_):
            raise ExportError(f"{self.name}: a TCN that reads covariates is not exported (its "
                              f"network reads their history, which the scorer's inputs do not "
                              f"carry); fit it without known and past covariates to export it.")
        self.length = int(learner.lookback_)
        self.feature_names = ["y", "observed"] + [f"{f}{p:g}" for p in learner.periods_
                                                  for f in ("sin", "cos")]

    def _calendar(self, g: Graph, index: str) -> str:
        """[n, T, 2P] sin/cos channels of grid period numbers ``index`` [n, T] (float64)."""
        parts = []
        for p in self.learner.periods_:
            # numpy's mod (the sign of the divisor) on non-negative and negative numbers alike
            frac = g.op("Sub", index, g.op("Mul", g.op("Floor", g.op("Div", index, g.const(p))),
                                           g.const(p)))
            angle = g.op("Div", g.op("Mul", frac, g.const(2 * np.pi)), g.const(p))
            parts += [g.unsqueeze(g.op("Sin", angle), [2]), g.unsqueeze(g.op("Cos", angle), [2])]
        return g.concat(parts, axis=2)

    def build(self, g: Graph, y: str, inputs) -> tuple[str, str | None]:
        from tsauto.export.calendar import origin_unit, origin_values, step_units

        lr = self.learner
        H, L, n_periods = lr.horizon_, lr.lookback_, len(lr.periods_)
        grid = lr.schema_.grid
        floor = g.rows(g.const(lr.floor_), inputs.series_index())
        floor = g.unsqueeze(floor, [1])
        if n_periods:
            # the grid period number of each series' last value, from its origin
            # origin moves step_units per period: anchored at a training series' last period
            # (period 0 may lie out of datetime64's range)
            ref = int(lr.schema_.last_index[0])
            start = int(origin_values(grid, np.array([ref]))[0]) - ref * step_units(grid)
            origin = g.op("Cast", inputs.origin(origin_unit(grid)), to=DOUBLE)
            last = g.op("Div", g.op("Sub", origin, g.const(float(start))),
                        g.const(float(step_units(grid))))
            last = g.unsqueeze(g.op("Round", last), [1])
        net = _network(lr)
        blocks = -(-self.horizon // H)
        m = lr.season_length_ if 1 < lr.season_length_ <= L else 1
        median = lr.quantile_levels_.index(0.5)
        y_ctx, outs = y, []
        for b in range(blocks):
            observed = g.op("Not", g.op("IsNaN", y_ctx))
            mask = g.op("Cast", observed, to=DOUBLE)
            count = g.op("Max", g.op("ReduceSum", mask, g.ints([1]), keepdims=1), g.const(1.0))
            filled = g.op("Where", observed, y_ctx, g.const(0.0))
            loc = g.op("Div", g.op("ReduceSum", filled, g.ints([1]), keepdims=1), count)
            dev = g.op("Where", observed, g.op("Sub", y_ctx, loc), g.const(0.0))
            var = g.op("Div", g.op("ReduceSum", g.op("Mul", dev, dev), g.ints([1]), keepdims=1),
                       count)
            scale = g.op("Max", g.op("Sqrt", var), floor)
            scaled = g.op("Where", observed,
                          g.op("Div", g.op("Sub", y_ctx, loc), scale), g.const(0.0))
            channels = [g.unsqueeze(scaled, [1]), g.unsqueeze(mask, [1])]
            future = None
            if n_periods:
                shift = b * H
                ctx = g.op("Add", last, g.const(np.arange(shift - L + 1, shift + 1, dtype=float)))
                cal = g.op("Mul", self._calendar(g, ctx), g.unsqueeze(mask, [2]))
                channels.append(g.op("Transpose", cal, perm=[0, 2, 1]))
                fut = g.op("Add", last, g.const(np.arange(shift + 1, shift + H + 1, dtype=float)))
                future = self._calendar(g, fut)
            past = g.concat(channels, axis=1)
            baseline = g.cols(scaled, list(L - m + np.arange(H) % m))
            if future is None:  # zero future channels: an empty [n, H, 0] tensor
                future = g.op("Slice", g.unsqueeze(baseline, [2]), g.ints([0]), g.ints([0]),
                              g.ints([2]))
            pred = g.call(net, [g.op("Cast", x, to=FLOAT) for x in (past, future, baseline)])
            pred = g.sort(g.op("Cast", pred, to=DOUBLE), axis=2, size=len(lr.quantile_levels_))
            pred = g.op("Add", g.op("Mul", pred, g.unsqueeze(scale, [2])), g.unsqueeze(loc, [2]))
            outs.append(pred)
            if b + 1 < blocks:  # roll forward: the median as observed
                point = g.reshape(g.op("Gather", pred, g.ints([median]), axis=2), [0, H])
                y_ctx = g.cols(g.concat([y_ctx, point], axis=1), list(range(H, H + L)))
        pred = g.concat(outs, axis=1)
        if blocks * H != self.horizon:
            pred = g.op("Slice", pred, g.ints([0]), g.ints([self.horizon]), g.ints([1]))
        point = g.reshape(g.op("Gather", pred, g.ints([median]), axis=2), [0, self.horizon])
        qs = list(lr.quantiles_)
        if not qs:
            return point, None
        return point, g.op("Gather", pred, g.ints([lr.quantile_levels_.index(q) for q in qs]),
                           axis=2)
