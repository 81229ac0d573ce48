"""The native pooling kernels (max/avg forward, their gradients, the max-pool gather)
against the ops' numpy references: odd shapes, overlapping windows, padding, ties,
NaN and -inf, both dtypes, epilogues and threads."""
import numpy as np
import pytest

from graphc.backend.llvm.kernels import pool
from graphc.backend.llvm.loopir import Cast, Load

from .nn_kernels import assert_matches, pool_case, run_builder

# (input, kernel, stride, (lo, hi) padding per pooled axis)
SHAPES = [
    ((2, 3, 9, 11), (2, 2), (2, 2), ((0, 0), (0, 0))),        # stride = kernel, odd sizes drop a pixel
    ((2, 3, 9, 11), (3, 3), (2, 2), ((1, 1), (1, 1))),        # overlapping windows, padding 1
    ((1, 2, 7, 8), (3, 2), (1, 2), ((1, 0), (0, 1))),         # non-square, asymmetric padding
    ((1, 1, 5, 5), (5, 5), (1, 1), ((0, 0), (0, 0))),         # batch 1, one channel, kernel = input
    ((2, 1, 20, 21), (5, 5), (3, 3), ((2, 2), (1, 2))),       # stride 3, padding, more taps than unrolled
    ((2, 40, 40), (2, 2), (2, 2), ((0, 0), (0, 0))),          # one leading axis, wide rows
    ((1, 1, 30, 30), (30, 30), (1, 1), ((0, 0), (0, 0))),     # a global window
    ((3, 10), (3,), (2,), ((1, 1),)),                          # 1-D
    ((2, 2, 3, 10), (4,), (3,), ((2, 1),)),                    # 1-D over three leading axes
]
IDS = [f"{x}k{k}s{s}p{p}" for x, k, s, p in SHAPES]


def _inputs(x_shape, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape)
    if kind in ("max", "max_grad", "gather"):
        x = np.round(x * 2) / 2          # many ties: the first maximum must win
    return x.astype(dtype), rng


KINDS = ["max", "avg", "max_grad", "avg_grad", "gather"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x_shape,kernel,stride,padding", SHAPES, ids=IDS)
def test_matches_reference(x_shape, kernel, stride, padding, kind, dtype):
    x, rng = _inputs(x_shape, kind, dtype)
    build, inputs, want = pool_case(kind, x, rng, kernel, stride, padding)
    got, _ = run_builder(build, inputs, want.shape, dtype, kernel=kernel, stride=stride, padding=padding)
    assert_matches(got, want)


@pytest.mark.parametrize("kind", ["max", "max_grad", "gather"])
@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (1, 1), ((1, 1), (1, 1))),
                                                   ((3, 3), (2, 2), ((1, 1), (1, 1)))])
def test_nan_and_infinities_pick_as_numpy(kind, kernel, stride, padding):
    """NaN is the maximum (the first NaN wins); a window of -inf picks its first tap,
    which may be padding (whose gradient then leaves the input)."""
    x = np.random.default_rng(1).normal(size=(1, 2, 7, 38)).astype(np.float32)   # rows wide enough to vectorise
    x[0, 0, 2, 3] = x[0, 0, 3, 3] = x[0, 0, 4, 20] = x[0, 0, 4, 21] = np.nan
    x[0, 1, :3, :3] = x[0, 1, 3:6, 17:25] = -np.inf
    x[0, 1, 5, 5] = x[0, 1, 1, 30] = np.inf
    build, inputs, want = pool_case(kind, x, np.random.default_rng(2), kernel, stride, padding)
    got, _ = run_builder(build, inputs, want.shape, "float32", kernel=kernel, stride=stride, padding=padding)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert_matches(np.nan_to_num(got, nan=0), np.nan_to_num(want, nan=0))


@pytest.mark.parametrize("kind", KINDS)
def test_fused_epilogue_with_cast(kind):
    """tanh(value) * scale[channel] stored as float64."""
    x, rng = _inputs((2, 3, 9, 8), kind, "float32", seed=3)
    geometry = dict(kernel=(3, 2), stride=(2, 2), padding=((1, 0), (1, 1)))
    build, inputs, want = pool_case(kind, x, rng, *geometry.values())
    scale = rng.normal(size=3).astype(np.float32)

    def build_fused(*bufs, space, **options):
        *ins, s, out = bufs

        def epilogue(value, idx):
            from graphc.backend.llvm.loopir import Un
            return Cast(Un("tanh", value) * Load(s, s.index(idx[1])), "float64")
        return build(*ins, out, space=space, dtype="float32", epilogue=epilogue, **options)

    got, _ = run_builder(build_fused, inputs + [scale], want.shape, "float64", **geometry)
    assert_matches(got, (np.tanh(want) * scale[:, None, None]).astype(np.float64), "float32")


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_rows_match(kind, monkeypatch):
    monkeypatch.setattr(pool, "PARALLEL_MIN_ELEMENTS", 0)
    x, rng = _inputs((3, 5, 9, 10), kind, "float64", seed=4)
    geometry = dict(kernel=(3, 3), stride=(2, 1), padding=((1, 1), (0, 1)))
    build, inputs, want = pool_case(kind, x, rng, *geometry.values())
    got, kernels = run_builder(build, inputs, want.shape, "float64", threads=2, nthreads=3, **geometry)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, want)


def test_unsupported_geometry_raises():
    x = np.zeros((1, 1, 4, 4, 4), np.float32)
    with pytest.raises(NotImplementedError, match="pool 1 or 2 axes"):
        run_builder(lambda *a, **o: pool.pool_forward("max", *a, **o), [x], (1, 1, 2, 2, 2), "float32",
                    kernel=(2, 2, 2), stride=(2, 2, 2), padding=((0, 0),) * 3)
