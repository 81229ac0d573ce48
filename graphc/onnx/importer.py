"""ONNX graph -> graphc graph: each ONNX node goes through its converter, in file order.

A node whose inputs are all constants (the shape computations exporters emit: Shape ->
Gather -> Concat -> Reshape) is evaluated when imported and becomes a constant (unless it
holds subgraphs, which read values beyond its inputs), so the ops that need static values
(Reshape's shape, Slice's bounds, ...) get them.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..backend.reference import evaluate
from ..ir import GraphcError, Node
from ..ops import constant, is_constant
from .dtypes import to_numpy
from .registry import NodeView, OnnxError, find_converter


def convert_graph(graph: Any, opset: int, bound: Mapping[str, Node],
                  initial_values: Mapping[str, np.ndarray]) -> list[Node]:
    """The graphc nodes of `graph`'s outputs, given nodes for its inputs and initializers (`bound`)."""
    env: dict[str, Node] = dict(bound)
    for proto in graph.node:
        inputs = [_lookup(env, name, proto) for name in proto.input]
        view = NodeView(proto, inputs, opset, dict(initial_values), env)
        entry = find_converter(view)
        try:
            result = entry.convert(view)
        except OnnxError:
            raise
        except (GraphcError, ValueError, TypeError) as exc:  # a graphc op refused the operands
            raise OnnxError(f"{view.description}: {exc}") from exc
        outputs = [result] if isinstance(result, Node) else list(result)
        for i, name in enumerate(proto.output):
            if not name:
                continue
            if i >= len(outputs) or outputs[i] is None:
                view.fail(f"output {i} ({name!r}) is not supported: only the first {len(outputs)} output(s) are")
            env[name] = outputs[i] if _has_subgraph(proto) else _fold(outputs[i], inputs)
    missing = [o.name for o in graph.output if o.name not in env]
    if missing:
        raise OnnxError(f"the graph outputs {missing} are computed by no node")
    return [env[o.name] for o in graph.output]


def _lookup(env: Mapping[str, Node], name: str, proto: Any) -> Optional[Node]:
    if not name:
        return None
    if name not in env:
        raise OnnxError(f"ONNX node {proto.name!r} ({proto.op_type}) reads {name!r}, which is neither a graph "
                        "input, an initializer nor the output of an earlier node (a missing initializer?)")
    return env[name]


def _has_subgraph(proto: Any) -> bool:
    """Whether the node holds graphs (If's branches), which may read any value in scope."""
    return any(a.HasField("g") or len(a.graphs) for a in proto.attribute)


def _fold(node: Node, inputs: Sequence[Optional[Node]]) -> Node:
    """`node` as a constant when every input of its ONNX node is one."""
    if is_constant(node) or not all(i is None or is_constant(i) for i in inputs):
        return node
    return constant(np.asarray(evaluate([node], {})[0]))


def initializer_values(graph: Any) -> dict[str, np.ndarray]:
    """The graph's initializers as arrays, by name (an OnnxError names one that cannot be read)."""
    from onnx import numpy_helper

    values = {}
    for init in graph.initializer:
        to_numpy(init.data_type, f"the initializer {init.name!r}")
        try:
            values[init.name] = np.array(numpy_helper.to_array(init))
        except Exception as exc:  # data shorter than the shape, missing external data, ...
            raise OnnxError(f"the initializer {init.name!r} cannot be read: {exc}") from exc
    return values
