"""Rules for data movement and reductions: composed layout ops collapse, sums of
broadcasts, of scaled tensors and over size-1 axes become cheaper sums, reductions of
uniform constants are constants, and gathers and scatter-adds through evenly stepping
constant indices are slices."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import Node
from ..ir.dtypes import is_float
from ..ops.elementwise import Elemwise, apply, neg
from ..ops.gather import Gather, GatherAdd, IndexMap
from ..ops.indexing import GetItem, ScatterInto
from ..ops.leaves import constant, constant_value
from ..ops.nn import OneHot
from ..ops.reduce import CountOf, Reduce, reduce_sum
from ..ops.shape import (
    BroadcastTo, concatenate, ExpandDims, MatchShape, Reshape, Squeeze, Transpose, broadcast_to, expand_dims, reshape,
    squeeze,
)
from .match import fit, is_fn, is_scalar_like, same_shape_input, scalar_value
from .rule import FINITE, Rule, rule

RULES: list[Rule] = []


@rule(RULES, MatchShape)
def match_known_shape(node: Node) -> Optional[Node]:
    """match_shape(x, t) -> x once x's and t's shapes are known (the check was done when built)"""
    x, template = node.inputs
    return x if x.type.is_static and template.type.is_static else None


@rule(RULES, Transpose)
def transpose_transpose(node: Node) -> Optional[Node]:
    """transpose(transpose(x)) -> one transpose, or x"""
    inner = node.inputs[0]
    if not isinstance(inner.op, Transpose):
        return None
    perm = tuple(inner.op.perm[p] for p in node.op.perm)
    x = inner.inputs[0]
    return x if perm == tuple(range(x.ndim)) else Node.make(Transpose(perm), [x])


@rule(RULES, Reshape)
def reshape_reshape(node: Node) -> Optional[Node]:
    """reshape(reshape(x)) -> reshape(x)"""
    inner = node.inputs[0]
    if not isinstance(inner.op, Reshape):
        return None
    return fit(Node.make(node.op, (inner.inputs[0],) + node.inputs[1:]), node)


@rule(RULES, Reshape)
def reshape_identity(node: Node) -> Optional[Node]:
    """reshape(x) to x's own (known) shape -> x"""
    x = node.inputs[0]
    return x if x.type.is_static and x.type.shape == node.type.shape else None


@rule(RULES, BroadcastTo)
def broadcast_broadcast(node: Node) -> Optional[Node]:
    """broadcast_to(broadcast_to(x)) -> broadcast_to(x)"""
    inner = node.inputs[0]
    if not isinstance(inner.op, BroadcastTo):
        return None
    return Node.make(node.op, (inner.inputs[0],) + node.inputs[1:])


@rule(RULES, BroadcastTo)
def broadcast_identity(node: Node) -> Optional[Node]:
    """broadcast_to(x) to x's own (known) shape -> x"""
    x = node.inputs[0]
    return x if x.type.is_static and x.type.shape == node.type.shape else None


@rule(RULES, Squeeze)
def squeeze_expand(node: Node) -> Optional[Node]:
    """squeeze(expand_dims(x, axes), axes) -> x"""
    inner = node.inputs[0]
    if isinstance(inner.op, ExpandDims) and inner.op.axes == node.op.axes:
        return inner.inputs[0]
    return None


@rule(RULES, ExpandDims)
def expand_squeeze(node: Node) -> Optional[Node]:
    """expand_dims(squeeze(x, axes), axes) -> x when those axes are known to be 1"""
    inner = node.inputs[0]
    if isinstance(inner.op, Squeeze) and inner.op.axes == node.op.axes:
        x = inner.inputs[0]
        return x if x.type.shape == node.type.shape else None
    return None


@rule(RULES, Squeeze)
def squeeze_reduce(node: Node) -> Optional[Node]:
    """squeeze(sum(x, axes, keepdims=True), axes) -> sum(x, axes)"""
    inner = node.inputs[0]
    if isinstance(inner.op, Reduce) and inner.op.keepdims and inner.op.axes == node.op.axes:
        return Node.make(Reduce(inner.op.kind, inner.op.axes, False), inner.inputs)
    return None


@rule(RULES, Reduce)
def reduce_unit_axes(node: Node) -> Optional[Node]:
    """A reduction over axes of size 1 is a squeeze (those axes are dropped from it)"""
    x = node.inputs[0]
    unit = tuple(a for a in node.op.axes if x.type.shape[a] == 1)
    if not unit or node.dtype != x.dtype:
        return None
    rest = tuple(a for a in node.op.axes if a not in unit)
    reduced = Node.make(Reduce(node.op.kind, rest, node.op.keepdims), [x]) if rest else x
    if not node.op.keepdims:
        reduced = squeeze(reduced, tuple(a - sum(r < a for r in rest) for a in unit))
    return fit(reduced, node)


