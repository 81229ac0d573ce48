"""Elementwise exponentials, logarithms, trigonometric functions and erf: one definition each.

Each formula (graphc.ops.formula) is what a compiling backend runs, in float32 or
float64, over its primitives; the comments give the numerics and the tests the
accuracy against numpy (a few ulp; sin, cos and tan for |x| below 2**21 in float32
and 2**50 in float64, nan beyond).
"""
from __future__ import annotations

import math
from decimal import Context, Decimal, localcontext

import numpy as np

from . import formula as F
from .elementwise import define

__all__: list[str] = []  # each definition below adds its name

#: Constants to 40 digits, and the precision to split them into float parts.
_DIGITS = Context(prec=40)
_PI = Decimal("3.141592653589793238462643383279502884197")
_LN2 = Decimal("0.6931471805599453094172321214581765680755")
_LN10 = Decimal("2.302585092994045684017646009178342297604")


def _public(fn):
    __all__.append(fn.__name__)
    return fn


def _log1p(dt: str, x: F.Scalar) -> F.Scalar:
    """log(1+x) with the rounding of u = 1+x corrected: log(u) * (x / (u - 1)). The factor,
    near 1, is formed first so that log(u) * x cannot overflow for large x; u = inf gives inf."""
    u = x + 1
    corrected = F.unary("log", u) * (x / (u - 1))
    return F.select(u.eq(1), x, F.select(u.eq(math.inf), u, corrected))


def _expm1(dt: str, x: F.Scalar) -> F.Scalar:
    """exp(x)-1 without cancellation near 0 (Kahan): (u - 1) * (x / log(u)). The factor, near 1,
    is formed first so that (u - 1) * x cannot overflow while exp(x) is still finite."""
    u = F.unary("exp", x)
    um1 = u - 1
    return F.select(u.eq(1), x, F.select(um1.eq(-1), -1, F.select(u.eq(math.inf), u,
                                                                    um1 * (x / F.unary("log", u)))))


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _stable_softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _scaled_log(scale: Decimal):
    """log(x) * scale, the constant split in two so that the product is rounded once more
    only; the first part is rounded toward zero, so both parts have its sign (log(0) * both
    is -inf, not -inf + inf)."""
    def lower(dt: str, x: F.Scalar) -> F.Scalar:
        cast = np.dtype(dt).type
        hi = cast(scale)
        if Decimal(float(hi)) > scale:
            hi = np.nextafter(hi, cast(0))
        with localcontext(_DIGITS):
            lo = float(scale - Decimal(float(hi)))
        y = F.unary("log", x)
        return F.fma(y, float(hi), y * lo)
    return lower


exp = _public(define("exp", 1, np.exp, "float", lambda out, g, a: (g * out,), lambda dt, a: F.unary("exp", a),
                     "e ** x.", sympy="exp", cost=4, positive=True))
log = _public(define("log", 1, np.log, "float", lambda out, g, a: (g / a,), lambda dt, a: F.unary("log", a),
                     "Natural logarithm.", sympy="log", cost=4))
log1p = _public(define("log1p", 1, np.log1p, "float", lambda out, g, a: (g / (a + 1),), _log1p,
                       "log(1 + x), accurate for small x.", sympy="opaque", cost=4))
expm1 = _public(define("expm1", 1, np.expm1, "float", lambda out, g, a: (g * (out + 1),), _expm1,
                       "exp(x) - 1, accurate for small x.", sympy="opaque", cost=4))
log2 = _public(define("log2", 1, np.log2, "float", lambda out, g, a: (g / (a * math.log(2)),),
                      _scaled_log(_DIGITS.divide(1, _LN2)), "Base-2 logarithm.", sympy="opaque", cost=4))
log10 = _public(define("log10", 1, np.log10, "float", lambda out, g, a: (g / (a * math.log(10)),),
                       _scaled_log(_DIGITS.divide(1, _LN10)), "Base-10 logarithm.", sympy="opaque", cost=4))
sqrt = _public(define("sqrt", 1, np.sqrt, "float", lambda out, g, a: (g * 0.5 / out,),
                      lambda dt, a: F.unary("sqrt", a), "Square root.", sympy="sqrt", cost=2))
