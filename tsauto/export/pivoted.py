"""Pivoted learners: the featurization, the regressor and the target transform in one graph.

``FeatureGraph`` writes a fitted ``Featurizer`` (read through its declarative parts: target
lags, rolling and seasonal windows, calendar, known covariates, static features, the series id,
the per-series target transform) as ONNX ops over each series' transformed history.  The
recursive strategy is a ``Loop`` over the horizon (fixed at export): each iteration builds one
row per series, scores it and writes the prediction into the history the next step's lags
read, as ``PivotedForecaster`` feeds its predictions back.  (Unrolled, the twelve copies of a
200-tree ensemble each ran cold: 1-series latency 17 ms against 0.8 ms in the loop; and the
row is a few matrix products, since onnxruntime spends microseconds per node.)  The direct
strategies score all (series, step) rows at once.

Regressors come from tsauto's LightGBM converter and skl2onnx (scikit-learn); a recursive
linear model is no converter's graph but one dot product per step (``linear_coefficients``:
its scaler folded in), its non-target terms computed once before the Loop.  LightGBM's converter
writes float32 trees: features are cast to float32 and the sum of leaves is float32, so those
forecasts agree with ``forecast()`` to about 1e-6 of the series' scale (docs/onnx.md).
"""

from __future__ import annotations

import numpy as np

from tsauto.data.dataset import SERIES_ID
from tsauto.errors import ExportError
from tsauto.export.calendar import calendar_block, origin_unit
from tsauto.export.graph import BOOL, DOUBLE, INT64, ML_OPSET, OPSET, Graph, value_info
from tsauto.data.forecast_columns import STEP
from tsauto.features.base import TARGET, one_hot_or_codes
from tsauto.features.calendar import CalendarFeatures
from tsauto.features.covariates import MISSING, CovariateFeatures
from tsauto.features.lags import Lags
from tsauto.features.target import _TINY
from tsauto.features.windows import RollingWindows, SeasonalRollingWindows


class PivotedPart:
    """Exports one fitted pivoted learner for ``horizon`` steps."""

    def __init__(self, learner, horizon: int) -> None:
        self.learner, self.horizon, self.name = learner, horizon, learner.name
        if learner.strategy != "recursive" and horizon > learner.horizon_:
            raise ExportError(f"{self.name}: its {learner.strategy} models cover "
                              f"{learner.horizon_} steps, fewer than the model's horizon "
                              f"{horizon}.")
        self.features = FeatureGraph(learner.featurizer_, self.name, learner.handles_nan)
        self.qfeatures = None
        if learner.quantile_models_:
            qfeat = learner.quantile_featurizer_
            self.qfeatures = (self.features if qfeat is learner.featurizer_
                              else FeatureGraph(qfeat, self.name, learner.handles_nan))
        self.length = max(self.features.length, self.qfeatures.length if self.qfeatures else 0)
        self.feature_names = list(learner.featurizer_.feature_names_)
        self.float32 = False
        # skl2onnx writes trees for ai.onnx.ml 3, whose TreeEnsembleRegressor version 5 drops;
        # one graph holds one version, so LightGBM then takes onnxmltools' older form too.
        self.old_trees = False

    @property
    def writes_old_trees(self) -> bool:
        return any(type(m).__name__ in _FLOAT32_TREES
                   for models in [self.learner.models_, *self.learner.quantile_models_.values()]
                   for m in models.values())

    def build(self, g: Graph, y: str, inputs) -> tuple[str, str | None]:
        learner, H = self.learner, self.horizon
        feat = self.features
        feat.prepare(g, y, self.length, inputs, H)
        if feat.featurizer.strategy_ == "direct":
            z = feat.direct(g, self._regressors(learner.models_, feat))
        else:
            linear = linear_coefficients(learner.models_[0]) if feat.linear_split() else None
            z = feat.recursive(g, {} if linear else self._regressors(learner.models_, feat),
                               linear)
        point = feat.inverse(g, z)
        qs = list(learner.quantiles_)
        if not qs:
            return point, None
        if learner.quantile_models_:
            qfeat = self.qfeatures
            if qfeat is not feat:
                qfeat.prepare(g, y, self.length, inputs, H)
            outs = [qfeat.inverse(g, qfeat.direct(g, self._regressors(learner.quantile_models_[q],
                                                                      qfeat)))
                    for q in qs]
            return point, g.concat([g.unsqueeze(o, [2]) for o in outs], axis=2)
        from tsauto.learners.pivoted import _extend_offsets

        offsets = np.stack([_extend_offsets(learner.residual_quantiles_[q], H) for q in qs],
                           axis=1)  # [H, Q]
        scale = g.unsqueeze(g.rows(g.const(learner.scale_), inputs.series_index()), [1, 2])
        spread = g.op("Mul", scale, g.const(offsets[None]))
        return point, g.op("Add", g.unsqueeze(point, [2]), spread)

    def _regressors(self, models: dict, feat: FeatureGraph) -> dict:
        """step (0: all steps) -> ONNX model of its regressor, input X [N, F], output [N, 1]."""
        out = {}
        for step, model in models.items():
            proto, float32 = convert_regressor(model, len(feat.featurizer.feature_names_),
                                               self.name, self.old_trees)
            self.float32 |= float32
            out[step] = (proto, float32)
        return out


