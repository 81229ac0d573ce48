"""Elementwise activations of modern CNNs, as compositions of elementwise ops.

Each is one fused expression in compiled code. Piecewise functions select with `where`,
so the gradient at a kink is the derivative of the branch `where` picks there, chosen to
match PyTorch's backward: leaky_relu and elu take the left branch at 0, relu6 and
hardsigmoid have zero gradient at their corners, hardswish takes the outer branches'
(0 at -3, 1 at 3). Branches that are not taken never see values
that overflow (elu's exp only sees x <= 0), so gradients stay finite.
"""
from __future__ import annotations

import math
from typing import Any

from ...ir import Node
from ..elementwise import logical_and, where
from ..transcendental import erf, expm1, sigmoid, tanh
from .axis_maps import float_input


def _inside(x: Node, lo: float, hi: float) -> Node:
    """lo < x < hi, the open interval where clamped functions have a nonzero gradient."""
    return logical_and(x > lo, x < hi)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Node:
    """x for x > 0, negative_slope * x otherwise."""
    x = float_input(x)
    return where(x > 0, x, x * negative_slope)


def elu(x: Any, alpha: float = 1.0) -> Node:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = float_input(x)
    negative = where(x > 0, 0.0, x)
    return where(x > 0, x, alpha * expm1(negative))


def gelu(x: Any, approximate: str = "none") -> Node:
    """x * Phi(x), Phi the standard normal CDF: exact through erf ("none"), or
    PyTorch's tanh approximation ("tanh")."""
    x = float_input(x)
    if approximate == "none":
        return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x: Any) -> Node:
    """x * sigmoid(x) (also called swish)."""
    x = float_input(x)
    return x * sigmoid(x)


def relu6(x: Any) -> Node:
    """min(max(x, 0), 6); zero gradient at 0 and 6."""
    x = float_input(x)
    return where(_inside(x, 0, 6), x, where(x <= 0, 0.0, 6.0))


def hardsigmoid(x: Any) -> Node:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    x = float_input(x)
    return where(_inside(x, -3, 3), x * (1 / 6) + 0.5, where(x <= -3, 0.0, 1.0))


def hardswish(x: Any) -> Node:
    """x * relu6(x + 3) / 6: 0 below -3, x above 3, x (x + 3) / 6 between."""
    x = float_input(x)
    middle = x * (x + 3) * (1 / 6)
    return where(x <= -3, 0.0, where(x < 3, middle, x))