rsqrt = _public(define("rsqrt", 1, lambda x: 1 / np.sqrt(x), "float", lambda out, g, a: (g * -0.5 * out / a,),
                       lambda dt, a: 1 / F.unary("sqrt", a), "1 / sqrt(x).",
                       sympy=lambda sp, a: 1 / sp.sqrt(a), cost=3))
sigmoid = _public(define("sigmoid", 1, _stable_sigmoid, "float", lambda out, g, a: (g * out * (1 - out),),
                         lambda dt, a: F.unary("sigmoid", a), "1 / (1 + exp(-x)), computed without overflow.",
                         sympy="opaque", cost=4, positive=True))
tanh = _public(define("tanh", 1, np.tanh, "float", lambda out, g, a: (g * (1 - out * out),),
                      lambda dt, a: F.unary("tanh", a), "Hyperbolic tangent.", sympy="tanh", cost=4))
softplus = _public(define(
    "softplus", 1, _stable_softplus, "float", lambda out, g, a: (g * sigmoid(a),),
    lambda dt, a: F.binary("max", a, 0) + _log1p(dt, F.unary("exp", -F.unary("abs", a))),
    "log(1 + exp(x)), computed without overflow.", sympy="opaque", cost=4, positive=True))


# ---- sin, cos, tan -----------------------------------------------------------------------

def _pio2_parts(dt: str) -> tuple[float, float, float]:
    """pi/2 as three numbers of `dt` whose sum carries about three times its precision."""
    cast, parts = np.dtype(dt).type, []
    with localcontext(_DIGITS):
        rest = _PI / 2
        for _ in range(3):
            parts.append(float(cast(rest)))
            rest -= Decimal(parts[-1])
    return parts[0], parts[1], parts[2]


#: |x| from which sin, cos and tan give nan: the reduction below loses precision beyond
#: (measured: 4 ulp at 2**22 in float32 rising to 30 at 2**23; 1 ulp at 2**50 in float64).
TRIG_LIMIT = {"float32": 2.0 ** 21, "float64": 2.0 ** 50}


def _reduced(dt: str, x: F.Scalar, value: F.Scalar) -> F.Scalar:
    """`value` where |x| is within the reduction's range, else nan (numpy reduces such
    arguments exactly; a wrong value in [-1, 1] would pass unnoticed)."""
    return F.select(F.unary("abs", x).lt(TRIG_LIMIT[dt]), value, math.nan)


def _quadrant(dt: str, x: F.Scalar) -> tuple[F.Scalar, F.Scalar]:
    """(n, r) with x = n * pi/2 + r and |r| <= pi/4 (Cody and Waite: each fma subtracts one
    part of n * pi/2, with an exact product; r keeps its precision while n is the nearest
    integer to x * 2/pi, for |x| below TRIG_LIMIT). n = 0 leaves x itself."""
    c1, c2, c3 = _pio2_parts(dt)
    n = F.unary("rint", x * float(_DIGITS.divide(2, _PI)))
    r = F.fma(-n, c3, F.fma(-n, c2, F.fma(-n, c1, x)))
    return n, F.select(n.eq(0), x, r)


def _taylor(first: int, terms: int) -> list[float]:
    """(-1)**k / (first + 2k)! for k < terms: sin's (first 1) or cos's (first 0) series in r**2."""
    return [(-1) ** k / math.factorial(first + 2 * k) for k in range(terms)]


def _sin_cos(dt: str, r: F.Scalar) -> tuple[F.Scalar, F.Scalar]:
    """sin(r) and cos(r) for |r| <= pi/4 by their Taylor series (truncation below half an ulp)."""
    f32 = dt == "float32"
    r2 = r * r
    sin = F.fma(r * r2, F.poly(r2, _taylor(1, 6 if f32 else 9)[1:]), r)
    cos = F.fma(r2, F.poly(r2, _taylor(0, 7 if f32 else 10)[1:]), 1)
    return sin, cos


def _parity(n: F.Scalar) -> tuple[F.Scalar, F.Scalar]:
    """(n odd, n mod 4 in {2, 3}) for an integer-valued float n."""
    half, quarter = n * 0.5, n * 0.25
    return F.unary("floor", half).ne(half), (quarter - F.unary("floor", quarter)).ge(0.5)


def _sin(dt: str, x: F.Scalar) -> F.Scalar:
    n, r = _quadrant(dt, x)
    s, c = _sin_cos(dt, r)
    odd, upper = _parity(n)
    v = F.select(odd, c, s)
    return _reduced(dt, x, F.select(x.eq(0), x, F.select(upper, -v, v)))  # -0.0 keeps its sign


