"""The numpy interpreter: runs any graph at any stage; the oracle for every other stage."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ...ir import DTypeError, Node, ShapeError, TensorType, format_shape, toposort
from ...ops.leaves import Input, Shared


class Program:
    """A graph's outputs in topological order, ready to run on numpy values."""

    def __init__(self, outputs: Sequence[Node]):
        self.outputs = list(outputs)
        self.order = toposort(self.outputs)

    def run(self, feed: Mapping[Node, np.ndarray]) -> list[np.ndarray]:
        """Values of the outputs given values for the graph's inputs."""
        values: dict[Node, np.ndarray] = {}
        last_use = {}
        for step, node in enumerate(self.order):
            for i in node.inputs:
                last_use[i] = step
        keep = set(self.outputs)
        for step, node in enumerate(self.order):
            values[node] = _value_of(node, feed, values)
            for i in set(node.inputs):
                if last_use[i] == step and i not in keep:
                    del values[i]  # free intermediates as soon as their last user ran
        return [values[o] for o in self.outputs]


def _value_of(node: Node, feed: Mapping[Node, np.ndarray], values: Mapping[Node, np.ndarray]) -> np.ndarray:
    op = node.op
    if node in feed:
        return feed[node]
    if isinstance(op, Input):
        raise ValueError(f"no value given for input {op.label!r} ({node.type})")
    if isinstance(op, Shared):
        view = op.container.value.view()
        view.flags.writeable = False  # results may be this storage: keep the variable safe
        return view
    args = [values[i] for i in node.inputs]
    shapes = [a.shape for a in args]
    op.check_run_time(node, shapes)
    if not all(i.type.is_static for i in node.inputs):
        # sizes known only now: the type rule gives the errors it gives at build time
        op.infer_type(*(TensorType(i.dtype, s) for i, s in zip(node.inputs, shapes)))
    result = op.reference(*args)
    return np.asarray(result, dtype=node.dtype)


def evaluate(outputs: Sequence[Node], inputs: Mapping[Node, Any]) -> list[np.ndarray]:
    """Evaluate `outputs` with numpy, given values for their inputs (a quick check).

    Each value must fit its node's shape; it is converted to the node's dtype when that
    keeps its kind (2 -> 2.0, but not 1.5 -> 1).
    """
    return Program(outputs).run({node: _fitted(node, value) for node, value in inputs.items()})


def _fitted(node: Node, value: Any) -> np.ndarray:
    """`value` as an array of `node`'s type, or a clear error naming the node."""
    arr = np.asarray(value)
    label = repr(node.name) if node.name else str(node)
    if not np.can_cast(arr.dtype, node.dtype, casting="same_kind"):
        raise DTypeError(f"evaluate: {label} is {node.type}; values of dtype {arr.dtype} would change kind")
    if not node.type.accepts(arr.shape):
        raise ShapeError(f"evaluate: {label} is {node.type}, got a value of shape {format_shape(arr.shape)}")
    return arr.astype(node.dtype, copy=False)
