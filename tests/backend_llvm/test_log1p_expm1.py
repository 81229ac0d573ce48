"""log1p and expm1 lowered to native code: within a few ulp of numpy from tiny to huge
arguments, IEEE special values as numpy, and no early overflow of the corrected forms."""
import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.kernels.fused import elementwise_kernel
from graphc.backend.llvm.kernels.scalar_fns import lower
from graphc.backend.llvm.loopir import Buffer

from .helpers import run

FLOATS = ["float32", "float64"]
MAX_ULP = 4


def _apply(fn, x):
    src, dst = Buffer("x", x.dtype.name, x.shape), Buffer("y", x.dtype.name, x.shape)
    got = np.empty_like(x)
    run(elementwise_kernel(dst, [src], lambda loads: lower(fn, loads, dst.dtype)), [src, dst], [x, got])
    return got


def _reference(fn, x):
    """numpy's value, from float64 for float32 arguments (correctly rounded but for 1/2 ulp)."""
    with np.errstate(all="ignore"):
        return getattr(np, fn)(x.astype(np.float64)).astype(x.dtype)


def _assert_close(fn, x):
    got, want = _apply(fn, x), _reference(fn, x)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    finite = np.isfinite(want) & (want != 0)
    assert np.array_equal(np.isfinite(got), np.isfinite(want)), \
        f"{fn}: finite mismatch at x={x[np.isfinite(got) != np.isfinite(want)][:4]}"
    assert same[~finite].all(), f"{fn}: {got[~finite & ~same][:4]} != {want[~finite & ~same][:4]} at {x[~finite & ~same][:4]}"
    ulp = np.abs(got[finite] - want[finite].astype(np.float64)) / np.spacing(np.abs(want[finite])).astype(np.float64)
    assert ulp.max() <= MAX_ULP, f"{fn}: {ulp.max()} ulp at x={x[finite][ulp.argmax()]}"


def _magnitudes(dtype, top):
    fi = np.finfo(dtype)
    return np.logspace(np.log10(fi.smallest_subnormal), np.log10(top), 4001).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_log1p_across_magnitudes(dtype):
    fi, rng = np.finfo(dtype), np.random.default_rng(3)
    big = _magnitudes(dtype, fi.max / 2)  # fi.max itself is a special value below
    above_minus_one = -1 + np.logspace(np.log10(fi.eps), 0, 1001).astype(dtype)
    x = np.concatenate([big, -big[big < 1], above_minus_one, rng.uniform(-1, 8, 2001).astype(dtype)])
    _assert_close("log1p", x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_expm1_across_magnitudes(dtype):
    fi, rng = np.finfo(dtype), np.random.default_rng(4)
    overflow = np.log(fi.max)
    x = np.concatenate([_magnitudes(dtype, overflow * 0.999), -_magnitudes(dtype, 1e4),
                        rng.uniform(-1.01 * overflow, 1.01 * overflow, 4001).astype(dtype),
                        rng.uniform(-1, 1, 2001).astype(dtype)])
    _assert_close("expm1", x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_expm1_near_the_overflow_threshold(dtype):
    threshold = np.log(np.finfo(dtype).max)  # ~88.72 for float32, ~709.78 for float64
    t = np.asarray(threshold, dtype)
    x = (t + np.arange(-200, 201) * np.spacing(t)).astype(dtype)  # the last finite results and the first inf
    x = np.concatenate([x, np.array([threshold - 5, threshold - 1, 85, 84.6, 703], dtype)])
    _assert_close("expm1", x)
    got = _apply("expm1", np.array([85.0, threshold * 0.999, threshold * 1.001], dtype))
    assert np.isfinite(got[:2]).all() and got[2] == np.inf


@pytest.mark.parametrize("dtype", FLOATS)
def test_special_values(dtype):
    fi = np.finfo(dtype)
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -1.0 - fi.eps, -2.0, fi.max, -fi.max,
                  fi.tiny, -fi.tiny, fi.smallest_subnormal, 1e37, 1e306 if dtype == "float64" else 3e38], dtype)
    for fn in ("log1p", "expm1"):
        got, want = _apply(fn, x), _reference(fn, x)
        np.testing.assert_array_equal(got, want)  # nan where numpy gives nan, infinities exactly
        np.testing.assert_array_equal(np.signbit(got[:2]), np.signbit(want[:2]))  # -0.0 stays -0.0


@pytest.mark.parametrize("dtype", FLOATS)
def test_compiled_functions_agree_with_numpy_at_the_reported_values(dtype):
    x = gc.tensor("x", (None,), dtype)
    f = gc.function([x], [gc.log1p(x), gc.expm1(x)])
    big = 1e306 if dtype == "float64" else 1e37
    xv = np.array([np.inf, big, 85.0, 703.0 if dtype == "float64" else 88.0, -50.0], dtype)
    with np.errstate(all="ignore"):
        want = [np.log1p(xv.astype(np.float64)).astype(dtype), np.expm1(xv.astype(np.float64)).astype(dtype)]
    for got, ref in zip(f(xv), want):
        np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(dtype).eps)
