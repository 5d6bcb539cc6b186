"""The forecasting scorer: a fitted ``ForecastModel`` as one ONNX graph and its sidecar.

Inputs (only those the model needs are in the graph; the sidecar lists them):

- ``history`` float64 [n_series, L]: each series' last L raw target values, oldest first,
  right-aligned; a shorter series is padded on the left with NaN (where its learner allows);
  exponential smoothing alone reads whole histories, of any width L (new observations);
- ``series_index`` int64 [n_series]: each series' position among the training series (the
  sidecar's ``series_ids``), for learners that keep per-series state (target scaling...);
- ``origin`` int64 [n_series]: the period of each series' last value, for calendar features:
  months since 1970-01 on monthly/quarterly/yearly grids, business days since Monday
  1970-01-05 on business-day grids, seconds since 1970-01-01T00:00 (on the data's own clock)
  on fixed-step grids;
- ``covariates`` float64 [n_series, horizon, k]: the known covariates of the forecast
  periods, in the sidecar's ``known_covariates`` order (NaN where missing: imputed as fitted).

Outputs: ``forecast`` float64 [n_series, horizon] and, when the model has quantiles,
``quantiles`` float64 [n_series, horizon, q] in the sidecar's ``quantiles`` order: calibrated
as ``forecast()`` calibrates them when the model has an interval calibration (the point plus
per-step conformal offsets times each series' normaliser: its MASE scale, a table by
``series_index``, or the spread of the learner's own quantiles, computed in the graph).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from tsauto.errors import ExportError
from tsauto.export.calendar import grid_sidecar, origin_values
from tsauto.export.graph import BOOL, DOUBLE, INT64, Graph, value_info

FORMAT = "tsauto-onnx/1"
SESSION_OPTIONS = {"intra_op_num_threads": 1}


class Inputs:
    """The graph inputs, made when a part first asks for one."""

    def __init__(self, g: Graph, n_series: int, horizon: int) -> None:
        self.g, self.n_series, self.horizon = g, n_series, horizon
        self.made: dict[str, onnx.ValueInfoProto] = {}
        self.known_covariates: list[str] = []
        self.origin_unit: str | None = None
        self._checked_index: str | None = None

    def _add(self, name: str, dtype: int, shape: list) -> str:
        self.made.setdefault(name, value_info(name, dtype, shape))
        return name

    def series_index(self) -> str:
        """The input, with a negative index moved out of bounds: Gather would read it from
        the end, a wrong series without a word; out of bounds, onnxruntime refuses it."""
        if self._checked_index is None:
            index, g = self._add("series_index", INT64, ["n_series"]), self.g
            self._checked_index = g.op("Where", g.op("Less", index, g.ints(0)),
                                       g.ints(self.n_series), index)
        return self._checked_index

    def origin(self, unit: str) -> str:
        if self.origin_unit not in (None, unit):
            raise ExportError(f"the members read the origin in different units ({unit}, "
                              f"{self.origin_unit}); export them separately.")
        self.origin_unit = unit
        return self._add("origin", INT64, ["n_series"])

    def covariates(self, names: list[str]) -> str:
        if self.known_covariates and self.known_covariates != list(names):
            raise ExportError("the members use different known covariates; export them "
                              "separately.")
        self.known_covariates = list(names)
        return self._add("covariates", DOUBLE, ["n_series", self.horizon, len(names)])


def member_parts(learner, horizon: int) -> list[tuple[object, float]]:
    """(part exporter, weight) for a learner or each member of a weighted ensemble."""
    from tsauto.ensemble.weighted import WeightedEnsemble

    if isinstance(learner, WeightedEnsemble):
        parts = []
        for member, weight in zip(learner.members, learner.weights.tolist()):
            parts += [(p, w * weight) for p, w in member_parts(member, horizon)]
        return parts
    return [(part_for(learner, horizon), 1.0)]


def part_for(learner, horizon: int):
    from tsauto.export.ets import ETSPart
    from tsauto.export.pivoted import PivotedPart
    from tsauto.export.statistical import StatisticalPart
    from tsauto.learners.pivoted import PivotedForecaster
    from tsauto.learners.statistical import AutoETS, StatsForecaster
    from tsauto.learners.tcn import ForecastTCN

    if isinstance(learner, ForecastTCN):
        from tsauto.export.tcn import TCNPart

        return TCNPart(learner, horizon)
    if isinstance(learner, AutoETS):
        return ETSPart(learner, horizon)
    if isinstance(learner, StatsForecaster):
        return StatisticalPart(learner, horizon)
    if isinstance(learner, PivotedForecaster):
        return PivotedPart(learner, horizon)
    raise ExportError(f"learner '{learner.name}' ({type(learner).__name__}) cannot be exported "
                      f"to ONNX; exportable: the naive, seasonal naive, window-average and "
                      f"additive exponential smoothing statistical learners, the pivoted learners, the TCN and weighted "
                      f"ensembles of them (docs/onnx.md).")


def forecast_graph(model) -> tuple[onnx.ModelProto, dict]:
    """The ONNX model of a ``ForecastModel`` and its sidecar (a dict)."""
    if model.fallback is not None and model.fallback_series:
        some = list(model.fallback_series)[:5]
        raise ExportError(f"the model's fallback learner (series {some} are forecast by it) is "
                          f"not exported; fit without series too short to validate, or drop "
                          f"them, to export this model.")
    H = int(model.horizon)
    parts = member_parts(model.learner, H)
    L = max(p.length for p, _ in parts)
    # a history of any width when every part reads any (exponential smoothing's recursion):
    # series extended by new observations; else the fixed width L
    free = all(getattr(p, "any_length", False) for p, _ in parts)
    old_trees = any(getattr(p, "writes_old_trees", False) for p, _ in parts)
    for part, _ in parts:
        part.old_trees = old_trees
    n = len(model.schema.series_ids)
    g = Graph()
    inputs = Inputs(g, n, H)
    points, quants = [], []
    for part, weight in parts:
        y = "history" if free or part.length == L else _last_columns(g, part.length)
        point, quant = part.build(g, y, inputs)
        w = g.const(weight)
        points.append(g.op("Mul", point, w))
        if quant is not None:
            # each learner's forecast makes its quantiles monotone (tsauto finish_forecast)
            quants.append(g.op("Mul", g.sort(quant, axis=2, size=len(model.learner.quantiles_)),
                               w))
    point = points[0] if len(points) == 1 else g.op("Sum", *points)
    # a series whose history holds no value has no forecast: NaN, not a learner's default
    all_nan = g.op("ReduceMin", g.op("Cast", g.op("IsNaN", "history"), to=DOUBLE), g.ints([1]))
    has_value = g.op("Not", g.op("Cast", all_nan, to=BOOL))  # [n, 1]
    point = g.op("Where", has_value, point, g.const(np.nan))
    quants = [g.op("Where", g.unsqueeze(has_value, [2]), q, g.const(np.nan)) for q in quants]
    g.op("Identity", point, hint="forecast")
    g.nodes[-1].output[0] = "forecast"
    outputs = [value_info("forecast", DOUBLE, ["n_series", H])]
    quantiles = list(model.learner.quantiles_)
    own = None if not quants else quants[0] if len(quants) == 1 else g.op("Sum", *quants)
    calibration = getattr(model, "calibration", None)
    if calibration is not None and calibration.replaces:  # forecast() gives these instead
        own = (calibrated(g, model, point, own, inputs, "history" if free else None)
               if model.quantiles else None)
        quants, quantiles = ([own] if own else []), list(model.quantiles)
    if quants:
        g.op("Identity", own)
        g.nodes[-1].output[0] = "quantiles"
        outputs.append(value_info("quantiles", DOUBLE, ["n_series", H, len(quantiles)]))
    graph_inputs = [value_info("history", DOUBLE, ["n_series", "history_length" if free else L]),
                    *inputs.made.values()]
    graph = helper.make_graph(g.nodes, "tsauto_forecast", graph_inputs, outputs, g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v)
                                                    for d, v in g.domains.items()],
                              functions=[fn for _, fn in g.functions.values()],
                              producer_name="tsauto")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto, full_check=True)
    float32 = [p.name for p, _ in parts if getattr(p, "float32", False)]
    sidecar = {
        "format": FORMAT,
        "task": "forecasting",
        "inputs": _describe(graph_inputs),
        "outputs": _describe(outputs),
        "history_length": L,
        "horizon": H,
        "frequency": model.schema.grid.freq,
        "time_column": model.schema.time_column,
        "target_column": model.schema.target_column,
        "season_length": int(model.schema.grid.season_length),
        "quantiles": quantiles,
        "calibration": (None if calibration is None or not calibration.replaces
                        else calibration.normaliser),
        "series_ids": [str(s) for s in model.schema.series_ids],
        "origin_unit": inputs.origin_unit,
        "grid": grid_sidecar(model.schema.grid),
        "known_covariates": inputs.known_covariates,
        "learners": [{"name": p.name, "weight": w, "history_length": p.length,
                      "features": getattr(p, "feature_names", [])} for p, w in parts],
        "float32_parts": float32,
        # what the scorer should set: one thread per session (a call's kernels are small; a
        # server runs a session per core instead of one pool over all cores), docs/onnx.md
        "session_options": SESSION_OPTIONS,
        "last_origin": _last_origin(model, inputs.origin_unit),
    }
    return proto, sidecar


def calibrated(g: Graph, model, point: str, own: str | None, inputs: Inputs,
               whole: str | None = None) -> str:
    """[n, H, q]: the model's quantiles as ``IntervalCalibration.apply`` makes them: the point
    plus the per-step offsets (a constant [H, q]) times each series' normaliser.  ``whole``:
    the input that holds each series' whole history, if one does: the scale is computed from
    it, as ``forecast(data=...)`` computes it from new data; else it is the training series'."""
    from tsauto.evaluation.metrics import naive_scale

    cal, H = model.calibration, int(model.horizon)
    offsets = cal.offsets(np.arange(1, H + 1), list(model.quantiles))  # [H, q]
    if cal.normaliser == "spread":  # the gap of two of the learner's own quantiles
        fitted = list(model.learner.quantiles_)
        pick = [next((j for j, q in enumerate(fitted) if np.isclose(q, p)), None)
                for p in cal.spread_pair]
        if own is None or None in pick:
            raise ExportError(f"the calibration reads the spread of the quantiles "
                              f"{list(cal.spread_pair)}, which the learner does not give "
                              f"(it gives {fitted}).")
        gap = g.op("Sub", g.op("Gather", own, g.ints([pick[1]]), axis=2),
                   g.op("Gather", own, g.ints([pick[0]]), axis=2))  # [n, H, 1]
        # no positive gap: no normaliser, an interval of zero width (NaN compares False)
        norm = g.op("Where", g.op("Greater", gap, g.const(0.0)), gap, g.const(0.0))
    elif whole is not None:
        norm = g.unsqueeze(naive_scale_graph(g, whole, cal.season_length), [1, 2])
    else:  # the series' MASE scale of its training history, as forecast() reads it
        scale = naive_scale(model.history, cal.target, cal.season_length)
        table = np.nan_to_num(scale.reindex(model.schema.series_ids).to_numpy(dtype="float64"))
        norm = g.unsqueeze(g.rows(g.const(table), inputs.series_index()), [1, 2])
    return g.op("Add", g.unsqueeze(point, [2]), g.op("Mul", norm, g.const(offsets[None])))


