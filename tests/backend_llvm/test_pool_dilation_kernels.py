"""The native pooling kernels with dilated taps and ceil_mode's extra high padding against
the ops' numpy references: ties, NaN and -inf, both dtypes, more taps than are unrolled,
and parallel rows."""
import numpy as np
import pytest

from graphc.backend.llvm.kernels import pool

from .nn_kernels import assert_matches, pool_case, run_builder

# (input, kernel, stride, (lo, hi) padding, dilation) per pooled axis
GEOMETRIES = [
    ((2, 3, 9, 11), (3, 3), (1, 1), ((0, 0), (0, 0)), (2, 2)),         # interior windows, no padding
    ((2, 3, 11, 10), (3, 2), (2, 2), ((1, 2), (1, 1)), (2, 3)),        # padding and ceil_mode's extension
    ((1, 2, 13, 9), (2, 3), (3, 1), ((1, 2), (1, 0)), (4, 2)),         # dilation above the stride
    ((1, 1, 23, 22), (5, 4), (2, 3), ((2, 3), (2, 3)), (3, 2)),        # more taps than unrolled
    ((2, 3, 40), (3,), (2,), ((1, 2),), (3,)),                          # 1-D, wide rows
]
IDS = [f"{x}k{k}s{s}p{p}d{d}" for x, k, s, p, d in GEOMETRIES]
KINDS = ["max", "avg", "max_grad", "avg_grad", "gather"]


def _run(kind, x, rng, geometry, dtype, **options):
    build, inputs, want = pool_case(kind, x, rng, *geometry)
    kernel, stride, padding, dilation = geometry
    got, kernels = run_builder(build, inputs, want.shape, dtype, kernel=kernel, stride=stride, padding=padding,
                               dilation=dilation, **options)
    return got, want, kernels


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", GEOMETRIES, ids=IDS)
def test_matches_reference(x_shape, kernel, stride, padding, dilation, kind, dtype):
    rng = np.random.default_rng(0)
    x = (np.round(rng.normal(size=x_shape) * 2) / 2).astype(dtype)   # ties: the first maximum must win
    got, want, _ = _run(kind, x, rng, (kernel, stride, padding, dilation), dtype)
    assert_matches(got, want)


@pytest.mark.parametrize("kind", ["max", "max_grad", "gather"])
def test_nan_and_infinities_pick_as_numpy(kind):
    x = np.random.default_rng(1).normal(size=(1, 2, 9, 37)).astype(np.float32)
    x[0, 0, 2, 3] = x[0, 0, 4, 3] = x[0, 0, 4, 20] = np.nan
    x[0, 1, :4, :5] = x[0, 1, 3:7, 17:25] = -np.inf
    got, want, _ = _run(kind, x, np.random.default_rng(2), ((3, 3), (2, 2), ((1, 2), (1, 1)), (2, 2)), "float32")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert_matches(np.nan_to_num(got, nan=0), np.nan_to_num(want, nan=0))


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_rows_match(kind, monkeypatch):
    monkeypatch.setattr(pool, "PARALLEL_MIN_ELEMENTS", 0)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 5, 11, 10))
    got, want, kernels = _run(kind, x, rng, ((3, 2), (2, 1), ((1, 2), (0, 1)), (2, 3)), "float64", threads=2,
                              nthreads=3)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, want)
