"""gc.onnx.save: a graphc graph as an ONNX model (shared values become initializers),
checked by onnx.checker. Each op's ONNX form is in export_ops.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..ir import Node
from ..ir.traversal import toposort
from ..ops import constant_value, is_input, is_shared
from .dtypes import to_onnx
from .registry import OnnxError

#: The opsets gc.onnx.save writes (Squeeze, Unsqueeze, Split and Pad take inputs from 13 on).
SAVE_OPSETS = range(13, 23)


class Emitter:
    """The ONNX nodes, initializers and names of a graph being written."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: dict[Node, str] = {}
        self._used: set[str] = set()

    def fresh(self, stem: str) -> str:
        """A name not used before, `stem` itself when free."""
        name, k = stem, 0
        while name in self._used:
            k += 1
            name = f"{stem}_{k}"
        self._used.add(name)
        return name

    def add(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        """Append an ONNX node with one output; returns the output's name."""
        from onnx import helper

        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attributes))
        return out

    def initializer(self, value: np.ndarray, stem: str) -> str:
        from onnx import numpy_helper

        name = self.fresh(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, order="C"), name))  # 0-d stays 0-d
        return name

    def ints(self, values: Sequence[int]) -> str:
        """An int64 1-D constant (axes, shapes, pads) as an initializer."""
        return self.initializer(np.asarray(values, dtype=np.int64), "ints")

    def scalar(self, value: float, dtype: np.dtype) -> str:
        return self.initializer(np.asarray(value, dtype=dtype), "const")

    def cast(self, name: str, have: np.dtype, want: np.dtype) -> str:
        """`name` converted to `want` (nothing added when it already has it)."""
        if np.dtype(have) == np.dtype(want):
            return name
        return self.add("Cast", [name], to=to_onnx(want, "Cast"))


def save(path: Union[str, Path, None], inputs: Sequence[Node], outputs: Union[Node, Sequence[Node]],
         opset: int = 17) -> Any:
    """Write the graph from `inputs` to `outputs` as an ONNX model (onnx.ModelProto, also
    returned; not written when `path` is None). Shared variables become initializers named
    as they are; outputs are named output0, output1, ...; symbolic sizes become dim params."""
    import onnx
    from onnx import helper

    from .export_ops import emit

    if opset not in SAVE_OPSETS:
        raise OnnxError(f"onnx.save: opset {opset} is not supported (supported: {SAVE_OPSETS[0]} to {SAVE_OPSETS[-1]})")
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    given = list(inputs)
    for x in given:
        if not is_input(x):
            raise OnnxError(f"onnx.save: inputs must be symbolic inputs (gc.tensor), got {x.op}")
    e = Emitter(opset)
    graph_inputs = []
    for x in given:
        e.names[x] = e.fresh(x.name)
        graph_inputs.append(_value_info(e.names[x], x))
    for node in toposort(outs):
        if node in e.names:
            continue
        if is_input(node):
            raise OnnxError(f"onnx.save: the outputs depend on the input {node.name!r}, which is not in `inputs`")
        if is_shared(node):
            e.names[node] = e.initializer(node.get_value(borrow=True), node.name)
        elif constant_value(node) is not None:
            e.names[node] = e.initializer(constant_value(node), "const")
        else:
            e.names[node] = emit(e, node, [e.names[i] for i in node.inputs])
    graph_outputs = []
    for k, node in enumerate(outs):
        name = e.fresh(f"output{k}")
        e.nodes.append(helper.make_node("Identity", [e.names[node]], [name], name=name))
        graph_outputs.append(_value_info(name, node))
    graph = helper.make_graph(e.nodes, "graphc", graph_inputs, graph_outputs, e.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="graphc")
    model.ir_version = min(model.ir_version, 8)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, str(path))
    return model


def _value_info(name: str, node: Node) -> Any:
    from onnx import helper

    dims: list[Optional[Union[int, str]]] = [f"{name}_dim{i}" if d is None else d for i, d in enumerate(node.shape)]
    return helper.make_tensor_value_info(name, to_onnx(node.dtype, f"the value {name!r}"), dims)
