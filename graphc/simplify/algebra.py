"""Algebra that holds for finite values: x - x, x * 0, 0 @ x, x / x, exp(log x).

Each of these can turn a nan of the original (inf - inf, 0 * inf, 0 / 0, log of a
negative number) into a number, so they carry the FINITE policy.
"""
from __future__ import annotations

from typing import Optional

from ..ir import Node
from ..ir.dtypes import is_float
from ..ops import MatMul
from .match import fit, full_like, is_fn, is_value
from .rule import FINITE, Rule, rule

RULES: list[Rule] = []


@rule(RULES, "sub", FINITE)
def sub_self(node: Node) -> Optional[Node]:
    """x - x -> 0"""
    a, b = node.inputs
    return full_like(node, 0) if a is b else None


@rule(RULES, "mul", FINITE)
def mul_zero(node: Node) -> Optional[Node]:
    """x * 0 -> 0"""
    if not any(is_value(x, 0) for x in node.inputs):
        return None
    return full_like(node, 0)


@rule(RULES, MatMul, FINITE)
def matmul_zero(node: Node) -> Optional[Node]:
    """0 @ x -> 0 and x @ 0 -> 0 (a zero tangent given to jvp, say)"""
    if not any(is_value(x, 0) for x in node.inputs):
        return None
    return full_like(node, 0)


@rule(RULES, "truediv", FINITE)
def div_self(node: Node) -> Optional[Node]:
    """x / x -> 1"""
    a, b = node.inputs
    return full_like(node, 1) if a is b else None


@rule(RULES, "exp", FINITE)
def exp_log(node: Node) -> Optional[Node]:
    """exp(log x) -> x"""
    x = node.inputs[0]
    if not is_fn(x, "log") or not is_float(x.inputs[0].dtype):
        return None
    return fit(x.inputs[0], node)
