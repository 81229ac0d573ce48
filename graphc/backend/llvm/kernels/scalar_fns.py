"""The elementwise functions of graphc.ops (Elemwise.fn) as loop-IR expressions.

Every function's record (graphc.ops.scalar_fn.ScalarFn) carries its formula over the
primitives of graphc.ops.formula; `lower` picks the dtype the function computes in by
the record's dtype rule, converts the operands and translates the formula generically.
exp, log, tanh and sigmoid become loop-IR `Un` ops that mathlib expands into
polynomials; integer powers are multiplied out by squaring.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from ....ops import formula as F
from ....ops.formula import Scalar
from ....ops.scalar_fn import SCALAR_FNS
from ..loopir import Bin, Cast, Const, Expr, Fma, Let, Select, Var, binop, check, const, is_float, unop


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


#: Formula primitives that are loop-IR ops of the same name (rint is loop IR's "round").
_BINARY = frozenset({"add", "sub", "mul", "div", "min", "max", "and", "or", "xor",
                     "lt", "le", "gt", "ge", "eq", "ne"})
_UNARY = {"neg": "neg", "abs": "abs", "sqrt": "sqrt", "floor": "floor", "ceil": "ceil", "rint": "round",
          "not": "not", "exp": "exp", "log": "log", "tanh": "tanh", "sigmoid": "sigmoid"}


def _power(a: Expr, b: Expr) -> Expr:
    return binop("pow", a, b) if is_float(a.type.dtype) else _int_pow(a, b)


def _horner(x: Expr, coeffs: Sequence[float]) -> Expr:
    dtype = x.type.dtype
    acc: Expr = const(coeffs[-1], dtype)
    for c in reversed(coeffs[:-1]):
        acc = Fma(acc, x, const(c, dtype))
    return acc


class _Translation:
    """One formula as a loop-IR expression over `args` in `dtype`; a formula node (or an
    operand) used more than once is bound once with Let, named `prefix` and a number."""

    def __init__(self, args: Sequence[Expr], dtype: str, prefix: str):
        self.args, self.dtype, self.prefix = args, dtype, prefix
        self.bindings: list[tuple[Var, Expr]] = []
        self.done: dict[int, Expr] = {}

    def run(self, root: Scalar) -> Expr:
        uses: dict[int, int] = {}
        self._count(root, uses)
        self.shared = {k for k, n in uses.items() if n > 1}
        value = self._expr(root)
        for var, bound in reversed(self.bindings):
            value = Let(var, bound, value)
        return value

    def _count(self, node: Scalar, uses: dict[int, int]) -> None:
        key = self._key(node)
        uses[key] = uses.get(key, 0) + 1
        if uses[key] == 1:
            for a in node.args:
                self._count(a, uses)

    @staticmethod
    def _key(node: Scalar) -> int:
        """Operands count by index (each `arg(k)` call makes a new node), the rest by identity."""
        return -1 - node.value if node.op == "arg" else id(node)

    def _expr(self, node: Scalar) -> Expr:
        key = self._key(node)
        if key in self.done:
            return self.done[key]
        value = self._build(node)
        if key in self.shared and not isinstance(value, (Var, Const)):
            var = Var(f"{self.prefix}{len(self.bindings)}", value.type.dtype)
            self.bindings.append((var, value))
            value = var
        self.done[key] = value
        return value

    def _build(self, node: Scalar) -> Expr:
        op, dtype = node.op, self.dtype
        if op == "arg":
            return self.args[node.value]
        if op == "const":
            return const(node.value, dtype)
        a = [self._expr(x) for x in node.args]
        if op in _BINARY:
            return binop(op, *a)
        if op in _UNARY:
            return unop(_UNARY[op], a[0])
        if op == "pow":
            return _power(*a)
        if op == "fma":
            return Fma(*a)
        if op == "select":
            return Select(*a)
        if op == "poly":
            return _horner(a[0], node.value)
        raise NotImplementedError(f"the llvm backend has no lowering of the formula primitive {op!r}")


def _work_dtype(rule: str, args: Sequence[Expr], out_dtype: str) -> str:
    """The dtype a function computes in: its result's, or for bool results of comparisons
    and predicates (rule "bool") the operands' promoted dtype."""
    return np.result_type(*(a.type.dtype for a in args)).name if rule == "bool" else out_dtype


@lru_cache(maxsize=None)
def _formula(fn: str, work: str) -> Scalar:
    """`fn`'s formula over its operands in `work` (built once: formulas are immutable)."""
    spec = SCALAR_FNS[fn]
    return spec.lower(work, *(F.arg(k) for k in range(spec.arity)))


def lower(fn: str, args: Sequence[Expr], out_dtype: str) -> Expr:
    """The expression of `fn(*args)` whose result has `out_dtype` (the node's dtype)."""
    spec = SCALAR_FNS.get(fn)
    if spec is None:
        raise NotImplementedError(f"the llvm backend cannot lower elementwise {fn!r}: no such function")
    work = _work_dtype(spec.dtype_rule, args, out_dtype)
    first = 1 if spec.dtype_rule == "select" else 0     # where's condition stays bool
    args = [*args[:first], *(a if a.type.dtype == work else Cast(a, work) for a in args[first:])]
    value = _Translation(args, work, f"_{fn}").run(_formula(fn, work))
    return value if value.type.dtype == out_dtype else Cast(value, out_dtype)
