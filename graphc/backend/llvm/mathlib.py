"""exp, log, tanh and sigmoid as loop-IR polynomials.

LLVM scalarises vector `llvm.exp`/`llvm.log` into libm calls, so these are
written with primitive ops only (fma, rint, bit casts, selects). The same tree
serves float32 and float64, scalar or vector. Accuracy: a few ulp over the
whole range; IEEE special values (inf, nan, 0, negatives for log) as numpy.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable

from .loopir import (MATH_OPS, Bin, Bitcast, Cast, Const, Expr, Fma, Let, Node, Select, Un, Var,
                     binop, const, rewrite)


class _F:
    """Per-dtype constants of the IEEE format."""

    def __init__(self, dtype: str):
        f32 = dtype == "float32"
        self.dtype = dtype
        self.int = "int32" if f32 else "int64"
        self.mant_bits = 23 if f32 else 52
        self.bias = 127 if f32 else 1023
        self.exp_hi = 88.72283935546875 if f32 else 709.782712893384
        self.exp_lo = -87.33654475 if f32 else -708.3964185322641
        self.ln2_hi = 0.693359375 if f32 else 6.93147180369123816490e-01
        self.ln2_lo = -2.12194440e-4 if f32 else 1.90821492927058770002e-10
        self.min_normal = 2.0 ** (1 - self.bias)
        self.exp_terms = 8 if f32 else 14            # Taylor terms of e^r, |r| <= ln2/2
        self.log_terms = 5 if f32 else 11            # terms of atanh series in s^2, |s| <= 0.172
        self.tanh_small = 0.55 if f32 else 0.3
        self.tanh_terms = 9 if f32 else 12

    def c(self, v: float) -> Const:
        return const(v, self.dtype)

    def i(self, v: int) -> Const:
        return const(v, self.int)


def _let(name: str, value: Expr, body: Callable[[Var], Expr]) -> Expr:
    v = Var(name, value.type.dtype)
    return Let(v, value, body(v))


def _horner(x: Expr, coeffs: list[float], f: _F) -> Expr:
    """sum coeffs[k] * x**k by Horner's rule with fma."""
    acc: Expr = f.c(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = Fma(acc, x, f.c(c))
    return acc


def _sel(cond: Expr, a: Expr, b: Expr) -> Expr:
    return Select(cond, a, b)


def exp(x: Expr) -> Expr:
    f = _F(x.type.dtype)
    taylor = [1.0 / math.factorial(k) for k in range(f.exp_terms)]

    def body(x: Var) -> Expr:
        xc = binop("min", binop("max", x, f.c(f.exp_lo)), f.c(f.exp_hi))
        return _let("_exp_n", Un("round", xc * f.c(1.0 / math.log(2.0))), lambda n: _let(
            "_exp_r", Fma(n, f.c(-f.ln2_lo), Fma(n, f.c(-f.ln2_hi), xc)), lambda r: _finish(x, n, r)))

    def _finish(x: Var, n: Var, r: Var) -> Expr:
        biased = Cast(n, f.int) + f.i(f.bias - 1)
        scale = Bitcast(Bin("shl", biased, f.i(f.mant_bits)), f.dtype)   # 2**(n-1): no overflow at n=max
        y = _horner(r, taylor, f) * scale * f.c(2.0)
        y = _sel(x.gt(f.c(f.exp_hi)), f.c(math.inf), _sel(x.lt(f.c(f.exp_lo)), f.c(0.0), y))
        return _sel(x.ne(x), x, y)

    return _let("_exp_x", x, body)


def log(x: Expr) -> Expr:
    f = _F(x.type.dtype)
    series = [1.0 / (2 * k + 1) for k in range(f.log_terms)]
    shift = 25 if f.dtype == "float32" else 54
    mant_mask = (1 << f.mant_bits) - 1

    def body(x: Var) -> Expr:
        tiny = x.lt(f.c(f.min_normal))                           # subnormals: scale into range
        xs = _sel(tiny, x * f.c(2.0 ** shift), x)
        return _let("_log_b", Bitcast(xs, f.int), lambda b: _mantissa(x, tiny, b))

    def _mantissa(x: Var, tiny: Expr, b: Var) -> Expr:
        e = Bin("shr", b, f.i(f.mant_bits)) - f.i(f.bias) - _sel(tiny, f.i(shift), f.i(0))
        m = Bitcast(Bin("or", Bin("and", b, f.i(mant_mask)), f.i(f.bias << f.mant_bits)), f.dtype)
        return _let("_log_m", m, lambda m: _let(
            "_log_big", m.gt(f.c(math.sqrt(2.0))), lambda big: _series(
                x, Cast(e, f.dtype) + _sel(big, f.c(1.0), f.c(0.0)), _sel(big, m * f.c(0.5), m))))

    def _series(x: Var, e: Expr, m: Expr) -> Expr:
        return _let("_log_e", e, lambda e: _let("_log_f", m - f.c(1.0), lambda fr: _let(
            "_log_s", fr / (f.c(2.0) + fr), lambda s: _result(x, e, s))))

    def _result(x: Var, e: Var, s: Var) -> Expr:
        logm = s * f.c(2.0) * _horner(s * s, series, f)
        y = Fma(e, f.c(f.ln2_hi), Fma(e, f.c(f.ln2_lo), logm))
        y = _sel(x.eq(f.c(math.inf)), x, y)
        y = _sel(x.lt(f.c(0.0)), f.c(math.nan), y)
        y = _sel(x.eq(f.c(0.0)), f.c(-math.inf), y)
        return _sel(x.ne(x), x, y)

    return _let("_log_x", x, body)


def _tanh_taylor(terms: int) -> list[float]:
    """Coefficients c_k of tanh(x) = sum c_k x^(2k+1), from Bernoulli numbers."""
    bern = [Fraction(1)]
    for m in range(1, 2 * terms + 2):
        bern.append(-sum(Fraction(math.comb(m + 1, k)) * bern[k] for k in range(m)) / (m + 1))
    out = []
    for k in range(terms):
        n = 2 * k + 2
        out.append(float(Fraction(2 ** n * (2 ** n - 1)) * bern[n] / math.factorial(n)))
    return out


def tanh(x: Expr) -> Expr:
    f = _F(x.type.dtype)
    coeffs = _tanh_taylor(f.tanh_terms)

    def body(x: Var) -> Expr:
        return _let("_tanh_a", Un("abs", x), lambda a: _pick(x, a))

    def _pick(x: Var, a: Var) -> Expr:
        small = x * _horner(x * x, coeffs, f)
        large = f.c(1.0) - f.c(2.0) / (exp(a * f.c(2.0)) + f.c(1.0))
        large = _sel(x.lt(f.c(0.0)), -large, large)
        return _sel(a.lt(f.c(f.tanh_small)), small, _sel(x.ne(x), x, large))

    return _let("_tanh_x", x, body)


def sigmoid(x: Expr) -> Expr:
    one = const(1.0, x.type.dtype)
    return one / (one + exp(-x))


_EXPANSIONS = {"exp": exp, "log": log, "tanh": tanh, "sigmoid": sigmoid}


def expand(node: Node) -> Node:
    """Replace every exp/log/tanh/sigmoid in `node` by its polynomial."""
    def visit(n: Node):
        if isinstance(n, Un) and n.op in MATH_OPS:
            return _EXPANSIONS[n.op](n.a)
        return None

    return rewrite(node, visit)
