"""A small builder of ONNX graphs: named nodes, constants, and converters' graphs called as
model-local functions, so that the exporters read like the numpy code they mirror.

Values are float64 unless a converter forces float32 (tree ensembles); every op used exists
in onnxruntime for doubles (opset ``OPSET``).
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
ML_OPSET = 3
LOCAL = "tsauto.local"  # the domain of the model's own functions
DOUBLE = TensorProto.DOUBLE
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
BOOL = TensorProto.BOOL


class Graph:
    """Nodes, initializers and local functions of one graph; names are unique."""

    _ids = itertools.count()

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.domains: dict[str, int] = {"": OPSET}
        # id of a converter's model -> (that model, kept so that its id stays its own; function)
        self.functions: dict[int, tuple[onnx.ModelProto, onnx.FunctionProto]] = {}

    def name(self, hint: str) -> str:
        return f"{self.prefix}{hint}_{next(self._ids)}"

    def const(self, value, dtype=np.float64, hint: str = "c") -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, value, hint: str = "i") -> str:
        return self.const(value, np.int64, hint)

    def op(self, op_type: str, *inputs: str, outputs: int = 1, domain: str = "",
           hint: str | None = None, **attrs):
        """One node; its output name (or names, when ``outputs`` > 1)."""
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, domain=domain or None,
                                           **attrs))
        return names[0] if outputs == 1 else names

    # -- shorthands -----------------------------------------------------------------------------
    def cols(self, x: str, idx) -> str:
        """Columns ``idx`` (a constant list or an int64 tensor name) of a 2-D tensor."""
        index = idx if isinstance(idx, str) else self.ints(idx)
        return self.op("Gather", x, index, axis=1)

    def rows(self, table: str, index: str) -> str:
        return self.op("Gather", table, index, axis=0)

    def nan_to(self, x: str, value: float = 0.0) -> str:
        return self.op("Where", self.op("IsNaN", x), self.const(value), x)

    def any_nan(self, x: str, axis: int) -> str:
        """Bool, per slice along ``axis`` (kept), whether it holds a NaN."""
        flags = self.op("Cast", self.op("IsNaN", x), to=DOUBLE)
        return self.op("Cast", self.op("ReduceMax", flags, self.ints([axis]), keepdims=1),
                       to=TensorProto.BOOL)

    def nan_where(self, mask: str, x: str) -> str:
        return self.op("Where", mask, self.const(np.nan), x)

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", x, self.ints(list(axes)))

    def reshape(self, x: str, shape) -> str:
        return self.op("Reshape", x, self.ints(list(shape)))

    def concat(self, parts: list[str], axis: int) -> str:
        return parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=axis)

    def sort(self, x: str, axis: int, size: int) -> str:
        """Ascending along ``axis`` (``size`` values there)."""
        return self.op("TopK", x, self.ints([size]), outputs=2, axis=axis, largest=0,
                       sorted=1)[0]

    def quantile(self, sorted_x: str, q: float, size: int, axis: int) -> str:
        """numpy's linear ``quantile`` of values already sorted along ``axis`` (kept as 1)."""
        pos = q * (size - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, size - 1)
        frac = pos - lo
        a = self.op("Gather", sorted_x, self.ints([lo]), axis=axis)
        if frac == 0:
            return a
        b = self.op("Gather", sorted_x, self.ints([hi]), axis=axis)
        # numpy's lerp: from the nearer end, so that the result is exact at either end
        if frac >= 0.5:
            return self.op("Sub", b, self.op("Mul", self.op("Sub", b, a), self.const(1 - frac)))
        return self.op("Add", a, self.op("Mul", self.op("Sub", b, a), self.const(frac)))

    def call(self, model: onnx.ModelProto, inputs: list[str]) -> list[str]:
        """Call a converter's graph as a model-local function: written once in the file
        however many times it is called (each step of a recursive forecast)."""
        fn = self.functions.get(id(model), (None, None))[1]
        if fn is None:
            nodes = [helper.make_node("Constant", [], [init.name], value=init)
                     for init in model.graph.initializer]
            nodes += list(model.graph.node)
            imports = {}
            for opset in model.opset_import:
                # a function must import the model's versions; the converters' graphs use ops
                # unchanged up to them (LightGBM's: a tree ensemble and an Identity)
                floor = {"ai.onnx.ml": ML_OPSET, "": OPSET}.get(opset.domain, 0)
                imports[opset.domain] = max(imports.get(opset.domain, 0), opset.version, floor)
            fn = helper.make_function(LOCAL, f"regressor_{next(self._ids)}",
                                      [i.name for i in model.graph.input],
                                      [o.name for o in model.graph.output], nodes,
                                      [helper.make_opsetid(d, v) for d, v in imports.items()])
            self.functions[id(model)] = (model, fn)
            for domain, version in imports.items():
                self.domains[domain] = max(self.domains.get(domain, 0), version)
            self.domains[LOCAL] = 1
        return self.op(fn.name, *inputs, outputs=len(fn.output), domain=LOCAL)


    def subgraph(self, name: str, inputs: list, outputs: list) -> onnx.GraphProto:
        """This graph as the body of a Loop (it may read its outer graph's values by name)."""
        return helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)

    def adopt(self, body: Graph) -> None:
        """Take the functions and domains a Loop body uses."""
        self.functions.update(body.functions)
        for domain, version in body.domains.items():
            self.domains[domain] = max(self.domains.get(domain, 0), version)


def value_info(name: str, dtype: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)
