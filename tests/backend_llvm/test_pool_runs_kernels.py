"""Max and average pooling, the max-pool gather and gradient over rows of windows a
vector at a time (stride-1 columns as vectors, stride-2 ones as runs split into even
and odd lanes by shuffles) against the ops' numpy references: full runs and an
overlapping last run, rows narrower than a register, one column, dilated taps, strided
views, threads, both dtypes; and no element-by-element gathers or scatters at stride 2."""
import numpy as np
import pytest

from graphc.backend.llvm.emitter import emit_kernel
from graphc.backend.llvm.kernels import pool
from graphc.backend.llvm.kernels.harness import StandaloneSpace
from graphc.backend.llvm.loopir import Buffer

from .nn_kernels import assert_matches, pool_case, run_builder

# (input, kernel, stride, (lo, hi) padding, dilation) per pooled axis
GEOMETRIES = [
    ((1, 1, 7, 75), (3, 3), (2, 2), ((0, 0), (1, 0)), (1, 1)),     # batch 1: full runs, an overlapping last one
    ((2, 3, 5, 6), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),      # 3 columns: a 2-lane run, overlapping
    ((1, 2, 6, 4), (3, 3), (2, 2), ((1, 1), (0, 0)), (1, 1)),      # one column
    ((1, 2, 8, 37), (3, 3), (3, 2), ((1, 0), (0, 1)), (1, 1)),     # non-square stride, padding
    ((1, 2, 9, 41), (2, 3), (2, 2), ((0, 1), (2, 2)), (2, 3)),     # dilated taps at odd and even columns
    ((2, 2, 9, 40), (3,), (2,), ((1, 1),), (1,)),                   # 1-D over three leading axes
    ((1, 3, 33), (2,), (2,), ((0, 1),), (1,)),                      # 1-D, batch 1, padding
    ((1, 2, 3), (1,), (2,), ((0, 0),), (1,)),                        # one tap, a run ending at the last element
    ((2, 3, 4, 9), (1, 3), (1, 2), ((0, 0), (0, 0)), (1, 1)),      # row stride 1, a tap at the row's last column
    ((1, 2, 7, 30), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),     # stride 1: a full vector, an overlapping one
    ((2, 3, 5, 9), (2, 2), (1, 1), ((1, 0), (0, 1)), (1, 1)),      # stride 1, padding, narrow rows
    ((1, 2, 9, 40), (3, 3), (1, 1), ((0, 1), (1, 0)), (2, 3)),     # stride 1, dilated taps
    ((1, 2, 20), (4,), (1,), ((1, 2),), (1,)),                      # 1-D stride 1
    ((2, 3, 3, 3), (2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),      # two columns: one 2-lane vector (see choice)
    ((1, 2, 5, 5), (3, 3), (2, 2), ((0, 0), (0, 0)), (1, 1)),      # the same at stride 2
    ((1, 2, 8, 31), (3, 3), (2, 3), ((1, 1), (0, 1)), (1, 1)),     # column stride 3: the vectorised loop
]
IDS = [f"{x}k{k}s{s}p{p}d{d}" for x, k, s, p, d in GEOMETRIES]
KINDS = ["max", "avg", "max_grad", "gather"]


def _run(kind, x, geometry, **options):
    rng = np.random.default_rng(5)
    build, inputs, want = pool_case(kind, x, rng, *geometry)
    kernel, stride, padding, dilation = geometry
    got, kernels = run_builder(build, inputs, want.shape, x.dtype.name, kernel=kernel, stride=stride,
                               padding=padding, dilation=dilation, **options)
    return got, want, kernels


def _ties(shape, dtype, seed=0):
    x = np.random.default_rng(seed).normal(size=shape)
    return (np.round(x * 2) / 2).astype(dtype)       # many ties: the first maximum must win


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", GEOMETRIES, ids=IDS)
def test_matches_reference(x_shape, kernel, stride, padding, dilation, kind, dtype):
    got, want, _ = _run(kind, _ties(x_shape, dtype), (kernel, stride, padding, dilation))
    assert_matches(got, want)


@pytest.mark.parametrize("kind", ["max", "max_grad", "gather"])
def test_nan_and_infinities_in_runs(kind):
    """NaN wins wherever it falls in a run (even and odd lanes, the overlapping last run)."""
    x = np.random.default_rng(1).normal(size=(1, 2, 7, 75)).astype(np.float32)
    x[0, 0, 2, 3] = x[0, 0, 3, 4] = x[0, 0, 4, 70] = x[0, 0, 5, 73] = np.nan
    x[0, 1, :3, :40] = -np.inf
    x[0, 1, 4, 5] = np.inf
    got, want, _ = _run(kind, x, ((3, 3), (2, 2), ((0, 0), (0, 0)), (1, 1)))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert_matches(np.nan_to_num(got, nan=0), np.nan_to_num(want, nan=0))


@pytest.mark.parametrize("kind", KINDS)
def test_strided_view_columns(kind):
    """Columns that are not contiguous in memory (every other one of a wider array)."""
    x = _ties((2, 3, 9, 70), "float32")[..., ::2]
    got, want, _ = _run(kind, x, ((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)))
    assert_matches(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_rows_match(kind, monkeypatch):
    monkeypatch.setattr(pool, "PARALLEL_MIN_ELEMENTS", 0)
    got, want, kernels = _run(kind, _ties((3, 4, 11, 45), "float64"), ((3, 3), (2, 2), ((1, 1), (0, 1)), (1, 1)),
                              threads=2, nthreads=3)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_stride2_columns_are_shuffled_not_gathered(kind):
    """The emitted IR takes no vector apart lane by lane (what gathers and scatters do)."""
    x, src = Buffer("x", "float32", (2, 8, 55, 55)), Buffer("src", "float32", (2, 8, 55, 55))
    gy = Buffer("gy", "float32", (2, 8, 27, 27))
    forward = lambda kind: lambda *a, **o: pool.pool_forward(kind, *a, **o)  # noqa: E731
    build, inputs, out_shape = {"max": (forward("max"), [x], gy.shape), "avg": (forward("avg"), [x], gy.shape),
                                "max_grad": (pool.max_pool_grad, [x, gy], x.shape),
                                "gather": (pool.max_pool_gather, [x, src], gy.shape)}[kind]
    kernels = build(*inputs, Buffer("out", "float32", out_shape), space=StandaloneSpace(), kernel=(3, 3),
                    stride=(2, 2), padding=((0, 0), (0, 0)))
    text = "".join(str(emit_kernel(k, f"k{n}")) for n, k in enumerate(kernels))
    assert "shufflevector" in text and "extractelement" not in text