# scikit-learn trees compare float32 features (they cast X themselves), and skl2onnx writes
# their ensembles in float32; k-NN's converted distances do not pick the same neighbours.
_FLOAT32_TREES = ("ExtraTreesRegressor", "RandomForestRegressor",
                  "HistGradientBoostingRegressor", "DecisionTreeRegressor")
_NOT_EXPORTED = {"KNeighborsRegressor": "its converted distances pick other neighbours than "
                                        "scikit-learn's"}


def convert_regressor(model, n_features: int, name: str, old_trees: bool = False):
    """(ONNX model, whether it computes in float32) of a fitted regressor; ``old_trees``: write
    LightGBM for ai.onnx.ml 3 (onnxmltools) rather than 5 (``tsauto.export.lightgbm``)."""
    from tsauto.learners.pivoted import _OpenMPThreads

    if isinstance(model, _OpenMPThreads):
        model = model.model
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    kind = type(final).__name__
    if kind in _NOT_EXPORTED:
        raise ExportError(f"{name}: its regressor {kind} is not exported: "
                          f"{_NOT_EXPORTED[kind]}.")
    if kind == "LGBMRegressor":
        from tsauto.export.lightgbm import Unsupported, lightgbm_model

        try:
            if not old_trees:
                return lightgbm_model(model, n_features), False
        except Unsupported:
            pass
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import DoubleTensorType

        # onnxmltools writes LightGBM's trees (one TreeEnsembleRegressor) up to opset 15.
        # Double features keep LightGBM's splits (float32 features would cross thresholds);
        # the leaves are summed in float32.
        return convert_lightgbm(model, initial_types=[("X", DoubleTensorType([None,
                                                                              n_features]))],
                                target_opset=15, zipmap=False), True
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    float32 = kind in _FLOAT32_TREES
    tensor = FloatTensorType if float32 else DoubleTensorType
    try:
        return convert_sklearn(model, initial_types=[("X", tensor([None, n_features]))],
                               target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET}), float32
    except Exception as exc:  # noqa: BLE001 - the converter's own message says why
        raise ExportError(f"{name}: its regressor {kind} has no ONNX converter "
                          f"({type(exc).__name__}: {exc}).") from exc


def score(g: Graph, regressor, X: str) -> str:
    """Predictions [N] of an ONNX regressor on double features ``X`` [N, F]."""
    proto, _ = regressor
    wanted = proto.graph.input[0].type.tensor_type.elem_type
    x = X if wanted == DOUBLE else g.op("Cast", X, to=wanted)
    out = g.call(proto, [x])
    if proto.graph.output[0].type.tensor_type.elem_type != DOUBLE:
        out = g.op("Cast", out, to=DOUBLE)
    return g.reshape(out, [-1])


