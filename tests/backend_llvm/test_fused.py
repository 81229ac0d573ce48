"""Fused elementwise loops over broadcast inputs and reductions with fused inputs."""
import numpy as np
import pytest

from graphc.backend.llvm.kernels.fused import PARALLEL_MIN_ELEMENTS, elementwise_kernel, reduce_kernel
from graphc.backend.llvm.loopir import Buffer, Un, binop, const

from .helpers import rand, run

BROADCASTS = [((1,), (1,), (1,)), ((13,), (1,), (13,)), ((7, 1, 13), (5, 1), (7, 5, 13)),
              ((3, 1), (1, 17), (3, 17)), ((), (2, 3, 5, 7), (2, 3, 5, 7)), ((8, 8), (8, 8), (8, 8))]


def _chain(loads):
    a, b = loads
    dtype = a.type.dtype
    return binop("max", Un("tanh", a * b) - Un("exp", b) / (a * a + const(1, dtype)), const(0, dtype))


def _chain_ref(a, b):
    return np.maximum(np.tanh(a * b) - np.exp(b) / (a * a + 1), 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sa,sb,so", BROADCASTS)
def test_elementwise_chain_broadcasts(sa, sb, so, dtype):
    rng = np.random.default_rng(len(so))
    a, b = rand(sa, dtype, rng), rand(sb, dtype, rng)
    bufs = [Buffer("a", dtype, sa), Buffer("b", dtype, sb), Buffer("out", dtype, so)]
    out = np.empty(so, dtype)
    run(elementwise_kernel(bufs[2], bufs[:2], _chain), bufs, [a, b, out])
    np.testing.assert_allclose(out, _chain_ref(a, b), rtol=1e-5, atol=1e-6)


def test_elementwise_reads_strided_inputs():
    x = np.random.default_rng(0).normal(size=(9, 11)).astype(np.float32).T
    src = Buffer("x", "float32", x.shape, tuple(s // 4 for s in x.strides))
    dst = Buffer("y", "float32", x.shape)
    y = np.empty(x.shape, np.float32)
    run(elementwise_kernel(dst, [src], lambda l: l[0] * l[0]), [src, dst], [x, y])
    np.testing.assert_allclose(y, x * x)


def test_large_elementwise_runs_parallel():
    n = PARALLEL_MIN_ELEMENTS + 37
    a, o = Buffer("a", "float32", (n,)), Buffer("o", "float32", (n,))
    kernel = elementwise_kernel(o, [a], lambda l: l[0] + const(1.0, "float32"), threads=2)
    assert "parallel" in repr(kernel)
    x, y = np.arange(n, dtype=np.float32), np.empty(n, np.float32)
    run(kernel, [a, o], [x, y], nthreads=2)
    np.testing.assert_array_equal(y, x + 1)


SHAPE = (7, 5, 13)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["sum", "max", "min"])
@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 2), (1, 2), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_of_fused_input(kind, axes, keepdims, dtype):
    rng = np.random.default_rng(3)
    x, y = rand(SHAPE, dtype, rng), rand((13,), dtype, rng)
    oshape = tuple(1 if d in axes else n for d, n in enumerate(SHAPE) if keepdims or d not in axes)
    bufs = [Buffer("x", dtype, SHAPE), Buffer("y", dtype, (13,)), Buffer("out", dtype, oshape)]
    kernel = reduce_kernel(bufs[2], bufs[:2], lambda l: Un("exp", l[0]) * l[1], kind, axes, SHAPE)
    out = np.empty(oshape, dtype)
    run(kernel, bufs, [x, y, out])
    want = getattr(np, kind)(np.exp(x) * y, axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_mean_as_sum_with_finish():
    x = np.random.default_rng(4).normal(size=(3, 101)).astype(np.float32)
    src, dst = Buffer("x", "float32", (3, 101)), Buffer("m", "float32", (3,))
    kernel = reduce_kernel(dst, [src], lambda l: l[0], "sum", (1,), (3, 101),
                           finish=lambda v: v * const(1 / 101, "float32"))
    out = np.empty(3, np.float32)
    run(kernel, [src, dst], [x, out])
    np.testing.assert_allclose(out, x.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_integer_max_and_comparisons():
    x = np.random.default_rng(5).integers(-100, 100, size=(4, 9)).astype(np.int32)
    src, dst = Buffer("x", "int32", (4, 9)), Buffer("m", "int32", (4,))
    out = np.empty(4, np.int32)
    run(reduce_kernel(dst, [src], lambda l: l[0], "max", (1,), (4, 9)), [src, dst], [x, out])
    np.testing.assert_array_equal(out, x.max(axis=1))
