"""Scalar formulas: how an elementwise function computes one element, for compiling backends.

A formula is a small tree over the function's operands (`arg(k)`), constants (in the
dtype the function computes in) and a fixed vocabulary of primitives, PRIMITIVES, that a
backend implements once: arithmetic and fma, rounding, comparisons and logic, select,
polynomials (`poly`, Horner's rule) and the vectorised transcendentals exp, log, tanh and
sigmoid. Anything else (log1p, sin, erf, ...) is written in the vocabulary by its
definition in graphc.ops, so a backend lowers every elementwise function generically.

Nodes compare by identity: a subformula used twice (a Python variable used twice) is
one node, which a backend computes once.
"""
from __future__ import annotations

from typing import Sequence, Union

#: Each primitive and its number of operands (`arg`, `const`: none; `poly`: its variable).
PRIMITIVES = {
    "arg": 0, "const": 0,
    "add": 2, "sub": 2, "mul": 2, "div": 2, "min": 2, "max": 2, "pow": 2,
    "neg": 1, "abs": 1, "sqrt": 1, "floor": 1, "ceil": 1, "rint": 1,
    "exp": 1, "log": 1, "tanh": 1, "sigmoid": 1,
    "lt": 2, "le": 2, "gt": 2, "ge": 2, "eq": 2, "ne": 2,
    "and": 2, "or": 2, "xor": 2, "not": 1,
    "fma": 3, "select": 3, "poly": 1,
}
Number = Union[int, float, bool]
Operand = Union["Scalar", int, float, bool]


class Scalar:
    """One node of a formula: a primitive applied to operand nodes.

    `value` is the index of an `arg`, the number of a `const` or the coefficients of a
    `poly` (lowest degree first).
    """

    __slots__ = ("op", "args", "value")

    def __init__(self, op: str, args: Sequence["Scalar"] = (), value: object = None):
        if op not in PRIMITIVES:
            raise ValueError(f"formula: unknown primitive {op!r}")
        if len(args) != PRIMITIVES[op]:
            raise ValueError(f"formula: {op} takes {PRIMITIVES[op]} operands, got {len(args)}")
        self.op, self.args, self.value = op, tuple(args), value

    def __repr__(self) -> str:
        if self.op in ("arg", "const"):
            return f"{self.op}({self.value!r})"
        return f"{self.op}({', '.join(map(repr, self.args))})"

    def __add__(self, o: Operand) -> "Scalar": return call("add", self, o)
    def __radd__(self, o: Operand) -> "Scalar": return call("add", o, self)
    def __sub__(self, o: Operand) -> "Scalar": return call("sub", self, o)
    def __rsub__(self, o: Operand) -> "Scalar": return call("sub", o, self)
    def __mul__(self, o: Operand) -> "Scalar": return call("mul", self, o)
    def __rmul__(self, o: Operand) -> "Scalar": return call("mul", o, self)
    def __truediv__(self, o: Operand) -> "Scalar": return call("div", self, o)
    def __rtruediv__(self, o: Operand) -> "Scalar": return call("div", o, self)
    def __neg__(self) -> "Scalar": return call("neg", self)
    def lt(self, o: Operand) -> "Scalar": return call("lt", self, o)
    def le(self, o: Operand) -> "Scalar": return call("le", self, o)
    def gt(self, o: Operand) -> "Scalar": return call("gt", self, o)
    def ge(self, o: Operand) -> "Scalar": return call("ge", self, o)
    def eq(self, o: Operand) -> "Scalar": return call("eq", self, o)
    def ne(self, o: Operand) -> "Scalar": return call("ne", self, o)


def arg(k: int) -> Scalar:
    """Operand `k` of the function, converted to the dtype it computes in."""
    return Scalar("arg", value=k)


def const(value: Number) -> Scalar:
    """A constant of the dtype the function computes in."""
    return Scalar("const", value=value)


def as_scalar(x: Operand) -> Scalar:
    return x if isinstance(x, Scalar) else const(x)


def call(op: str, *operands: Operand) -> Scalar:
    """The primitive `op` applied to `operands` (numbers become constants)."""
    return Scalar(op, [as_scalar(o) for o in operands])


def poly(x: Scalar, coeffs: Sequence[float]) -> Scalar:
    """sum(coeffs[k] * x ** k), by Horner's rule with fused multiply-adds."""
    return Scalar("poly", [x], tuple(float(c) for c in coeffs))


def select(cond: Operand, a: Operand, b: Operand) -> Scalar:
    """`a` where `cond` holds, else `b`."""
    return call("select", cond, a, b)


def fma(a: Operand, b: Operand, c: Operand) -> Scalar:
    """a * b + c with one rounding."""
    return call("fma", a, b, c)


def unary(op: str, x: Operand) -> Scalar:
    """A one-operand primitive: neg, abs, sqrt, floor, ceil, rint, exp, log, tanh, sigmoid, not."""
    return call(op, x)


def binary(op: str, a: Operand, b: Operand) -> Scalar:
    """A two-operand primitive: min, max, pow, and, or, xor (and the arithmetic and comparisons)."""
    return call(op, a, b)
