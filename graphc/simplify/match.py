"""Small pattern helpers shared by the rules: what a node is, constant values, type fitting.

A replacement must keep the static type (dtype and shape) of the node it replaces;
`fit` casts and broadcasts a candidate to that type, or says it cannot.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import Node, ShapeError
from ..ops.elementwise import Cast, Elemwise, cast
from ..ops.leaves import Constant, constant, is_constant
from ..ops.nn import LogSoftmax, Softmax
from ..ops.reduce import CountOf, Reduce
from ..ops.shape import BroadcastTo, ExpandDims, MatchShape, Reshape, Squeeze, Transpose, broadcast_to

#: Ops that move or repeat values without changing them.
LAYOUT_OPS = (BroadcastTo, ExpandDims, Reshape, Squeeze, Transpose)
#: Ops whose output has the run-time shape of their inputs of equal static shape.
SHAPE_KEEPING_OPS = (Elemwise, Cast, Softmax, LogSoftmax, MatchShape)


def is_fn(node: Node, *names: str) -> bool:
    """Whether `node` applies one of the scalar functions `names` elementwise."""
    return isinstance(node.op, Elemwise) and node.op.fn in names


def peel_broadcast(node: Node) -> Node:
    """`node` without the broadcasts, expand_dims and reshapes that only repeat its values."""
    while isinstance(node.op, (BroadcastTo, ExpandDims)) or (
        isinstance(node.op, Reshape) and node.inputs[0].type.size == 1
    ):
        node = node.inputs[0]
    return node


def scalar_value(node: Node) -> Optional[float | int | bool]:
    """The value of a constant whose elements are all equal (seen through broadcasts)."""
    base = peel_broadcast(node)
    if not isinstance(base.op, Constant):
        return None
    value = base.op.value
    if value.size == 0:
        return None
    first = value.reshape(-1)[0]
    if value.size > 1 and not np.all(value == first):
        return None
    return first.item()


def is_value(node: Node, value: float) -> bool:
    """Whether `node` is a constant with every element equal to `value`."""
    v = scalar_value(node)
    return v is not None and v == value


def is_scalar_like(node: Node) -> bool:
    """One element known statically (shape () or all ones)."""
    return node.type.size == 1


def is_positive(node: Node) -> bool:
    """Whether `node` is provably > 0 (or nan) from its ops: positive functions (exp, sigmoid,
    ...: ScalarFn.positive), softmax, counts,
    positive constants, and sums, products, quotients and layout changes of those."""
    while isinstance(node.op, LAYOUT_OPS + (Reduce,)):
        node = node.inputs[0]
    if (isinstance(node.op, Elemwise) and node.op.scalar.positive) or isinstance(node.op, (Softmax, CountOf)):
        return True
    if is_fn(node, "add", "mul", "truediv", "maximum"):
        return all(is_positive(i) for i in node.inputs)
    v = scalar_value(node)
    return v is not None and not isinstance(v, bool) and v > 0


def same_shape_input(node: Node) -> Optional[Node]:
    """An input of `node` (or a broadcast's template) with exactly `node`'s run-time shape.

    Only ops that keep their operand's shape qualify: under the core's convention an
    unknown dim never broadcasts, so for them an equal static shape means an equal
    run-time shape. (A pooling or convolution may keep the static shape (?, C, ?, ?)
    while changing the run-time one.)
    """
    if isinstance(node.op, BroadcastTo) and len(node.inputs) == 2:
        return node.inputs[1]
    if not isinstance(node.op, SHAPE_KEEPING_OPS):
        return None
    for i in node.inputs:
        if i.type.shape == node.type.shape:
            return i
        if isinstance(i.op, BroadcastTo) and len(i.inputs) == 2:
            if i.inputs[1].type.shape == node.type.shape:
                return i.inputs[1]
    return None


def fit(new: Node, old: Node, template: Optional[Node] = None) -> Optional[Node]:
    """`new` cast and broadcast to `old`'s static type, or None when that is not possible.

    Unknown dims need a `template` node with `old`'s shape (default: an input of `old`
    with that shape).
    """
    if new.dtype != old.dtype:
        new = cast(new, old.dtype)
    if new.type.shape == old.type.shape:
        return new
    try:
        if old.type.is_static:
            return broadcast_to(new, old.type.shape)
        template = template if template is not None else same_shape_input(old)
        if template is not None and template.type.shape == old.type.shape:
            return broadcast_to(new, template)
    except ShapeError:
        pass
    return None


def full_like(old: Node, value: float) -> Optional[Node]:
    """A tensor of `value` with `old`'s type (a broadcast scalar), or None if unknown dims
    leave no template."""
    return fit(constant(np.asarray(value, dtype=old.dtype)), old)