def _cos(dt: str, x: F.Scalar) -> F.Scalar:
    n, r = _quadrant(dt, x)
    s, c = _sin_cos(dt, r)
    odd, upper = _parity(n)
    v = F.select(odd, s, c)
    return _reduced(dt, x, F.select(F.binary("xor", odd, upper), -v, v))


def _tan(dt: str, x: F.Scalar) -> F.Scalar:
    n, r = _quadrant(dt, x)
    s, c = _sin_cos(dt, r)
    odd, _ = _parity(n)
    return _reduced(dt, x, F.select(x.eq(0), x, F.select(odd, -c / s, s / c)))  # -0.0 keeps its sign


sin = _public(define("sin", 1, np.sin, "float", lambda out, g, a: (g * cos(a),), _sin,
                     "Sine (radians).", sympy="sin", cost=6))
cos = _public(define("cos", 1, np.cos, "float", lambda out, g, a: (-g * sin(a),), _cos,
                     "Cosine (radians).", sympy="cos", cost=6))
tan = _public(define("tan", 1, np.tan, "float", lambda out, g, a: (g * (1 + out * out),), _tan,
                     "Tangent (radians).", sympy="tan", cost=8))


# ---- erf ---------------------------------------------------------------------------------

#: erfc(x) * exp(x**2) * x as a polynomial in u = (1/x - mid) / half, for 1 <= x <= 6 (float64)
#: or 1 <= x <= 4 (float32): interpolation at Chebyshev nodes of 1/x, computed with mpmath
#: at 40 digits. Error below 1e-16 (float64) and 5e-8 (float32) in erf.
_ERFC_FIT = {
    "float64": (6.0, 0.5833333333333334, 0.4166666666666667, [
        0.49666648512593864, -0.07128287792547401, -0.0019368880676843391, 0.006219717587555343,
        -0.002669343031673527, 0.0006408677496504929, -2.43902073219737e-06, -9.30347042368791e-05,
        5.95163257322706e-05, -2.385559682337041e-05, 5.899938989517465e-06, 2.1354513036609557e-07,
        -1.2890953304935967e-06, 9.239465589789622e-07, -4.4472604965288384e-07, 1.5475799103584136e-07,
        -2.765535193507683e-08, -1.3369806861697573e-08, 1.720315732332705e-08, -8.989442489903512e-09,
        3.575943150195839e-09, -2.9114286148039783e-09, 1.6171927045530535e-09, 4.221709426957566e-10,
        -7.255987971224597e-10, 1.6444351145233813e-10, 1.4985885959316842e-11]),
    "float32": (4.0, 0.625, 0.375, [
        0.489524790289337, -0.06434461927192427, -0.00018217785358928056, 0.003802250245229823,
        -0.0015421514925069782, 0.0003679123096997042, -3.123759082866196e-05, -2.5657897344807657e-05,
        2.147800778062495e-05, -7.013177631081287e-06]),
}


def _erf(dt: str, x: F.Scalar) -> F.Scalar:
    """|x| < 1: x * (Taylor series of erf(x) / x in x**2). 1 <= |x| < end: 1 - erfc(|x|), erfc
    from exp(-x**2) and the fit above. Beyond: +-1 (erfc is below half an ulp of 1)."""
    end, mid, half, fit = _ERFC_FIT[dt]
    terms = 11 if dt == "float32" else 19
    a = F.unary("abs", x)
    x2 = x * x
    series = x * F.poly(x2, [2 / math.sqrt(math.pi) * (-1) ** k / (math.factorial(k) * (2 * k + 1))
                             for k in range(terms)])
    t = 1 / a
    erfc = F.unary("exp", -x2) * F.poly((t - mid) / half, fit) * t
    tail = F.select(a.lt(end), 1 - erfc, 1)
    tail = F.select(x.lt(0), -tail, tail)
    return F.select(a.lt(1), series, F.select(x.ne(x), x, tail))


def _erf_numpy(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


erf = _public(define("erf", 1, _erf_numpy, "float",
                     lambda out, g, a: (g * (2 / math.sqrt(math.pi)) * exp(-a * a),), _erf,
                     "The error function, 2/sqrt(pi) times the integral of exp(-t**2) from 0 to x.",
                     sympy="erf", cost=8))
