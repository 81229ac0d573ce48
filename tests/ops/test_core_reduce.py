"""Reductions against numpy: over an int, a tuple or all axes, with keepdims, per dtype."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import graphc as gc


def _numpy_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {
    "sum": (gc.sum, np.sum),
    "mean": (gc.mean, np.mean),
    "max": (gc.max, np.max),
    "min": (gc.min, np.min),
    "var": (gc.var, np.var),
    "std": (gc.std, np.std),
    "logsumexp": (gc.logsumexp, _numpy_logsumexp),
}


@st.composite
def shape_and_axis(draw):
    """A shape and an axis argument: None, an int (maybe negative) or a tuple."""
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return shape, axis


def _values(rng, shape, dtype):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-3, 4, size=shape).astype(dtype)  # small range: ties happen
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(case=shape_and_axis(), keepdims=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_reduction_matches_numpy(name, dtype, case, keepdims, seed, like_numpy):
    if name == "logsumexp" and dtype == "bool":
        pytest.skip("numpy's exp(bool) is float16, which graphc does not have")
    shape, axis = case
    fn, np_fn = REDUCTIONS[name]
    x = gc.tensor("x", shape, dtype)
    xv = _values(np.random.default_rng(seed), shape, dtype)
    like_numpy(fn(x, axis=axis, keepdims=keepdims), {x: xv}, np_fn(xv, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std"])
def test_reduction_methods(name, rng, like_numpy):
    x = gc.tensor("x", (3, 4, 2), "float64")
    xv = rng.standard_normal((3, 4, 2))
    method = getattr(x, name)
    like_numpy(method(), {x: xv}, getattr(np, name)(xv))
    like_numpy(method(axis=1), {x: xv}, getattr(np, name)(xv, axis=1))
    like_numpy(method(axis=(0, -1), keepdims=True), {x: xv}, getattr(np, name)(xv, axis=(0, -1), keepdims=True))


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_std_ddof(ddof, rng, like_numpy):
    x = gc.tensor("x", (5, 3), "float64")
    xv = rng.standard_normal((5, 3))
    like_numpy(gc.var(x, axis=0, ddof=ddof), {x: xv}, np.var(xv, axis=0, ddof=ddof))
    like_numpy(gc.std(x, ddof=ddof), {x: xv}, np.std(xv, ddof=ddof))


def test_reductions_over_unknown_dims(rng, like_numpy):
    x = gc.tensor("x", (None, 3, None), "float32")
    xv = rng.standard_normal((4, 3, 2)).astype(np.float32)
    assert gc.mean(x, axis=(0, 2)).shape == (3,)
    like_numpy(gc.mean(x, axis=(0, 2)), {x: xv}, xv.mean(axis=(0, 2)))
    like_numpy(gc.var(x, axis=0, ddof=1), {x: xv}, xv.var(axis=0, ddof=1))
    like_numpy(gc.std(x), {x: xv}, xv.std())
    like_numpy(gc.sum(x, axis=-1, keepdims=True), {x: xv}, xv.sum(axis=-1, keepdims=True))


def test_reduction_shapes_are_static():
    x = gc.tensor("x", (2, None, 5))
    assert gc.sum(x).shape == ()
    assert gc.max(x, axis=1).shape == (2, 5)
    assert gc.min(x, axis=(0, 2), keepdims=True).shape == (1, None, 1)
    assert gc.logsumexp(x, axis=-1).shape == (2, None)
    assert gc.argmax(x, axis=0).shape == (None, 5)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(dtype, axis, keepdims, rng, like_numpy):
    x = gc.tensor("x", (4, 5), dtype)
    xv = _values(rng, (4, 5), dtype)
    like_numpy(gc.argmax(x, axis=axis, keepdims=keepdims), {x: xv}, np.argmax(xv, axis=axis, keepdims=keepdims).astype(np.int64))
    like_numpy(x.argmax(axis), {x: xv}, np.argmax(xv, axis).astype(np.int64))
    if dtype != "bool":
        like_numpy(gc.argmin(x, axis=axis, keepdims=keepdims), {x: xv}, np.argmin(xv, axis=axis, keepdims=keepdims).astype(np.int64))


def test_argmax_picks_the_first_of_ties():
    x = gc.tensor("x", (2, 4), "int32")
    xv = np.array([[1, 3, 3, 0], [2, 2, 2, 2]], np.int32)
    np.testing.assert_array_equal(gc.argmax(x, axis=1).eval({x: xv}), [1, 0])
    np.testing.assert_array_equal(gc.argmin(x, axis=1).eval({x: xv}), [3, 0])


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")  # log(0) = -inf is right
def test_logsumexp_is_stable_for_large_and_infinite_values():
    x = gc.tensor("x", (2, 3), "float64")
    xv = np.array([[1000.0, 1000.0, -np.inf], [-1e4, -1e4 + np.log(3.0), -np.inf]])
    got = gc.logsumexp(x, axis=1).eval({x: xv})
    np.testing.assert_allclose(got, [1000.0 + np.log(2.0), -1e4 + np.log(4.0)], rtol=1e-12)
    allneg = np.full((2, 3), -np.inf)
    np.testing.assert_array_equal(gc.logsumexp(x, axis=1).eval({x: allneg}), [-np.inf, -np.inf])
    g = gc.grad(gc.logsumexp(x, axis=1).sum(), x).eval({x: xv})
    np.testing.assert_allclose(g, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], rtol=1e-12)


def test_sum_of_ints_and_bools_is_int64_as_numpy():
    assert gc.sum(gc.tensor("i", (3,), "int32")).dtype == np.sum(np.ones(3, np.int32)).dtype
    assert gc.sum(gc.tensor("b", (3,), "bool")).dtype == np.sum(np.ones(3, bool)).dtype
    assert gc.max(gc.tensor("i", (3,), "int32")).dtype == np.int32


def test_empty_axis_sum_and_zero_size_max():
    x = gc.tensor("x", (0, 3), "float64")
    np.testing.assert_array_equal(gc.sum(x, axis=0).eval({x: np.zeros((0, 3))}), np.zeros(3))
    with pytest.raises(ValueError, match="max: zero-size axis 0 has no identity"):
        gc.max(x, axis=0)


def test_reduction_axis_errors():
    x = gc.tensor("x", (2, 3))
    with pytest.raises(gc.ShapeError, match="sum: axis 2 is out of range for a tensor of rank 2"):
        x.sum(axis=2)
    with pytest.raises(gc.ShapeError, match=r"mean: repeated axis in \(0, -2\)"):
        x.mean(axis=(0, -2))
    with pytest.raises(gc.ShapeError, match="argmax: axis -3 is out of range"):
        gc.argmax(x, axis=-3)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_argmin_of_the_smallest_int(dtype):
    """argmin is argmax of an order-reversing map; -x overflows at the smallest int."""
    x = gc.tensor("x", (4,), dtype)
    xv = np.array([0, 5, np.iinfo(dtype).min, np.iinfo(dtype).max], dtype)
    assert gc.argmin(x).eval({x: xv}) == np.argmin(xv) == 2
    assert gc.argmax(x).eval({x: xv}) == np.argmax(xv) == 3
