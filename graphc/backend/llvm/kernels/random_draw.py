"""Uniform and normal draws in loop IR: graphc.ops.random.draw_value over loop-IR math,
so a compiled kernel computes the float64 operations the numpy reference does."""
from __future__ import annotations

from types import SimpleNamespace

from ....ops.random import draw_value
from ..loopir import Cast, Expr, Let, Select, Un, Var, as_expr, binop

WIDE = "float64"


class LoopMath(SimpleNamespace):
    """The math namespace draw_value reads, building float64 loop-IR expressions. `narrow`
    rounds to the draw's dtype and back; `bind` names a value used more than once (a Let
    around the whole result, see `wrap`), so the expression stays a small tree."""

    def __init__(self, dtype: str, prefix: str):
        wide = lambda v: as_expr(v, WIDE)  # noqa: E731
        super().__init__(
            sqrt=lambda x: Un("sqrt", x), floor=lambda x: Un("floor", x),
            select=lambda c, a, b: Select(c, wide(a), wide(b)),
            ge=lambda a, b: binop("ge", a, b), gt=lambda a, b: binop("gt", a, b),
            eq=lambda a, b: binop("eq", a, b),
            narrow=lambda x: x if dtype == WIDE else Cast(Cast(x, dtype), WIDE))
        self.prefix, self.bindings = prefix, []

    def bind(self, value: Expr) -> Var:
        var = Var(f"{self.prefix}{len(self.bindings)}", WIDE)
        self.bindings.append((var, value))
        return var

    def wrap(self, body: Expr) -> Expr:
        for var, value in reversed(self.bindings):
            body = Let(var, value, body)
        return body


def draw_expr(kind: str, bits: Expr, more_bits: Expr, loc: Expr, scale: Expr, dtype: str, salt: int) -> Expr:
    """One element of a `kind` draw in `dtype` from two 24-bit integers (int32 expressions)
    and loc/scale at the element (in any float dtype: rounded to `dtype` first)."""
    wide = lambda v: Cast(Cast(v, dtype) if v.type.dtype != dtype else v, WIDE)  # noqa: E731
    math = LoopMath(dtype, f"_draw{salt}_")
    value = draw_value(kind, Cast(bits, WIDE), Cast(more_bits, WIDE), wide(loc), wide(scale), math)
    return Cast(math.wrap(value), dtype)
