"""The elementwise functions of graphc.ops (Elemwise.fn) as loop-IR expressions.

One entry per function name of `graphc.ops.elementwise.SCALAR_FNS`; each takes
operand expressions already converted to the computation dtype. `lower` picks
that dtype the way numpy does and converts the operands.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np

from ..loopir import Bin, Cast, Const, Expr, Let, Select, Un, Var, binop, check, const, unop


def _c(x: Expr, v: float) -> Expr:
    return const(v, x.type.dtype)


def _log1p(x: Expr) -> Expr:
    """log(1+x) with the rounding of 1+x corrected: log(u) * (x / (u - 1)). The factor, near 1,
    is formed first so that log(u) * x cannot overflow for large x; u = inf gives inf."""
    u = Var("_log1p_u", x.type.dtype)
    corrected = Un("log", u) * (x / (u - _c(x, 1.0)))
    body = Select(u.eq(_c(x, 1.0)), x, Select(u.eq(_c(x, math.inf)), u, corrected))
    return Let(u, x + _c(x, 1.0), body)


def _expm1(x: Expr) -> Expr:
    """exp(x)-1 without cancellation near 0 (Kahan): (u - 1) * (x / log(u)). The factor, near 1,
    is formed first so that (u - 1) * x cannot overflow while exp(x) is still finite."""
    u = Var("_expm1_u", x.type.dtype)
    um1 = u - _c(x, 1.0)
    body = Select(u.eq(_c(x, 1.0)), x, Select(um1.eq(_c(x, -1.0)), _c(x, -1.0),
                                               Select(u.eq(_c(x, math.inf)), u, um1 * (x / Un("log", u)))))
    return Let(u, Un("exp", x), body)


def _sign(x: Expr) -> Expr:
    return Select(x.gt(_c(x, 0)), _c(x, 1), Select(x.lt(_c(x, 0)), _c(x, -1), x))


def _int_pow(a: Expr, b: Expr) -> Expr:
    """a ** b for integers by squaring, wrapping as numpy does; a negative exponent fails
    the call, as numpy refuses it. A constant exponent multiplies only for its bits."""
    dtype = a.type.dtype
    message = f"pow: integers to negative integer powers are not allowed ({dtype} exponent {{}})"
    base = Var("_pow_a", dtype)
    if isinstance(b, Const):
        value = _const_pow(base, b.value) if b.value >= 0 else const(0, dtype)
        return Let(base, a, check(b.lt(const(0, dtype)), message, value, b))
    exponent = Var("_pow_b", dtype)
    value = check(exponent.lt(const(0, dtype)), message, _var_pow(base, exponent), exponent)
    return Let(base, a, Let(exponent, b, value))


def _const_pow(a: Var, n: int) -> Expr:
    """a ** n for a constant n >= 0 by squaring: one Let per square, one product per set bit."""
    dtype = a.type.dtype

    def from_bit(k: int, power: Var, result: Optional[Expr]) -> Expr:
        """`power` is a ** 2**k; `result` the product for the bits of n below k."""
        if n >> k & 1:
            result = power if result is None else result * power
        if not n >> (k + 1):
            return const(1, dtype) if result is None else result
        square = Var(f"_pow_p{k + 1}", dtype)
        return Let(square, power * power, from_bit(k + 1, square, result))

    return from_bit(0, a, None)


def _var_pow(a: Var, b: Expr) -> Expr:
    """a ** b over every bit of b but the sign (b < 0 is refused by the caller)."""
    dtype = a.type.dtype
    c = lambda v: const(v, dtype)  # noqa: E731
    bits = 8 * np.dtype(dtype).itemsize - 1

    def step(k: int, result: Expr, power: Expr) -> Expr:
        if k == bits:
            return result
        r, p = Var(f"_pow_r{k}", dtype), Var(f"_pow_p{k}", dtype)
        bit_set = binop("and", Bin("shr", b, c(k)), c(1)).eq(c(1))
        return Let(r, Select(bit_set, result * power, result), Let(p, power * power, step(k + 1, r, p)))

    return step(0, c(1), a)


def _softplus(x: Expr) -> Expr:
    return binop("max", x, _c(x, 0)) + _log1p(Un("exp", -Un("abs", x)))


def astype(x: Expr, dtype: str) -> Expr:
    """`x` converted as numpy's astype does on this platform: floats truncate toward zero,
    and NaN or a float outside the integer's range gives its minimum (x86's conversion;
    a bare loop-IR Cast leaves those undefined)."""
    src = x.type.dtype
    if src == dtype or not (src in ("float32", "float64") and dtype in ("int32", "int64")):
        return x if src == dtype else Cast(x, dtype)
    v, bits = Var("_astype_x", src), 8 * np.dtype(dtype).itemsize
    inside = binop("and", v.ge(const(-2.0 ** (bits - 1), src)), v.lt(const(2.0 ** (bits - 1), src)))
    return Let(v, x, Select(inside, Cast(v, dtype), const(-(1 << (bits - 1)), dtype)))


LOWERINGS: dict[str, Callable[..., Expr]] = {
    "add": lambda a, b: binop("or", a, b) if a.type.dtype == "bool" else a + b,   # numpy: True + True is True
    "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
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
