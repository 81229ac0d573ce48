"""The compiled transcendental functions against numpy in ulp, float32 and float64, over
wide ranges and at special values (the bounds docs/ops.md states)."""
import math

import numpy as np
import pytest

from graphc.backend.llvm.kernels.fused import elementwise_kernel
from graphc.backend.llvm.kernels.scalar_fns import lower
from graphc.backend.llvm.loopir import Buffer
from graphc.ops.transcendental import TRIG_LIMIT

from .helpers import run

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 1e-30, 1e-300]


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


#: name: (numpy reference in float64, ranges of x, ulp bound)
CASES = {
    "sin": (np.sin, [(-10, 10), (-1e4, 1e4), (-1e6, 1e6)], 4),
    "cos": (np.cos, [(-10, 10), (-1e4, 1e4), (-1e6, 1e6)], 4),
    "tan": (np.tan, [(-10, 10), (-1e4, 1e4), (-1e6, 1e6)], 4),
    "erf": (_erf, [(-8, 8), (-2, 2), (-1e-3, 1e-3)], 4),
    "log2": (np.log2, [(0, 10), (0, 1e30), (0.5, 2)], 4),
    "log10": (np.log10, [(0, 10), (0, 1e30), (0.5, 2)], 4),
    "rsqrt": (lambda x: 1 / np.sqrt(x), [(0, 10), (0, 1e30)], 2),
    "reciprocal": (lambda x: 1 / x, [(-10, 10), (-1e30, 1e30)], 1),
}


def _compiled(fn, x):
    src, dst = Buffer("x", x.dtype.name, x.shape), Buffer("y", x.dtype.name, x.shape)
    y = np.empty_like(x)
    run(elementwise_kernel(dst, [src], lambda loads: lower(fn, loads, dst.dtype)), [src, dst], [x, y])
    return y


def _inputs(ranges, dtype, rng):
    parts = [rng.uniform(lo, hi, 4001) for lo, hi in ranges]
    return np.concatenate(parts + [np.array(SPECIAL)]).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", sorted(CASES))
def test_within_a_few_ulp_of_numpy(fn, dtype):
    reference, ranges, bound = CASES[fn]
    x = _inputs(ranges, dtype, np.random.default_rng(len(fn)))
    with np.errstate(all="ignore"):
        want = reference(x.astype(np.float64)).astype(dtype)
        got = _compiled(fn, x)
    finite = np.isfinite(want) & (np.abs(want) >= np.finfo(dtype).tiny)
    ulp = np.abs(got[finite].astype(np.float64) - want[finite]) / np.spacing(np.abs(want[finite]))
    worst = int(np.argmax(ulp))
    assert ulp[worst] <= bound, f"{fn} {dtype}: {ulp[worst]:.1f} ulp at x={x[finite][worst]!r}"
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", ["sin", "cos", "tan"])
def test_trigonometry_up_to_the_reduction_limit_and_nan_beyond(fn, dtype):
    rng = np.random.default_rng(3)
    limit = TRIG_LIMIT[dtype]
    magnitudes = np.exp(rng.uniform(0, np.log(limit), 4000)) * rng.choice([-1, 1], 4000)
    x = np.clip(magnitudes, -limit, limit).astype(dtype)
    x = x[np.abs(x) < limit]
    want = getattr(np, fn)(x.astype(np.float64)).astype(dtype)
    got = _compiled(fn, x)
    ulp = np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want))
    assert ulp.max() <= 4, f"{fn} {dtype}: {ulp.max():.1f} ulp at x={x[np.argmax(ulp)]!r}"
    beyond = np.array([limit, -limit, limit * 8, 1e30], dtype)
    assert np.isnan(_compiled(fn, beyond)).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_signed_zero_and_special_values(dtype):
    x = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan], dtype)
    for fn, reference in (("sin", np.sin), ("tan", np.tan), ("erf", _erf)):
        with np.errstate(all="ignore"):
            got, want = _compiled(fn, x), reference(x.astype(np.float64)).astype(dtype)
        np.testing.assert_array_equal(got, want)
        number = ~np.isnan(want)                                         # a nan's sign is free
        np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rounding_and_predicates_are_exact(dtype):
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.7, -2.7, 1e20, np.inf, -np.inf, np.nan, -0.0], dtype)
    for fn, reference in (("floor", np.floor), ("ceil", np.ceil), ("round", np.round)):
        np.testing.assert_array_equal(_compiled(fn, x), reference(x))
    for fn, reference in (("isnan", np.isnan), ("isfinite", np.isfinite)):
        src, dst = Buffer("x", dtype, x.shape), Buffer("y", "bool", x.shape)
        got = np.empty(x.shape, bool)
        run(elementwise_kernel(dst, [src], lambda loads: lower(fn, loads, "bool")), [src, dst], [x, got])
        np.testing.assert_array_equal(got, reference(x))
