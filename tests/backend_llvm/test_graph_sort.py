"""sort, argsort and topk compiled by the llvm backend against the numpy reference: rows of
length 1, 2, 17 and 1000 (network blocks, partial blocks, odd merges), float32/float64 and
integers with ties and NaNs, any axis, fused producers and consumers, gradients (the
scatter and gather along the axis), rows on two threads, and every buffer between red
zones."""
import numpy as np
import pytest

import graphc as gc

from .bounds_harness import RedZones, run
from .graph_check import check

DTYPES = ["float32", "float64", "int32", "int64"]


def _ties_and_nans(rng, shape, dtype):
    """Values from a small range (many ties); a fifth of the floats NaN."""
    value = rng.integers(-4, 5, shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        value[rng.random(shape) < 0.2] = np.nan
    return value


def _outputs(x, axis):
    n = x.shape[axis]
    outs = [gc.sort(x, axis), gc.argsort(x, axis)]
    for k in sorted({1, min(2, n), n}):
        outs += [*gc.topk(x, k, axis), *gc.topk(x, k, axis, largest=False)]
    return outs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 17, 1000])
def test_rows_of_odd_lengths(dtype, n, rng):
    x = gc.tensor("x", (3, n), dtype)
    got = check([x], _outputs(x, 1), [_ties_and_nans(rng, (3, n), dtype)])
    assert got[1].dtype == np.int64


@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_any_axis_of_a_3d_tensor(dtype, axis, rng):
    x = gc.tensor("x", (5, 9, 3), dtype)
    check([x], _outputs(x, axis), [_ties_and_nans(rng, (5, 9, 3), dtype)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_producers_and_consumers(dtype, rng):
    x = gc.tensor("x", (4, 23), dtype)
    values, indices = gc.topk(gc.exp(x) * 2.0 - x, 5)
    outs = [values + 1.0, gc.cast(indices, dtype) * 0.5, gc.sqrt(gc.abs(gc.sort(x * 3.0, 0)))]
    check([x], outs, [rng.standard_normal((4, 23)).astype(dtype)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradients_to_second_order(dtype, rng):
    x = gc.tensor("x", (3, 17), dtype)
    w = rng.standard_normal((3, 4)).astype(dtype)
    cost = gc.sum(gc.topk(x, 4)[0] * w) + gc.sum(gc.sort(x, 0) ** 3)
    (g,) = gc.grad(cost, [x])
    outs = [g] + gc.grad(gc.sum(g * g), [x])
    value = rng.permutation(51).reshape(3, 17).astype(dtype) * 0.25      # no ties
    check([x], outs, [value])


def test_rows_split_over_two_threads(rng):
    x = gc.tensor("x", (600, 1000), "float32")
    value = _ties_and_nans(rng, (600, 1000), "float32")
    outs = [gc.sort(x), gc.argsort(x), gc.topk(x, 7)[1]]
    want = gc.function([x], outs, backend="numpy")(value)
    for got, ref in zip(gc.function([x], outs, threads=2)(value), want):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("n", [1, 2, 9, 17, 40])
def test_every_buffer_between_red_zones(n, rng):
    x = gc.tensor("x", (3, n), "float64")
    (g,) = gc.grad(gc.sum(gc.topk(x, max(1, n // 2))[0] ** 2), [x])
    outs = _outputs(x, 1) + [g] + gc.grad(gc.sum(g * g), [x])
    run([x], outs, [rng.permutation(3 * n).reshape(3, n) * 0.5], RedZones())


@pytest.mark.parametrize("order", ["ascending", "descending", "ties_and_nans"])
@pytest.mark.parametrize("k", [4, 16])
def test_topk_by_selection_every_element_moving_up(order, k, rng):
    """k up to 16 of a row at least 4k long is selected, not sorted: rows already in
    order (every element replaces the last kept and moves all the way up, or none
    does), and ties and NaNs."""
    x = gc.tensor("x", (3, 67), "float64")
    if order == "ties_and_nans":
        value = _ties_and_nans(rng, (3, 67), "float64")
    else:
        value = np.sort(rng.standard_normal((3, 67)), 1)
        value = value if order == "ascending" else value[:, ::-1].copy()
    outs = [*gc.topk(x, k), *gc.topk(x, k, largest=False)]
    check([x], outs, [value])