def naive_scale_graph(g: Graph, y: str, season_length: int) -> str:
    """[n]: ``naive_scale`` of each row of ``y`` [n, W] (a series' whole history, NaN before
    its first value), its fallbacks included; 0 where it has none (``apply``'s zero width)."""
    valid = g.op("Not", g.op("IsNaN", y))
    # the series' length: its columns from the first value on
    first = g.op("ArgMax", g.op("Cast", valid, to=INT64), axis=1, keepdims=0)
    width = g.op("Cast", g.op("Shape", y, start=1, end=2), to=INT64)
    length = g.op("Sub", g.op("Squeeze", width, g.ints([0])), first)

    def mean_abs(x: str) -> str:  # NaN-skipping mean of |x| per row (NaN where none)
        ok = g.op("Not", g.op("IsNaN", x))
        total = g.op("ReduceSum", g.op("Where", ok, g.op("Abs", x), g.const(0.0)),
                     g.ints([1]), keepdims=0)
        return g.op("Div", total, g.op("ReduceSum", g.op("Cast", ok, to=DOUBLE), g.ints([1]),
                                       keepdims=0))

    def diff(m: int) -> str:
        end = g.ints([np.iinfo(np.int64).max])
        later = g.op("Slice", y, g.ints([m]), end, g.ints([1]))
        earlier = g.op("Slice", y, g.ints([0]), g.ints([-m]), g.ints([1]))
        return mean_abs(g.op("Sub", later, earlier))

    m = max(int(season_length), 1)
    one = diff(1)
    scale = one if m == 1 else g.op("Where", g.op("Greater", length, g.ints(m)), diff(m), one)
    for fallback in (one, mean_abs(y)):  # NaN compares False: falls back too
        scale = g.op("Where", g.op("Greater", scale, g.const(0.0)), scale, fallback)
    return g.op("Where", g.op("Greater", scale, g.const(0.0)), scale, g.const(0.0))


def _last_columns(g: Graph, length: int) -> str:
    """The last ``length`` columns of the history."""
    return g.op("Slice", "history", g.ints([-length]), g.ints([np.iinfo(np.int64).max]),
                g.ints([1]))


def _describe(values) -> list[dict]:
    out = []
    for v in values:
        t = v.type.tensor_type
        shape = [d.dim_param or d.dim_value for d in t.shape.dim]
        dtype = {INT64: "int64", onnx.TensorProto.STRING: "string"}.get(t.elem_type, "float64")
        out.append({"name": v.name, "dtype": dtype,
                    "shape": shape})
    return out


def _last_origin(model, unit: str | None) -> list[int] | None:
    """Each training series' ``origin`` value, so that a caller can check its own."""
    if unit is None:
        return None
    return origin_values(model.schema.grid, model.schema.last_index).tolist()
