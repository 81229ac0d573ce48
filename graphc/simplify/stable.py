"""Numerically stable forms: equal in exact arithmetic, better in floating point.

log(1 + x) loses x's low digits when x is small; log(sigmoid(x)) is -inf once sigmoid
underflows; log(softmax(x)) is -inf for large logits. Each is rewritten into the form
that stays accurate and finite.
"""
from __future__ import annotations

from typing import Optional

from ..ir import Node
from ..ops.elementwise import expm1, log1p, neg, softplus
from ..ops.nn import LogSoftmax, Softmax
from .match import fit, is_fn, is_value
from .rule import STABLE, Rule, rule

RULES: list[Rule] = []


@rule(RULES, "log", STABLE)
def log_one_plus(node: Node) -> Optional[Node]:
    """log(1 + x) -> log1p(x)"""
    x = node.inputs[0]
    if not is_fn(x, "add"):
        return None
    a, b = x.inputs
    if is_value(b, 1):
        return fit(log1p(a), node)
    if is_value(a, 1):
        return fit(log1p(b), node)
    return None


@rule(RULES, "sub", STABLE)
def exp_minus_one(node: Node) -> Optional[Node]:
    """exp(x) - 1 -> expm1(x)"""
    a, b = node.inputs
    return fit(expm1(a.inputs[0]), node) if is_fn(a, "exp") and is_value(b, 1) else None


@rule(RULES, "log", STABLE)
def log_exp(node: Node) -> Optional[Node]:
    """log(exp x) -> x"""
    x = node.inputs[0]
    return fit(x.inputs[0], node) if is_fn(x, "exp") else None


@rule(RULES, "log1p", STABLE)
def log1p_exp(node: Node) -> Optional[Node]:
    """log1p(exp x) -> softplus(x)"""
    x = node.inputs[0]
    return fit(softplus(x.inputs[0]), node) if is_fn(x, "exp") else None


@rule(RULES, "log", STABLE)
def log_sigmoid(node: Node) -> Optional[Node]:
    """log(sigmoid x) -> -softplus(-x)"""
    x = node.inputs[0]
    return fit(neg(softplus(neg(x.inputs[0]))), node) if is_fn(x, "sigmoid") else None


@rule(RULES, "log", STABLE)
def log_one_minus_sigmoid(node: Node) -> Optional[Node]:
    """log(1 - sigmoid x) -> -softplus(x)"""
    x = node.inputs[0]
    if is_fn(x, "sub") and is_value(x.inputs[0], 1) and is_fn(x.inputs[1], "sigmoid"):
        return fit(neg(softplus(x.inputs[1].inputs[0])), node)
    return None


@rule(RULES, "log", STABLE)
def log_softmax(node: Node) -> Optional[Node]:
    """log(softmax(x)) -> log_softmax(x)"""
    x = node.inputs[0]
    if not isinstance(x.op, Softmax):
        return None
    return fit(Node.make(LogSoftmax(x.op.axis), x.inputs), node)


@rule(RULES, "exp", STABLE)
def exp_log_softmax(node: Node) -> Optional[Node]:
    """exp(log_softmax(x)) -> softmax(x)"""
    x = node.inputs[0]
    if not isinstance(x.op, LogSoftmax):
        return None
    return fit(Node.make(Softmax(x.op.axis), x.inputs), node)