def _factor(node: Node, axes: tuple[int, ...]) -> Optional[Node]:
    """The number of elements of a broadcast `node` over `axes`, as a scalar of its dtype."""
    dims = [node.type.shape[a] for a in axes]
    if None not in dims:
        return constant(np.asarray(np.prod(dims, dtype=np.int64), dtype=node.dtype))
    if len(node.inputs) == 2:  # the template has the broadcast's run-time shape
        return Node.make(CountOf(axes, node.dtype), [node.inputs[1]])
    return None


@rule(RULES, Reduce)
def sum_broadcast(node: Node) -> Optional[Node]:
    """sum(broadcast_to(x)) over broadcast axes -> sum(x) scaled by their size"""
    b = node.inputs[0]
    if node.op.kind != "sum" or not isinstance(b.op, BroadcastTo) or not is_float(b.dtype):
        return None
    x = b.inputs[0]
    lead = b.ndim - x.ndim
    padded = expand_dims(x, tuple(range(lead))) if lead else x
    spread = tuple(a for a in node.op.axes if padded.type.shape[a] == 1 and b.type.shape[a] != 1)
    if not spread:
        return None
    factor = _factor(b, spread)
    if factor is None:
        return None
    summed_axes = tuple(a for a in node.op.axes if a not in spread)
    total = reduce_sum(padded, summed_axes, keepdims=True) if summed_axes else padded
    scaled = apply("mul", factor, total)
    return fit(scaled if node.op.keepdims else squeeze(scaled, node.op.axes), node)


def _slice_ranges(node: Node) -> Optional[list[tuple[int, int]]]:
    """The [start, stop) of each axis a scatter_into of only unit-step slices writes, when
    its template's sizes are known."""
    shape = node.type.shape
    if not node.type.is_static or any(item[0] != "slice" for item in node.op.items):
        return None
    ranges = [slice(*item[1:]).indices(n) for item, n in zip(node.op.items, shape)]
    return None if any(step != 1 for _, _, step in ranges) else [(start, max(start, stop)) for start, stop, _ in ranges]


@rule(RULES, Elemwise)
def add_adjacent_scatters(node: Node) -> Optional[Node]:
    """scatter_into(a, t)[i:j] + scatter_into(b, t)[j:k] -> scatter_into(concatenate(a, b), t)[i:k]
    (the gradient of split's pieces becomes a concatenation)"""
    if not is_fn(node, "add") or not all(isinstance(i.op, ScatterInto) for i in node.inputs):
        return None
    first, second = node.inputs
    if first.inputs[1] is not second.inputs[1] or not first.dtype == second.dtype == node.dtype:
        return None
    a, b = _slice_ranges(first), _slice_ranges(second)
    if a is None or b is None:
        return None
    differ = [axis for axis, (ra, rb) in enumerate(zip(a, b)) if ra != rb]
    if len(differ) != 1:
        return None
    (axis,) = differ
    if a[axis][1] != b[axis][0]:
        if b[axis][1] != a[axis][0]:
            return None
        first, second, a, b = second, first, b, a
    items = list(first.op.items)
    items[axis] = ("slice", a[axis][0], b[axis][1], None)
    joined = concatenate([first.inputs[0], second.inputs[0]], axis)
    return Node.make(ScatterInto(tuple(items)), [joined, first.inputs[1]])


@rule(RULES, ScatterInto)
def scatter_everywhere(node: Node) -> Optional[Node]:
    """scatter_into(g, t) writing every element of t -> g"""
    ranges = _slice_ranges(node)
    if ranges is None or any(r != (0, n) for r, n in zip(ranges, node.type.shape)):
        return None
    return fit(node.inputs[0], node)


def _progression(where: IndexMap, shape: tuple, index: Node) -> Optional[tuple]:
    """The basic index equal to reading through `index` along where's one axis when index is
    a constant int, or a 1-d constant stepping evenly whose axis stays in place; else None."""
    values = constant_value(index)
    if where.along or len(where.axes) != 1 or values is None or values.ndim > 1 or values.size == 0:
        return None
    (axis,), n = where.axes, shape[where.axes[0]]
    if n is None or (values.ndim == 1 and where.at != axis) or np.any((values < -n) | (values >= n)):
        return None
    wrapped = np.where(values < 0, values + n, values).astype(np.int64)
    items = [("slice", None, None, None)] * len(shape)
    if values.ndim == 0:
        items[axis] = ("int", int(wrapped))
        return tuple(items)
    step = int(wrapped[1] - wrapped[0]) if wrapped.size > 1 else 1
    if step == 0 or np.any(np.diff(wrapped) != step):
        return None
    stop = int(wrapped[0]) + step * wrapped.size
    items[axis] = ("slice", int(wrapped[0]), stop if stop >= 0 else None, step)
    return tuple(items)


