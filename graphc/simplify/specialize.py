"""Specialisation: general ops replaced by the cheaper special cases the backend runs fastest."""
from __future__ import annotations

from typing import Optional

from ..ir import Node
from ..ir.dtypes import is_float
from ..ops.elementwise import apply, sqrt
from .match import fit, scalar_value
from .rule import ALL, FINITE, Rule, rule

RULES: list[Rule] = []


def _exponent(node: Node) -> Optional[float]:
    """The constant exponent of a float power, else None."""
    value = scalar_value(node.inputs[1])
    return None if value is None or not is_float(node.dtype) else value


@rule(RULES, "pow", ALL)
def pow_two(node: Node) -> Optional[Node]:
    """x ** 2 -> x * x"""
    x = node.inputs[0]
    return fit(apply("mul", x, x), node) if _exponent(node) == 2 else None


@rule(RULES, "pow", FINITE)
def pow_half(node: Node) -> Optional[Node]:
    """x ** 0.5 -> sqrt(x) (they differ at -inf: pow gives inf, sqrt nan)"""
    return fit(sqrt(node.inputs[0]), node) if _exponent(node) == 0.5 else None


@rule(RULES, "pow", ALL)
def pow_minus_one(node: Node) -> Optional[Node]:
    """x ** -1 -> 1 / x"""
    return fit(apply("truediv", 1, node.inputs[0]), node) if _exponent(node) == -1 else None
