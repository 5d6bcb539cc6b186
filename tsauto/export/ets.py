"""Exponential smoothing (AutoETS) as an ONNX scorer: the state recursion as a ``Scan`` over
the history.

tsauto forecasts an AutoETS series from new data with its kept fitted model (statsforecast
``forward``): the form, the smoothing parameters and the initial states stay, the states are
filtered again through the values given (``pegelsresid``), ``sigma2`` is recomputed from the
one-step errors, and the forecast and its normal intervals come from the final state.  The
graph does the same for the additive-error forms (A,N,N), (A,A,N), (A,Ad,N), (A,N,A), (A,A,A),
(A,Ad,A), all written as one damped additive recursion over ``[level, trend, m seasons]``:
phi = 1 undamped, beta = 0 and a zero trend without one, gamma = 0 and zero seasons without
one, so that a panel whose series chose different forms is one graph (each series' parameters
gathered by ``series_index``).  Each step is one small matrix product per series (the
innovations form: next state = F x + g e, e = y - w x), so that the Scan's body is six
nodes: onnxruntime's cost per step is mostly per node.  The variance of each step is ``sigma2`` times a factor fixed by
the form and parameters (statsforecast's class-1 formulas, evaluated at export).

Because the recursion starts from the initial states at a series' first value, the history
is each series' whole history (NaN-padded on the left; NaN steps leave the states unchanged),
and its width is free: a history extended by new observations scores as ``forecast(data=...)``.
A constant history is the one exception: statsforecast fits a fresh level model to it, whose
forecast is that value and whose intervals lie within ~1e-6 relative of it; the graph gives
the value, its quantiles collapsed onto it.
Multiplicative error, trend or season forms raise ``ExportError`` naming the form and series.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from tsauto.errors import ExportError, preview
from tsauto.export.graph import DOUBLE, Graph, value_info
from tsauto.export.statistical import normal_quantiles

ADDITIVE = {("A", t, s, d) for t in "NA" for s in "NA" for d in "ND"} - {("A", "N", "N", "D"),
                                                                      ("A", "N", "A", "D")}


class ETSPart:
    """Exports a fitted, prepared ``auto_ets`` learner for ``horizon`` steps."""

    any_length = True  # the Scan runs over however many history columns are given

    def __init__(self, learner, horizon: int) -> None:
        self.learner, self.horizon, self.name = learner, horizon, learner.name
        ids = learner.schema_.series_ids
        fallen = dict(getattr(learner, "fallbacks_", {}) or {})
        forms = getattr(learner, "forms_", None)
        if forms is None:
            raise ExportError(f"{self.name}: the learner keeps no fitted models (prepare() was "
                              f"not run after the final fit); refit the model to export it.")
        missing = [str(ids[i]) for i, f in enumerate(forms) if f is None]
        if fallen or missing:
            raise ExportError(f"{self.name}: series {preview(list(fallen) or missing)} are "
                              f"forecast by its naive fallback, which the graph does not hold; "
                              f"export a model whose series are all long enough for "
                              f"{self.name}.")
        m = max(int(learner.season_length_), 1)
        n, S = len(forms), 2 + m
        self.m = m
        # Innovations form, one row vector per series: x = [level, trend, m seasons (newest
        # first), -error]; a step is z = x @ step + y * gain, where the last column of z is
        # the one-step forecast less the observation (-e) and the others the next state
        # (x F' + e g'; F shifts the seasons and damps the trend, g = alpha, beta, gamma).
        # The simpler forms are this one with phi = 1, beta = 0, gamma = 0 and zero states.
        self.init = np.zeros((n, 1, S + 1))
        self.step = np.zeros((n, S + 1, S + 1))
        self.gain = np.zeros((n, 1, S + 1))
        self.ahead = np.zeros((n, S + 1, horizon))  # final state -> the forecasts
        self.n_params = np.zeros(n)
        self.factor = np.zeros((n, horizon))         # variance of step h / sigma2
        shift = np.zeros((S, S))
        shift[S - 1, 2] = 1.0                        # the oldest season comes round again
        shift[np.arange(2, S - 1), np.arange(3, S)] = 1.0
        for i, form in enumerate(forms):
            fit = form.model_
            comp = tuple(fit["components"][:4])
            if comp not in ADDITIVE:
                form_name = f"{comp[0]},{comp[1]}{'d' if comp[3] == 'D' else ''},{comp[2]}"
                raise ExportError(f"{self.name}: series '{ids[i]}' chose the form ETS("
                                  f"{form_name}), which does not export to ONNX (only additive "
                                  f"error, trend and season forms do); fit auto_ets with "
                                  f"model='AZZ' to export it.")
            trend, season = comp[1] == "A", comp[2] == "A"
            alpha, beta, gamma, phi = fit["par"][:4]
            beta, gamma = (beta if trend else 0.0), (gamma if season else 0.0)
            phi = phi if comp[3] == "D" else 1.0
            state = np.asarray(fit["par"][4:], dtype=float)
            self.init[i, 0, 0] = state[0]
            if trend:
                self.init[i, 0, 1] = state[1]
            if season:
                if int(fit["m"]) != m:
                    raise ExportError(f"{self.name}: series '{ids[i]}' has season {fit['m']}, "
                                      f"not the learner's {m}.")
                self.init[i, 0, 2:S] = state[1 + trend:1 + trend + m]
            w = np.zeros(S)
            w[[0, 1, S - 1]] = 1.0, phi, 1.0          # the one-step forecast
            F = shift.copy()
            F[0, 0], F[1, 0], F[1, 1] = 1.0, phi, phi
            g = np.zeros(S)
            g[:3] = alpha, beta, gamma
            self.step[i, :S, :S] = F - np.outer(w, g)
            self.step[i, :S, S] = w
            self.gain[i, 0, :S], self.gain[i, 0, S] = g, -1.0
            self.ahead[i, 0, :] = 1.0
            self.ahead[i, 1, :] = _trend_multipliers(phi, horizon)
            self.ahead[i, 2 + (m - 1 - np.arange(horizon)) % m, np.arange(horizon)] = 1.0
            self.n_params[i] = fit["n_params"]
            self.factor[i] = _variance_factor(fit, horizon)
        self.length = int(np.diff(learner.indptr_).max())

    def build(self, g: Graph, y: str, inputs) -> tuple[str, str | None]:
        """Point [n, H] and quantiles [n, H, Q] from the history ``y`` [n, L] (any L)."""
        idx = inputs.series_index()
        K = self.step.shape[1]
        step, gain = g.rows(g.const(self.step), idx), g.rows(g.const(self.gain), idx)
        # the recursion, one history column per step; a NaN (padding) leaves the state as is
        body = Graph(prefix="ets_")
        obs = body.reshape("y_t", [-1, 1, 1])
        z = body.op("Add", body.op("MatMul", "x_in", step), body.op("Mul", obs, gain))
        x_out = body.op("Where", body.op("IsNaN", obs), "x_in", z)
        graph = body.subgraph(
            "ets_step", [value_info("x_in", DOUBLE, ["n", 1, K]),
                         value_info("y_t", DOUBLE, ["n"])],
            [value_info(x_out, DOUBLE, ["n", 1, K]), value_info(z, DOUBLE, ["n", 1, K])])
        g.adopt(body)
        final, steps = g.op("Scan", g.rows(g.const(self.init), idx), y, outputs=2, body=graph,
                            num_scan_inputs=1, scan_input_axes=[1])
        point = g.reshape(g.op("MatMul", final, g.rows(g.const(self.ahead), idx)),
                          [0, self.horizon])
        # statsforecast fits a fresh level model to a constant history instead (is_constant):
        # its forecast is that value, its intervals within ~1e-6 relative of it
        missing = g.op("IsNaN", y)
        high = g.op("ReduceMax", g.op("Where", missing, g.const(-np.inf), y), g.ints([1]),
                    keepdims=1)
        low = g.op("ReduceMin", g.op("Where", missing, g.const(np.inf), y), g.ints([1]),
                   keepdims=1)
        constant = g.op("Equal", high, low)
        point = g.op("Where", constant, high, point)
        qs = list(self.learner.quantiles_)
        if not qs:
            return point, None
        # sigma2 = sum of squared one-step errors / (n - n_params - 1), as forward recomputes
        err = g.op("Gather", steps, g.ints([K - 1]), axis=3)              # [L, n, 1, 1]
        sse = g.reshape(g.op("ReduceSum", g.nan_to(g.op("Mul", err, err)), g.ints([0]),
                             keepdims=0), [-1, 1])
        count = g.op("ReduceSum", g.op("Cast", g.op("Not", missing), to=DOUBLE), g.ints([1]),
                     keepdims=1)
        dof = g.op("Sub", g.op("Sub", count, g.unsqueeze(g.rows(g.const(self.n_params), idx),
                                                         [1])), g.const(1.0))
        sigma2 = g.op("Div", sse, dof)
        sigmah = g.op("Where", constant, g.const(0.0),
                      g.op("Sqrt", g.op("Mul", sigma2, g.rows(g.const(self.factor), idx))))
        return point, normal_quantiles(g, point, sigmah, qs)


def _trend_multipliers(phi: float, horizon: int) -> np.ndarray:
    """Each step's multiplier of the final trend in statsforecast's forecast (its own code run
    on a unit trend: its damped sums are not quite phi + ... + phi^h)."""
    from statsforecast.ets import etsforecast, switch

    out = np.zeros(horizon)
    etsforecast(np.array([0.0, 1.0]), 1, switch("A"), switch("N"), phi, horizon, out)
    return out


def _variance_factor(fit: dict, horizon: int) -> np.ndarray:
    """Variance of each step over sigma2, from statsforecast's own class-1 formulas (called
    with sigma2 = 1 and a zero forecast: its upper bound is z * sqrt(factor))."""
    from statsforecast.ets import _compute_pred_intervals

    unit = dict(fit, sigma2=1.0)
    pi = _compute_pred_intervals(unit, {"mean": np.zeros(horizon)}, horizon, [80])
    return (np.asarray(pi["hi-80"]) / norm.ppf(0.9)) ** 2
