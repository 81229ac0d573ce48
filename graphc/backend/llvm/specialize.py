"""Specialising a graph to the concrete shapes of one call: every type becomes static.

Each symbolic input is replaced by an input of the argument's exact shape and the
graph is rebuilt, so types are re-inferred with known dims. Ops that exist only
to carry run-time shapes take their static forms: CountOf becomes a constant,
and Reshape/BroadcastTo with a template input take the template's shape.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...ir import Node, rebuild
from ...ops.leaves import Input, constant, tensor
from ...ops.reduce import CountOf
from ...ops.shape import BroadcastTo, Reshape


def _static(old: Node, inputs: tuple[Node, ...]) -> Node:
    op = old.op
    if not inputs:
        return old
    op.check_run_time(old, [tuple(x.type.shape) for x in inputs])
    if isinstance(op, CountOf):
        shape = inputs[0].type.shape
        return constant(np.asarray(np.prod([shape[a] for a in op.axes], dtype=np.int64), dtype=op.dtype))
    if isinstance(op, (Reshape, BroadcastTo)) and op.shape is None:
        return Node.make(type(op)(tuple(inputs[1].type.shape)), inputs[:1])
    return Node.make(op, inputs)


def specialize(inputs: Sequence[Node], outputs: Sequence[Node],
               shapes: Sequence[tuple[int, ...]]) -> tuple[list[Node], list[Node]]:
    """(static inputs, static outputs) for arguments of `shapes`."""
    static_inputs = [
        x if x.type.shape == tuple(shape) else tensor(x.op.label, shape, x.dtype)
        for x, shape in zip(inputs, shapes)
    ]
    mapping = {x: s for x, s in zip(inputs, static_inputs)}
    for node in mapping:
        if not isinstance(node.op, Input):
            raise TypeError(f"specialize: {node!r} is not an input")
    return static_inputs, rebuild(list(outputs), mapping, _static)
