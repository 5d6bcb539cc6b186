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
gathered by ``series_index``).  The variance of each step is ``sigma2`` times a factor fixed by
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
from onnx import helper
from scipy.stats import norm

from tsauto.errors import ExportError, preview
from tsauto.export.graph import DOUBLE, Graph
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
        n = len(forms)
        self.m = m
        self.init = np.zeros((n, 2 + m))        # level, trend, seasons (newest first)
        self.par = np.zeros((n, 4))             # alpha, beta / alpha, gamma, phi
        self.n_params = np.zeros(n)
        self.factor = np.zeros((n, horizon))    # variance of step h / sigma2
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
            # the recursion smooths the trend by beta / alpha (statsforecast's etscalc, as R's)
            self.par[i] = (alpha, beta / alpha if trend else 0.0, gamma if season else 0.0,
                           phi if comp[3] == "D" else 1.0)
            state = np.asarray(fit["par"][4:], dtype=float)
            self.init[i, 0] = state[0]
            if trend:
                self.init[i, 1] = state[1]
            if season:
                if int(fit["m"]) != m:
                    raise ExportError(f"{self.name}: series '{ids[i]}' has season {fit['m']}, "
                                      f"not the learner's {m}.")
                self.init[i, 2:] = state[1 + trend:1 + trend + m]
            self.n_params[i] = fit["n_params"]
            self.factor[i] = _variance_factor(fit, horizon)
        self.phistar = np.stack([_trend_multipliers(phi, horizon) for phi in self.par[:, 3]])
        self.length = int(np.diff(learner.indptr_).max())

    def build(self, g: Graph, y: str, inputs) -> tuple[str, str | None]:
        """Point [n, H] and quantiles [n, H, Q] from the history ``y`` [n, L] (any L)."""
        idx = inputs.series_index()
        m, H = self.m, self.horizon
        par = g.rows(g.const(self.par), idx)
        alpha, beta, gamma, phi = (g.cols(par, [k]) for k in range(4))   # [n, 1] each
        init = g.rows(g.const(self.init), idx)
        level0, trend0, seasons0 = g.cols(init, [0]), g.cols(init, [1]), \
            g.cols(init, list(range(2, 2 + m)))
        zero = g.op("Mul", level0, g.const(0.0))
        # the recursion, one history column per step (statsforecast etscalc, additive forms)
        body = Graph(prefix="ets_")
        names = ["l_in", "b_in", "s_in", "sse_in", "cnt_in", "y_t"]
        b_l, b_b, b_s, b_sse, b_cnt, b_y = names
        obs = body.op("Unsqueeze", b_y, body.ints([1]))                 # [n, 1]
        last = body.cols(b_s, [m - 1])                                  # the season due now
        q = body.op("Add", b_l, body.op("Mul", phi, b_b))
        err = body.op("Sub", obs, body.op("Add", q, last))
        p = body.op("Sub", obs, last)
        level = body.op("Add", q, body.op("Mul", alpha, body.op("Sub", p, q)))
        damped = body.op("Mul", phi, b_b)
        trend = body.op("Add", damped, body.op("Mul", beta, body.op(
            "Sub", body.op("Sub", level, b_l), damped)))
        t = body.op("Sub", obs, q)
        newest = body.op("Add", last, body.op("Mul", gamma, body.op("Sub", t, last)))
        seasons = newest if m == 1 else body.concat(
            [newest, body.cols(b_s, list(range(m - 1)))], axis=1)
        seen = body.op("Not", body.op("IsNaN", obs))                     # padding: no step
        outs = [body.op("Where", seen, level, b_l), body.op("Where", seen, trend, b_b),
                body.op("Where", seen, seasons, b_s),
                body.op("Add", b_sse, body.op("Where", seen, body.op("Mul", err, err),
                                              body.const(0.0))),
                body.op("Add", b_cnt, body.op("Cast", seen, to=DOUBLE))]
        shapes = [["n", 1], ["n", 1], ["n", m], ["n", 1], ["n", 1], ["n"]]
        graph = body.subgraph(
            "ets_step",
            [helper.make_tensor_value_info(nm, DOUBLE, s) for nm, s in zip(names, shapes)],
            [helper.make_tensor_value_info(o, DOUBLE, s) for o, s in zip(outs, shapes[:5])])
        g.adopt(body)
        lev, tr, sea, sse, cnt = g.op("Scan", level0, trend0, seasons0, zero, zero, y,
                                      outputs=5, body=graph, num_scan_inputs=1,
                                      scan_input_axes=[1])
        # forecasts from the final state: level + phistar_h * trend + the season due at h
        point = g.op("Add", g.op("Add", lev, g.op("Mul", tr, g.rows(g.const(self.phistar),
                                                                   idx))),
                     g.cols(sea, [(m - 1 - h) % m for h in range(H)]))
        # statsforecast fits a fresh level model to a constant history instead (is_constant):
        # its forecast is that value, its intervals within ~1e-6 relative of it
        high = g.op("ReduceMax", g.op("Where", g.op("IsNaN", y), g.const(-np.inf), y),
                    g.ints([1]), keepdims=1)
        low = g.op("ReduceMin", g.op("Where", g.op("IsNaN", y), g.const(np.inf), y),
                   g.ints([1]), keepdims=1)
        constant = g.op("Equal", high, low)
        point = g.op("Where", constant, high, point)
        qs = list(self.learner.quantiles_)
        if not qs:
            return point, None
        # sigma2 = sum of squared one-step errors / (n - n_params - 1), as forward recomputes
        dof = g.op("Sub", g.op("Sub", cnt, g.unsqueeze(g.rows(g.const(self.n_params), idx),
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
