"""The record of an elementwise function: everything every layer knows about it.

A `ScalarFn` is one definition (see graphc/ops/elementwise.py and transcendental.py):
its dtype rule, numpy reference, derivative, formula for compiling backends, sympy form
and cost, printing symbol and flags. The op (`Elemwise`), the simplifier, the printer
and the backends read the record; there is no other table keyed by a function's name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from ..ir import Node
from .formula import Scalar

GradRule = Callable[..., Sequence[Optional[Node]]]
#: (dtype it computes in, operand formulas) -> the formula of the result.
Lowering = Callable[..., Scalar]

#: How the result's dtype, and the dtype the function computes in, follow from the operands':
#:   same: both the promoted operand dtype (add, maximum, floor)
#:   float: both the float dtype of the promoted operands (exp, truediv): floats only
#:   bool: a bool result computed in the promoted operand dtype (comparisons, isnan)
#:   logical: bool operands only, a bool result (logical_and)
#:   select: a bool condition first; the others promoted (where)
DTYPE_RULES = ("same", "float", "bool", "logical", "select")


@dataclass(frozen=True)
class ScalarFn:
    """One elementwise function.

    name: its name (`Elemwise.fn`, the listing's and pprint's call name).
    arity, numpy: the number of operands and the numpy reference.
    dtype_rule: one of DTYPE_RULES.
    grad: (out, g, *operands) -> raw gradient per operand (None: none) in graph ops;
        None for functions with no gradient at all (comparisons, logic).
    lower: (dtype, *operands) -> its formula (graphc.ops.formula), computed in `dtype`.
    sympy: how the simplifier reads it: sympy's function name ("exp", "Abs"), "operator"
        (the Python operator `symbol` on sympy expressions) or "opaque" (a call sympy keeps
        whole, so it cannot rewrite it into an unstable form); None: a leaf.
    cost: per-element cost in the simplifier's op-count model (arithmetic is 1).
    symbol: the Python operator it prints as (infix, or prefix for one operand), if any.
    cheap: recomputed in each consumer's kernel rather than stored.
    positive: > 0 (or nan) for every real operand.
    takes_bool: False where numpy has no all-bool version (-b, b - b, sign).
    bool_hint: what to say instead when bool operands are refused.
    """

    name: str
    arity: int
    numpy: Callable[..., np.ndarray]
    dtype_rule: str
    grad: Optional[GradRule]
    lower: Lowering
    sympy: Optional[str] = None
    cost: int = 1
    symbol: Optional[str] = None
    cheap: bool = False
    positive: bool = False
    takes_bool: bool = True
    bool_hint: str = ""

    def __post_init__(self) -> None:
        if self.dtype_rule not in DTYPE_RULES:
            raise ValueError(f"{self.name}: dtype_rule must be one of {DTYPE_RULES}, got {self.dtype_rule!r}")


#: Every elementwise function by name, in definition order.
SCALAR_FNS: dict[str, ScalarFn] = {}


def register(fn: ScalarFn) -> ScalarFn:
    """Add `fn` to SCALAR_FNS (names are unique)."""
    if fn.name in SCALAR_FNS:
        raise ValueError(f"elementwise function {fn.name!r} is defined twice")
    SCALAR_FNS[fn.name] = fn
    return fn
