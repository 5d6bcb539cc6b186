"""A small builder of ONNX graphs: named nodes, constants, sub-graphs and inlined converter
output, so that the exporters read like the numpy code they mirror.

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
DOUBLE = TensorProto.DOUBLE
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


class Graph:
    """Nodes and initializers of one graph (the main graph or a Loop body).  Names are unique
    across every graph of a model: a body may read its outer graph's values by name."""

    _ids = itertools.count()

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.domains: dict[str, int] = {"": OPSET}

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

    def inline(self, model: onnx.ModelProto, inputs: dict[str, str]) -> list[str]:
        """Copy a converter's graph into this one, its inputs wired to ``inputs`` (its input
        name -> our value); returns our names of its outputs."""
        prefix = self.name("m") + "/"
        rename = dict(inputs)
        for init in model.graph.initializer:
            copy = onnx.TensorProto()
            copy.CopyFrom(init)
            copy.name = rename[init.name] = prefix + init.name
            self.initializers.append(copy)
        for node in model.graph.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            del copy.input[:]
            del copy.output[:]
            copy.input.extend([rename.get(n, n) if n else "" for n in node.input])
            for out in node.output:
                rename[out] = prefix + out
            copy.output.extend([rename[o] for o in node.output])
            copy.name = prefix + node.name
            self.nodes.append(copy)
        for opset in model.opset_import:
            # converters may declare ai.onnx.ml 1 while writing version 3's double trees
            floor = ML_OPSET if opset.domain == "ai.onnx.ml" else 0
            self.domains[opset.domain] = max(self.domains.get(opset.domain, 0), opset.version,
                                             floor)
        return [rename[o.name] for o in model.graph.output]

    def absorb(self, other: Graph) -> None:
        """Take the domains a sub-graph's nodes need."""
        for domain, version in other.domains.items():
            self.domains[domain] = max(self.domains.get(domain, 0), version)

    def body(self, name: str, inputs: list, outputs: list) -> onnx.GraphProto:
        return helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)


def value_info(name: str, dtype: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)
