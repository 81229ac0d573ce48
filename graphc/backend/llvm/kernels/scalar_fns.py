"""The elementwise functions of graphc.ops (Elemwise.fn) as loop-IR expressions.

One entry per function name of `graphc.ops.elementwise.SCALAR_FNS`; each takes
operand expressions already converted to the computation dtype. `lower` picks
that dtype the way numpy does and converts the operands.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ..loopir import Bin, Cast, Expr, Let, Select, Un, Var, binop, const, unop


def _c(x: Expr, v: float) -> Expr:
    return const(v, x.type.dtype)


def _log1p(x: Expr) -> Expr:
    """log(1+x) with the rounding of 1+x corrected: log(u) * x / (u - 1)."""
    u = Var("_log1p_u", x.type.dtype)
    body = Select(u.eq(_c(x, 1.0)), x, Un("log", u) * x / (u - _c(x, 1.0)))
    return Let(u, x + _c(x, 1.0), body)


def _expm1(x: Expr) -> Expr:
    """exp(x)-1 without cancellation near 0 (Kahan): (u - 1) * x / log(u)."""
    u = Var("_expm1_u", x.type.dtype)
    um1 = u - _c(x, 1.0)
    body = Select(u.eq(_c(x, 1.0)), x, Select(um1.eq(_c(x, -1.0)), _c(x, -1.0),
                                               Select(u.eq(_c(x, math.inf)), u, um1 * x / Un("log", u))))
    return Let(u, Un("exp", x), body)


def _sign(x: Expr) -> Expr:
    return Select(x.gt(_c(x, 0)), _c(x, 1), Select(x.lt(_c(x, 0)), _c(x, -1), x))


def _int_pow(a: Expr, b: Expr) -> Expr:
    """a ** b for integers, by squaring over every bit of b (wrapping as numpy does).

    numpy refuses negative exponents; here they give 0, except for bases 1 and -1.
    """
    dtype = a.type.dtype
    c = lambda v: const(v, dtype)  # noqa: E731
    bits = 8 * np.dtype(dtype).itemsize - 1

    def step(k: int, result: Expr, power: Expr) -> Expr:
        if k == bits:
            return result
        r, p = Var(f"_pow_r{k}", dtype), Var(f"_pow_p{k}", dtype)
        bit_set = binop("and", Bin("shr", b, c(k)), c(1)).eq(c(1))
        return Let(r, Select(bit_set, result * power, result), Let(p, power * power, step(k + 1, r, p)))

    odd = binop("and", b, c(1)).eq(c(1))
    unit = Select(a.eq(c(1)), c(1), Select(a.eq(c(-1)), Select(odd, c(-1), c(1)), c(0)))
    return Select(b.lt(c(0)), unit, step(0, c(1), a))


def _softplus(x: Expr) -> Expr:
    return binop("max", x, _c(x, 0)) + _log1p(Un("exp", -Un("abs", x)))


LOWERINGS: dict[str, Callable[..., Expr]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "pow": lambda a, b: binop("pow", a, b) if a.type.dtype in ("float32", "float64") else _int_pow(a, b),
    "maximum": lambda a, b: binop("max", a, b), "minimum": lambda a, b: binop("min", a, b),
    "neg": lambda a: -a, "abs": lambda a: unop("abs", a), "sqrt": lambda a: unop("sqrt", a),
    "exp": lambda a: Un("exp", a), "log": lambda a: Un("log", a), "tanh": lambda a: Un("tanh", a),
    "sigmoid": lambda a: Un("sigmoid", a), "log1p": _log1p, "expm1": _expm1, "sign": _sign,
    "relu": lambda a: binop("max", a, _c(a, 0)), "softplus": _softplus,
    "where": lambda c, a, b: Select(c, a, b),
    "logical_and": lambda a, b: binop("and", a, b), "logical_or": lambda a, b: binop("or", a, b),
    "logical_not": lambda a: Un("not", a),
    **{cmp: (lambda op: lambda a, b: binop(op, a, b))(cmp) for cmp in ("lt", "le", "gt", "ge", "eq", "ne")},
}
_FLOAT_ONLY = {"truediv", "exp", "log", "tanh", "sigmoid", "log1p", "expm1", "sqrt", "softplus"}


def lower(fn: str, args: Sequence[Expr], out_dtype: str) -> Expr:
    """The expression of `fn(*args)` whose result has `out_dtype` (the node's dtype)."""
    if fn not in LOWERINGS:
        raise NotImplementedError(f"the llvm backend cannot lower elementwise {fn!r}")
    if fn == "where":
        work = out_dtype
        args = [args[0], *(a if a.type.dtype == work else Cast(a, work) for a in args[1:])]
    else:
        work = out_dtype if out_dtype != "bool" or fn.startswith("logical") else \
            np.result_type(*(a.type.dtype for a in args)).name
        if fn in _FLOAT_ONLY and work not in ("float32", "float64"):
            raise NotImplementedError(f"{fn} on {work}")
        args = [a if a.type.dtype == work else Cast(a, work) for a in args]
    value = LOWERINGS[fn](*args)
    return value if value.type.dtype == out_dtype else Cast(value, out_dtype)
