"""Canonical forms: identities removed, constants merged and ordered, broadcasts lifted.

After these rules equal expressions are written one way (x*y and y*x are one node, by
hash-consing), which is what merges equal subexpressions beyond what construction shares.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import Node, ShapeError
from ..ir.dtypes import is_float
from ..ops.elementwise import Elemwise, apply, neg
from ..ops.leaves import Constant, constant
from ..ops.shape import BroadcastTo, ExpandDims
from .match import fit, full_like, is_constant, is_fn, is_value, scalar_value
from .rule import Rule, rule

RULES: list[Rule] = []

#: Functions whose operands may be swapped (maximum/minimum are left alone: their
#: gradients pick the first operand on ties).
COMMUTATIVE = ("add", "mul", "eq", "ne", "logical_and", "logical_or")


def _other(node: Node, value: float) -> Optional[Node]:
    """The operand of a binary node whose other operand is the constant `value`."""
    a, b = node.inputs
    if is_value(b, value):
        return a
    if is_value(a, value):
        return b
    return None


@rule(RULES, "mul")
def mul_one(node: Node) -> Optional[Node]:
    """x * 1 -> x"""
    x = _other(node, 1)
    return None if x is None else fit(x, node)


@rule(RULES, "add")
def add_zero(node: Node) -> Optional[Node]:
    """x + 0 -> x"""
    x = _other(node, 0)
    return None if x is None else fit(x, node)


@rule(RULES, "sub")
def sub_zero(node: Node) -> Optional[Node]:
    """x - 0 -> x and 0 - x -> -x"""
    a, b = node.inputs
    if is_value(b, 0):
        return fit(a, node)
    if is_value(a, 0):
        return fit(neg(b), node)
    return None


@rule(RULES, "truediv")
def div_one(node: Node) -> Optional[Node]:
    """x / 1 -> x"""
    a, b = node.inputs
    return fit(a, node) if is_value(b, 1) else None


@rule(RULES, "pow")
def pow_one(node: Node) -> Optional[Node]:
    """x ** 1 -> x"""
    a, b = node.inputs
    return fit(a, node) if is_value(b, 1) else None


@rule(RULES, "pow")
def pow_zero(node: Node) -> Optional[Node]:
    """x ** 0 -> 1 (also for inf and nan, as numpy)"""
    return full_like(node, 1) if is_value(node.inputs[1], 0) else None


@rule(RULES, "where")
def where_known_condition(node: Node) -> Optional[Node]:
    """where(True, a, b) -> a and where(False, a, b) -> b"""
    value = scalar_value(node.inputs[0])
    return None if value is None else fit(node.inputs[1] if value else node.inputs[2], node)


@rule(RULES, Elemwise)
def logical_known_operand(node: Node) -> Optional[Node]:
    """a & True -> a, a & False -> False, a | False -> a, a | True -> True"""
    if not is_fn(node, "logical_and", "logical_or"):
        return None
    absorbing = node.op.fn == "logical_or"  # the value that decides the result alone
    for known, other in (node.inputs, reversed(node.inputs)):
        value = scalar_value(known)
        if value is not None:
            return fit(known if bool(value) == absorbing else other, node)
    return None


@rule(RULES, "neg")
def neg_neg(node: Node) -> Optional[Node]:
    """--x -> x"""
    x = node.inputs[0]
    return x.inputs[0] if is_fn(x, "neg") else None


@rule(RULES, "mul")
def mul_minus_one(node: Node) -> Optional[Node]:
    """-1 * x -> -x"""
    x = _other(node, -1)
    return None if x is None else fit(neg(x), node)


@rule(RULES, "mul")
def mul_neg(node: Node) -> Optional[Node]:
    """(-a) * b -> -(a * b): negations move out of products, where they cancel or merge"""
    a, b = node.inputs
    if is_fn(a, "neg"):
        return fit(neg(apply("mul", a.inputs[0], b)), node)
    if is_fn(b, "neg"):
        return fit(neg(apply("mul", a, b.inputs[0])), node)
    return None


@rule(RULES, "neg")
def neg_scaled(node: Node) -> Optional[Node]:
    """-(c * x) -> (-c) * x for a constant c"""
    x = node.inputs[0]
    if is_fn(x, "mul") and is_constant(x.inputs[0]):
        return fit(apply("mul", neg(x.inputs[0]), x.inputs[1]), node)
    return None


@rule(RULES, "mul")
def mul_reciprocal(node: Node) -> Optional[Node]:
    """a * (1 / b) -> a / b"""
    for a, r in (node.inputs, reversed(node.inputs)):
        if is_fn(r, "truediv") and is_value(r.inputs[0], 1):
            return fit(apply("truediv", a, r.inputs[1]), node)
    return None


@rule(RULES, "add")
def add_neg(node: Node) -> Optional[Node]:
    """a + (-b) -> a - b"""
    a, b = node.inputs
    if is_fn(b, "neg"):
        return fit(apply("sub", a, b.inputs[0]), node)
    if is_fn(a, "neg"):
        return fit(apply("sub", b, a.inputs[0]), node)
    return None


@rule(RULES, "sub")
def sub_neg(node: Node) -> Optional[Node]:
    """a - (-b) -> a + b"""
    a, b = node.inputs
    return fit(apply("add", a, b.inputs[0]), node) if is_fn(b, "neg") else None


def _order_key(fn: str):
    """Constants first in products (2 * x), last elsewhere (x + 1); computed nodes before
    inputs (x @ w + b); then by node id (creation order)."""
    first = fn == "mul"
    return lambda n: (is_constant(n) != first, not n.inputs, n.id)


@rule(RULES, Elemwise)
def commute(node: Node) -> Optional[Node]:
    """Operands of commutative functions in canonical order (so x*y and y*x are one node)"""
    fn = node.op.fn
    if fn not in COMMUTATIVE:
        return None
    ordered = sorted(node.inputs, key=_order_key(fn))
    if ordered == list(node.inputs):
        return None
    return Node.make(node.op, ordered)


@rule(RULES, Elemwise)
def merge_constants(node: Node) -> Optional[Node]:
    """c1 * (c2 * x) -> (c1 * c2) * x, and likewise for +"""
    fn = node.op.fn
    if fn not in ("add", "mul"):
        return None
    consts = [i for i in node.inputs if is_constant(i)]
    inner = [i for i in node.inputs if is_fn(i, fn) and not is_constant(i)]
    if len(consts) != 1 or len(inner) != 1:
        return None
    inner_consts = [i for i in inner[0].inputs if is_constant(i)]
    rest = [i for i in inner[0].inputs if not is_constant(i)]
    if len(inner_consts) != 1 or len(rest) != 1:
        return None
    return fit(apply(fn, apply(fn, consts[0], inner_consts[0]), rest[0]), node)


@rule(RULES, "truediv")
def div_by_constant(node: Node) -> Optional[Node]:
    """x / c -> x * (1 / c) for a float constant c"""
    x, c = node.inputs
    if not is_constant(c) or not is_float(node.dtype) or x.dtype != node.dtype:
        return None
    value = c.op.value.astype(node.dtype)
    with np.errstate(divide="ignore", over="ignore"):
        reciprocal = np.asarray(1 / value, dtype=node.dtype)
    if np.any(np.isinf(reciprocal) & (value != 0)):  # 1 / subnormal overflows
        return None
    return fit(apply("mul", x, constant(reciprocal)), node)


def _strip_broadcast(x: Node) -> Node:
    """`x` without broadcasts that an elementwise op's own broadcasting redoes (a one-element
    constant becomes a 0-d one, so equal scalars are one node)."""
    while True:
        if isinstance(x.op, Constant) and x.op.value.size == 1 and x.ndim:
            return constant(x.op.value.reshape(()))
        if isinstance(x.op, BroadcastTo):
            x = x.inputs[0]
        elif isinstance(x.op, ExpandDims) and x.op.axes == tuple(range(len(x.op.axes))):
            x = x.inputs[0]
        else:
            return x


def _template(node: Node) -> Optional[Node]:
    """A broadcast operand's template with `node`'s shape (for unknown dims)."""
    for x in node.inputs:
        if isinstance(x.op, BroadcastTo) and len(x.inputs) == 2 and x.type.shape == node.type.shape:
            return x.inputs[1]
    return None


@rule(RULES, None)
def lift_broadcast(node: Node) -> Optional[Node]:
    """f(broadcast(a), b) -> f(a, b), broadcast after f when needed (f elementwise)"""
    if not node.op.elementwise:
        return None
    stripped = [_strip_broadcast(x) for x in node.inputs]
    if stripped == list(node.inputs):
        return None
    try:
        small = Node.make(node.op, stripped)
    except ShapeError:
        return None
    return fit(small, node, _template(node))
