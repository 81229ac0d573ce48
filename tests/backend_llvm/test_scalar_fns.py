"""Every elementwise function of graphc.ops lowers and matches its numpy reference."""
import numpy as np
import pytest

from graphc.backend.llvm.kernels.fused import elementwise_kernel
from graphc.backend.llvm.kernels.scalar_fns import lower
from graphc.backend.llvm.loopir import Buffer
from graphc.ops.elementwise import SCALAR_FNS

from .helpers import run

POSITIVE = {"log", "sqrt", "pow"}


def _operands(fn, dtype, rng, shapes):
    if fn == "where":
        return [rng.random(shapes[0]) > 0.5, *(rng.normal(size=s).astype(dtype) for s in shapes[1:])]
    if fn.startswith("logical"):
        return [rng.random(s) > 0.5 for s in shapes]
    lo = 0.1 if fn in POSITIVE else (-0.9 if fn == "log1p" else -4)
    xs = [rng.uniform(lo, 4, size=s).astype(dtype) for s in shapes]
    if fn in ("log1p", "expm1"):
        xs[0].flat[:3] = [1e-9, -1e-7, 0]
    return xs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", sorted(SCALAR_FNS))
def test_lowered_function_matches_reference(fn, dtype):
    spec = SCALAR_FNS[fn]
    shapes = [(5, 1, 11), (3, 1), (1, 11)][:spec.arity]
    xs = _operands(fn, dtype, np.random.default_rng(7), shapes)
    with np.errstate(all="ignore"):
        want = spec.numpy(*xs)
    bufs = [Buffer(f"x{k}", x.dtype.name, x.shape) for k, x in enumerate(xs)]
    out = Buffer("out", want.dtype.name, want.shape)
    kernel = elementwise_kernel(out, bufs, lambda loads: lower(fn, loads, out.dtype))
    got = np.empty(want.shape, want.dtype)
    run(kernel, bufs + [out], xs + [got])
    np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-30)


def test_integer_arithmetic_and_mixed_dtypes():
    a = np.arange(-6, 6, dtype=np.int64).reshape(3, 4)
    b = np.linspace(-1, 1, 4).astype(np.float32)
    bufs = [Buffer("a", "int64", a.shape), Buffer("b", "float32", b.shape), Buffer("o", "float64", a.shape)]
    got = np.empty(a.shape, np.float64)
    run(elementwise_kernel(bufs[2], bufs[:2], lambda l: lower("mul", l, "float64")), bufs, [a, b, got])
    np.testing.assert_allclose(got, a * b)