class FeatureGraph:
    """A fitted ``Featurizer`` as graph ops."""

    def __init__(self, featurizer, name: str, handles_nan: bool) -> None:
        self.featurizer, self.name, self.handles_nan = featurizer, name, handles_nan
        target = featurizer.target_
        if target.diffs_:
            raise ExportError(f"{name}: the target transform target_difference="
                              f"{target.difference!r} cannot be exported; fit with "
                              f"target_difference=None to export.")
        for part in featurizer.parts_:
            if getattr(part, "onnx_exportable", True) is False:
                raise ExportError(f"{name}: the featurizer {type(part).__name__} cannot be "
                                  f"exported (holidays need a calendar of future years); fit "
                                  f"without it (country_or_region=None) to export.")
            if isinstance(part, (Lags, RollingWindows)) and part.column != TARGET:
                raise ExportError(f"{name}: past-only covariate '{part.column}' "
                                  f"({type(part).__name__}) cannot be exported; fit with "
                                  f"feature_lags=None to export.")
            if isinstance(part, CovariateFeatures):
                cats = [c for c in part.known_columns if part.plans_[c].type != "numeric"]
                if cats:
                    raise ExportError(f"{name}: categorical known covariates {cats} cannot be "
                                      f"exported; only numeric known covariates are inputs.")
        self.length = int(featurizer.tail_len_)

    # -- inputs --------------------------------------------------------------------------------
    def prepare(self, g: Graph, y: str, length: int, inputs, horizon: int) -> None:
        """The transformed tail, and the per-step blocks (calendar, covariates) of ``horizon``
        steps; ``y`` is the raw history [n, length]."""
        feat, T = self.featurizer, self.length
        self.g, self.H = g, horizon
        tail = y if T == length else g.cols(y, list(range(length - T, length)))
        s = inputs.series_index()
        self.series = s
        self.zero = g.op("Mul", g.op("Cast", g.op("IsNaN", g.cols(tail, [0])), to=DOUBLE),
                         g.const(0.0))  # [n, 1] zeros
        target = feat.target_
        self.loc = g.unsqueeze(g.rows(g.const(target.loc_), s), [1])
        self.scale = g.unsqueeze(g.rows(g.const(target.scale_), s), [1])
        self.powered = g.unsqueeze(g.rows(g.const(target.powered_, np.bool_), s), [1])
        self.lam = g.unsqueeze(g.rows(g.const(target.lambdas_), s), [1])
        self.ztail = g.op("Div", g.op("Sub", self._power(tail), self.loc), self.scale)
        # the features that do not read the target: [n, H, k] per step or [n, k] per series,
        # in the featurizer's order, and their names
        self.blocks, self.block_names = {}, {}
        for part in feat.parts_:
            if isinstance(part, CalendarFeatures):
                unit = origin_unit(feat.grid_)
                self.blocks["calendar"] = calendar_block(g, inputs.origin(unit), feat.grid_,
                                                         part, horizon)
                self.block_names["calendar"] = list(part.feature_names_out)
            elif isinstance(part, CovariateFeatures):
                self._covariates(part, inputs)

    def _covariates(self, cov: CovariateFeatures, inputs) -> None:
        g = self.g
        names = []
        if cov.known_columns:
            raw = inputs.covariates(cov.known_columns)  # [n, H, k]
            cols = []
            for j, col in enumerate(cov.known_columns):
                v = g.op("Gather", raw, g.ints(j), axis=2)  # [n, H]
                plan = cov.plans_[col]
                cols.append(g.nan_to(v, plan.fill))
                names.append(col)
                if plan.has_missing:
                    cols.append(g.op("Cast", g.op("IsNaN", v), to=DOUBLE))
                    names.append(col + MISSING)
            self.blocks["known"] = g.op("Concat", *[g.unsqueeze(c, [2]) for c in cols], axis=2)
            self.block_names["known"] = list(names)
        # static features and the series id: one row per training series, picked by index
        table, n_train = [], len(cov.series_levels_)
        for col in cov.static_columns:
            enc = cov._encode_values(col, cov.statics_[col])
            table += list(enc.values())
            names += list(enc)
        if cov.series_id:
            enc, _ = one_hot_or_codes(SERIES_ID, np.arange(n_train), cov.series_levels_,
                                      cov.encoding, cov.max_onehot)
            table += list(enc.values())
            names += list(enc)
        if table:
            self.blocks["static"] = g.rows(g.const(np.stack(table, axis=1)), self.series)
            self.block_names["static"] = names[len(self.block_names.get("known", [])):]
        if names != cov.feature_names_out:
            raise ExportError(f"{self.name}: covariate features {cov.feature_names_out} could "
                              f"not be laid out for export (got {names}).")

    # -- target transform ----------------------------------------------------------------------
    def _power(self, y: str) -> str:
        g, kind = self.g, self.featurizer.target_.kind
        if kind == "none":
            return y
        if kind == "log1p":
            return g.op("Where", self.powered, g.op("Log", g.op("Add", y, g.const(1.0))), y)
        lam = self.lam
        safe = g.op("Where", g.op("Equal", lam, g.const(0.0)), g.const(1.0), lam)
        box = g.op("Div", g.op("Sub", g.op("Pow", y, lam), g.const(1.0)), safe)
        box = g.op("Where", g.op("Equal", lam, g.const(0.0)), g.op("Log", y), box)
        return g.op("Where", self.powered, box, y)

    def inverse(self, g: Graph, z: str) -> str:
        """Raw-scale forecasts of transformed ones [n, H]."""
        x = g.op("Add", g.op("Mul", z, self.scale), self.loc)
        kind = self.featurizer.target_.kind
        if kind == "none":
            return x
        if kind == "log1p":
            return g.op("Where", self.powered, g.op("Sub", g.op("Exp", x), g.const(1.0)), x)
        lam = self.lam
        zero = g.op("Equal", lam, g.const(0.0))
        safe = g.op("Where", zero, g.const(1.0), lam)
        base = g.op("Max", g.op("Add", g.op("Mul", lam, x), g.const(1.0)), g.const(_TINY))
        inv = g.op("Where", zero, g.op("Exp", x), g.op("Pow", base, g.op("Reciprocal", safe)))
        return g.op("Where", self.powered, inv, x)

    def _windows(self, step: int) -> _Windows:
        """The target's lags and windows of a row whose row step is ``step``."""
        windows = _Windows()
        for part in self.featurizer.parts_:
            if isinstance(part, Lags):
                for k in part.lags_:
                    windows.add(f"{part.prefix_}{k}", "sum", [1 - k])
            elif isinstance(part, RollingWindows):
                for w in part.windows_:
                    for s in part.stats_:
                        if not (s == "std" and w == 1):
                            windows.add(f"{part.prefix_}{w}_{s}", s, list(range(1 - w, 1)))
            elif isinstance(part, SeasonalRollingWindows):
                m = part.m_
                j0 = -(-step // m)
                anchor = step - j0 * m  # relative to the origin
                windows.add("seasonal_lag", "sum", [anchor])
                if part.path_:
                    windows.add("seasonal_path_sum", "sum",
                                list(range(anchor - step + 1, anchor + 1)))
                if part.k_ > 1:
                    for s in part.stats_:
                        windows.add(f"seasonal{part.k_}_{s}", s,
                                    [anchor - j * m for j in range(part.k_)])
        return windows

    def _fill(self) -> np.ndarray:
        """The value each feature's NaN becomes for a regressor that takes none (as
        ``PivotedForecaster`` fills them), in ``feature_names_`` order."""
        feat = self.featurizer
        return np.asarray([-1.0 if n in feat.categorical_ else 0.0 for n in feat.feature_names_])

    # -- one row per series --------------------------------------------------------------------
    def row(self, g: Graph, buf: str, pos: int, t: int, step: int) -> str:
        """Features [n, F] of the rows whose origin is column ``pos`` of ``buf``, whose target
        is forecast step ``t`` (0-based) and whose row step is ``step`` (1 for the recursive
        rows).  The target's lags and windows are a few matrix products over the window of
        ``buf`` they read: onnxruntime spends microseconds per node, so fewer nodes are what
        makes one series fast."""
        feat = self.featurizer
        windows = self._windows(step)
        blocks, names = [], []
        if windows.names:
            blocks.append(windows.build(g, buf, pos))
            names += windows.order
        for key, block in self.blocks.items():
            blocks.append(block if key == "static" else g.op("Gather", block, _int(g, t), axis=1))
            names += self.block_names[key]
        if feat.strategy_ == "direct":
            blocks.append(g.op("Add", self.zero, g.const([[float(step)]])))
            names.append(STEP)
        X = g.concat(blocks, axis=1)
        if names != feat.feature_names_:
            X = g.cols(X, [names.index(n) for n in feat.feature_names_])
        if not self.handles_nan:
            X = g.op("Where", g.op("IsNaN", X), g.const(self._fill()[None]), X)
        return X

    # -- strategies ----------------------------------------------------------------------------
    def direct(self, g: Graph, regressors: dict) -> str:
        """Transformed forecasts [n, H] from one origin, every step scored at once."""
        T, H = self.length, self.H
        rows = [self.row(g, self.ztail, T - 1, h - 1, h) for h in range(1, H + 1)]
        if 0 in regressors:
            X = g.reshape(g.op("Concat", *[g.unsqueeze(r, [1]) for r in rows], axis=1),
                          [-1, len(self.featurizer.feature_names_)])
            return g.reshape(score(g, regressors[0], X), [-1, H])
        preds = [g.unsqueeze(score(g, regressors[h], rows[h - 1]), [1]) for h in range(1, H + 1)]
        return g.concat(preds, axis=1)

    def recursive(self, g: Graph, regressors: dict, linear=None) -> str:
        """Transformed forecasts [n, H], step by step as ``PivotedForecaster`` makes them: a
        Loop whose body scores one row per series and writes its prediction into the history
        (NaN slots after the tail) that the next step's lags read.  ``linear``: (coefficients
        over ``feature_names_``, intercept) of a linear regressor, scored as a dot product
        instead of ``regressors``."""
        T, H = self.length, self.H
        nan_block = g.op("Add", g.op("Mul", self.zero, g.const(np.zeros((1, H)))),
                         g.const(np.nan))
        start = g.op("Concat", self.ztail, nan_block, axis=1)
        if linear is not None:
            base = self._fixed_terms(g, *linear)
        body = Graph(prefix="step/")
        i, cond, buf = body.name("i"), body.name("cond"), body.name("buf")
        pos = body.reshape(body.op("Add", i, body.ints(T - 1)), [1])
        if linear is None:
            X = self.row(body, buf, pos, i, 1)
            pred = body.unsqueeze(score(body, regressors[0], X), [1])
        else:
            pred = self._linear_step(body, buf, pos, i, base, linear[0])
        column = body.op("Add", body.op("Cast", self.zero, to=INT64),
                         body.op("Add", i, body.ints(T)))
        new_buf = body.op("ScatterElements", buf, column, pred, axis=1)
        cond_out = body.op("Identity", cond)
        graph = body.subgraph("recursive_step",
                              [value_info(i, INT64, []), value_info(cond, BOOL, []),
                               value_info(buf, DOUBLE, ["n_series", T + H])],
                              [value_info(cond_out, BOOL, []),
                               value_info(new_buf, DOUBLE, ["n_series", T + H])])
        g.adopt(body)
        final = g.op("Loop", g.ints(H), g.const(True, np.bool_), start, body=graph)
        return g.op("Slice", final, g.ints([T]), g.ints([T + H]), g.ints([1]))

    # -- a linear regressor, split into what the loop must compute and what it need not ------
    def linear_split(self) -> bool:
        """Whether a linear regressor's recursion can be split: the target's windows in the
        loop, every other feature's term (calendar, covariates, static) once, outside it."""
        names = list(self._windows(1).names)
        for key in self.blocks:
            names += self.block_names[key]
        return (not self.handles_nan and self.featurizer.strategy_ == "recursive"
                and bool(self._windows(1).names)
                and sorted(names) == sorted(self.featurizer.feature_names_))

    def _fixed_terms(self, g: Graph, coef: np.ndarray, intercept: float) -> str:
        """[n, H]: the intercept plus the terms of the features that do not read the target,
        for every step at once (a few nodes once, instead of a wide row in every step)."""
        index = {n: j for j, n in enumerate(self.featurizer.feature_names_)}
        fill = self._fill()
        base = g.op("Add", g.op("Mul", self.zero, g.const(np.zeros((1, self.H)))),
                    g.const(intercept))
        for key, block in self.blocks.items():
            idx = [index[n] for n in self.block_names[key]]
            block = g.op("Where", g.op("IsNaN", block), g.const(fill[idx]), block)
            term = g.op("MatMul", block, g.const(coef[idx][:, None]))  # [n, (H,) 1]
            base = g.op("Add", base, term if key == "static"
                        else g.op("Squeeze", term, g.ints([2])))
        return base

    def _linear_step(self, g: Graph, buf: str, pos: str, i: str, base: str,
                     coef: np.ndarray) -> str:
        """[n, 1]: step ``i``'s prediction, the target windows' terms plus ``base``'s column."""
        index = {n: j for j, n in enumerate(self.featurizer.feature_names_)}
        windows = self._windows(1)
        fill = self._fill()[[index[n] for n in windows.names]]
        out = windows.build(g, buf, pos, missing=fill)
        idx = [index[n] for n in windows.order]
        fixed = g.op("Gather", base, g.reshape(i, [1]), axis=1)
        return g.op("Add", g.op("MatMul", out, g.const(coef[idx][:, None])), fixed)


# scikit-learn regressors that predict X . coef_ + intercept_ (not the GLMs: they take a link)
_LINEAR = ("ElasticNet", "Lasso", "Ridge", "LinearRegression", "HuberRegressor", "Lars",
           "LassoLars", "BayesianRidge", "ARDRegression", "SGDRegressor", "QuantileRegressor",
           "TheilSenRegressor", "ElasticNetCV", "LassoCV", "RidgeCV")


def linear_coefficients(model) -> tuple[np.ndarray, float] | None:
    """(coefficients over the raw features, intercept) of a scikit-learn linear regressor,
    with the standard scalers before it folded in (one dot product per row instead of a scaler
    and a model); None for any other regressor."""
    from sklearn.preprocessing import StandardScaler
    from tsauto.learners.pivoted import _OpenMPThreads

    if isinstance(model, _OpenMPThreads):
        model = model.model
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    final = steps[-1]
    if not (type(final).__name__ in _LINEAR and np.ndim(getattr(final, "coef_", None)) == 1
            and all(type(s) is StandardScaler for s in steps[:-1])):
        return None
    coef = np.asarray(final.coef_, dtype=np.float64)
    intercept = float(np.asarray(final.intercept_, dtype=np.float64).reshape(()))
    for scaler in reversed(steps[:-1]):  # w . (x - mean) / scale = (w / scale) . x - ...
        if scaler.scale_ is not None:
            coef = coef / scaler.scale_
        if scaler.mean_ is not None:
            intercept -= float(coef @ scaler.mean_)
    return coef, intercept


def _int(g: Graph, value) -> str:
    return value if isinstance(value, str) else g.ints(value)


class _Windows:
    """The target features of one row, each a statistic over columns (offsets from the
    origin) of the history, computed together: sums and means as one MatMul, standard
    deviations from two, minima and maxima by one Gather, quantiles by a sort per feature; NaN
    where a window holds a NaN (the series' start, as the featurizer has it)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.stats: list[str] = []
        self.offsets: list[list[int]] = []

    def add(self, name: str, stat: str, offsets: list[int]) -> None:
        self.names.append(name)
        self.stats.append(stat)
        self.offsets.append(offsets)

    def build(self, g: Graph, buf: str, pos, missing=np.nan) -> str:
        """``pos``: the origin's column, an int or (in a loop) an int64 tensor [1] whose
        window never reaches before the history; ``missing``: what a feature whose window
        holds a NaN becomes (a value per feature, in ``names`` order, or NaN)."""
        span = 1 - min(min(o) for o in self.offsets)
        if isinstance(pos, str):
            start = 0
            S = g.op("Slice", buf, g.op("Sub", pos, g.ints([span - 1])),
                     g.op("Add", pos, g.ints([1])), g.ints([1]))
        else:
            start = pos - span + 1
            S = g.op("Slice", buf, g.ints([max(start, 0)]), g.ints([pos + 1]), g.ints([1]))
        if start < 0:  # the window reaches before the history: NaN, as a series' start
            nan = g.op("Add", g.op("Mul", g.cols(S, [0] * -start), g.const(0.0)),
                       g.const(np.nan))
            S = g.op("Concat", nan, S, axis=1)
        isnan = g.op("IsNaN", S)
        clean = g.op("Where", isnan, g.const(0.0), S)
        col = {o: span - 1 + o for o in range(1 - span, 1)}  # offset -> column of S
        blocks, order = [], []

        def weights(select: list[int]) -> np.ndarray:
            A = np.zeros((span, len(select)))
            for j, i in enumerate(select):
                for o in self.offsets[i]:
                    A[col[o], j] += 1.0 / len(self.offsets[i]) if self.stats[i] != "sum" else 1.0
            return A

        linear = [i for i, s in enumerate(self.stats) if s in ("sum", "mean")]
        if linear:
            blocks.append(g.op("MatMul", clean, g.const(weights(linear))))
            order += linear
        spread = [i for i, s in enumerate(self.stats) if s == "std"]
        if spread:
            M = g.const(weights(spread))
            mean = g.op("MatMul", clean, M)
            square = g.op("MatMul", g.op("Mul", clean, clean), M)
            var = g.op("Sub", square, g.op("Mul", mean, mean))
            blocks.append(g.op("Sqrt", g.op("Max", var, g.const(0.0))))
            order += spread
        for stat, reduce in (("min", "ReduceMin"), ("max", "ReduceMax")):
            extreme = [i for i, s in enumerate(self.stats) if s == stat]
            if extreme:
                width = max(len(self.offsets[i]) for i in extreme)
                # repeat a window's first column up to the widest: extremes do not change
                idx = [[col[o] for o in self.offsets[i]] + [col[self.offsets[i][0]]] *
                       (width - len(self.offsets[i])) for i in extreme]
                gathered = g.op("Gather", clean, g.ints(idx), axis=1)  # [n, k, width]
                blocks.append(g.op(reduce, gathered, g.ints([2]), keepdims=0))
                order += extreme
        for i, s in enumerate(self.stats):
            if s in ("sum", "mean", "std", "min", "max"):
                continue
            q = 0.5 if s == "median" else int(s[1:]) / 100
            size = len(self.offsets[i])
            window = g.cols(clean, [col[o] for o in self.offsets[i]])
            blocks.append(g.quantile(g.sort(window, 1, size), q, size, axis=1))
            order.append(i)
        out = g.concat(blocks, axis=1)
        # NaN where any column a feature reads is NaN
        reads = np.zeros((span, len(order)))
        for j, i in enumerate(order):
            for o in self.offsets[i]:
                reads[col[o], j] = 1.0
        holes = g.op("MatMul", g.op("Cast", isnan, to=DOUBLE), g.const(reads))
        fill = np.broadcast_to(np.asarray(missing, dtype=np.float64), (len(self.names),))
        out = g.op("Where", g.op("Greater", holes, g.const(0.0)), g.const(fill[order][None]),
                   out)
        self.order = [self.names[i] for i in order]
        return out