@rule(RULES, Gather)
def take_progression(node: Node) -> Optional[Node]:
    """take(x, [a, a+s, ..., a+(m-1)s], axis) -> x[..., a:a+ms:s, ...] and a constant int
    index -> x[..., i, ...] (a view, computed inside its consumers)"""
    x, *indices = node.inputs
    items = _progression(node.op.where, x.type.shape, indices[0]) if len(indices) == 1 else None
    return None if items is None else fit(Node.make(GetItem(items), [x]), node)


@rule(RULES, GatherAdd)
def scatter_add_progression(node: Node) -> Optional[Node]:
    """scatter_add(g, t, evenly stepping constant indices) -> scatter_into(g, t) (distinct
    places: nothing accumulates)"""
    g, template, *indices = node.inputs
    items = _progression(node.op.where, template.type.shape, indices[0]) if len(indices) == 1 else None
    return None if items is None else fit(Node.make(ScatterInto(items), [g, template]), node)


@rule(RULES, Reduce)
def reduce_uniform_constant(node: Node) -> Optional[Node]:
    """prod of all-ones or all-zeros, max or min of a constant whose elements are all c -> c
    (products of other values round differently in each order, so they stay)"""
    c = scalar_value(node.inputs[0])
    if node.op.kind == "sum" or c is None or (node.op.kind == "prod" and c not in (0, 1)):
        return None
    empty = any(node.inputs[0].type.shape[a] == 0 for a in node.op.axes)
    return fit(constant(np.asarray(1 if empty else c, dtype=node.dtype)), node)


@rule(RULES, Reduce, FINITE)
def sum_scaled(node: Node) -> Optional[Node]:
    """sum(c * x) -> c * sum(x) and sum(x / c) -> sum(x) / c for a one-element c
    (distributivity: inf * (1 + 0) is inf where inf * 1 + inf * 0 is nan)"""
    y = node.inputs[0]
    if node.op.kind != "sum" or not is_float(y.dtype) or not is_fn(y, "mul", "truediv"):
        return None
    a, b = y.inputs
    candidates = [(b, a), (a, b)] if y.op.fn == "mul" else [(a, b)]
    for x, c in candidates:
        if is_scalar_like(c) and x.type.shape == y.type.shape and x.dtype == y.dtype:
            c = c if c.ndim <= node.ndim else reshape(c, ())
            total = Node.make(node.op, [x])
            return fit(apply(y.op.fn, c, total) if y.op.fn == "mul" else apply("truediv", total, c), node)
    return None


@rule(RULES, Reduce)
def sum_neg(node: Node) -> Optional[Node]:
    """sum(-x) -> -sum(x)"""
    y = node.inputs[0]
    if node.op.kind != "sum" or not is_fn(y, "neg") or not is_float(y.dtype):
        return None
    return neg(Node.make(node.op, y.inputs))


@rule(RULES, Reduce)
def sum_sum(node: Node) -> Optional[Node]:
    """sum(sum(x, a1), a2) -> sum(x, a1 + a2)"""
    inner = node.inputs[0]
    if node.op.kind != "sum" or not isinstance(inner.op, Reduce) or inner.op.kind != "sum":
        return None
    if inner.dtype != inner.inputs[0].dtype or inner.op.keepdims != node.op.keepdims:
        return None
    x, first = inner.inputs[0], inner.op.axes
    if inner.op.keepdims:
        second = node.op.axes
    else:
        remaining = [a for a in range(x.ndim) if a not in first]
        second = tuple(remaining[a] for a in node.op.axes)
    axes = tuple(sorted(set(first) | set(second)))
    return fit(Node.make(Reduce("sum", axes, node.op.keepdims), [x]), node)


@rule(RULES, Reduce)
def sum_one_hot(node: Node) -> Optional[Node]:
    """sum(one_hot(y), class axis) -> 1 (each row holds one 1; bad labels make one_hot raise)"""
    hot = node.inputs[0]
    if node.op.kind != "sum" or not isinstance(hot.op, OneHot) or hot.ndim - 1 not in node.op.axes:
        return None
    labels = hot.inputs[0]
    ones = broadcast_to(constant(np.ones((), node.dtype)), labels)
    if node.op.keepdims:
        ones = expand_dims(ones, labels.ndim)
    rest = tuple(a for a in node.op.axes if a != hot.ndim - 1)
    total = reduce_sum(ones, rest, keepdims=node.op.keepdims) if rest else ones
    return fit(total, node)


@rule(RULES, None)
def cheaper_template(node: Node) -> Optional[Node]:
    """count(log_softmax(z)) -> count(z): a shape-only input becomes the earliest node of its shape

    so that no value is computed only for its shape."""
    inputs = list(node.inputs)
    for position in node.op.shape_only_inputs:
        if position >= len(inputs):
            continue
        template = inputs[position]
        while template.inputs and same_shape_input(template) is not None:
            template = same_shape_input(template)
        inputs[position] = template
    return Node.make(node.op, inputs) if inputs != list(node.inputs) else None
