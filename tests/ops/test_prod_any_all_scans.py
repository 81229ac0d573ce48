"""prod, any, all, cumsum and cumprod against numpy; their gradients (exact at zeros) by
finite differences and against torch; clear errors for bad axes."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

SHAPE = (3, 5, 4)


def _with_zeros(seed: int = 0) -> np.ndarray:
    """Odd-shaped values with no zero, one zero and two zeros along the last axis."""
    x = np.random.default_rng(seed).uniform(0.5, 1.5, SHAPE) * np.where(np.arange(4) % 2, 1, -1)
    x[0, 1, 2] = 0.0
    x[1, 2, 0] = x[1, 2, 3] = 0.0
    x[2, 0, :] = 0.0
    return x


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-2,)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["prod", "any", "all"])
def test_reductions_match_numpy(name, axis, keepdims):
    value = _with_zeros()
    x = gc.tensor("x", SHAPE, "float64")
    got = getattr(gc, name)(x, axis, keepdims=keepdims).eval({x: value})
    want = getattr(np, name)(value, axis=axis, keepdims=keepdims)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("dtype", ["int32", "bool", "float32"])
def test_prod_and_scans_follow_numpy_dtypes(dtype):
    value = np.arange(-3, 9).reshape(3, 4).astype(dtype)
    x = gc.tensor("x", (3, 4), dtype)
    for gc_fn, np_fn in [(gc.prod, np.prod), (gc.cumsum, np.cumsum), (gc.cumprod, np.cumprod)]:
        got, want = gc_fn(x, 1).eval({x: value}), np_fn(value, 1)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_any_all_of_nan_and_empty_axes():
    x = gc.tensor("x", (2, 0), "float64")
    assert gc.any(x, 1).eval({x: np.zeros((2, 0))}).tolist() == [False, False]
    assert gc.all(x, 1).eval({x: np.zeros((2, 0))}).tolist() == [True, True]
    y = gc.tensor("y", (2,), "float64")
    assert gc.all(y).eval({y: np.array([np.nan, 1.0])}) == np.True_


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scans_match_numpy(name, axis):
    value = _with_zeros()
    x = gc.tensor("x", SHAPE, "float64")
    got = getattr(gc, name)(x, axis).eval({x: value})
    np.testing.assert_allclose(got, getattr(np, name)(value, axis=axis))


def test_scan_dtype_argument_accumulates_in_it():
    value = np.full((5,), 100, np.int64)
    x = gc.tensor("x", (5,), "int64")
    got = gc.cumprod(x, dtype="float32").eval({x: value})
    want = np.cumprod(value, dtype=np.float32)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("fn", [
    lambda x: gc.prod(x, -1), lambda x: gc.prod(x, (0, 2), keepdims=True), lambda x: gc.prod(x),
    lambda x: gc.cumsum(x, 1), lambda x: gc.cumsum(x), lambda x: gc.cumprod(x, -1),
    lambda x: gc.cumprod(x, 0), lambda x: gc.cumprod(x, 1),
], ids=["prod_last", "prod_keepdims", "prod_all", "cumsum_1", "cumsum_flat", "cumprod_last",
        "cumprod_0", "cumprod_1"])
def test_gradients_at_zeros_by_finite_differences(fn):
    # the functions are multilinear in each element, so central differences are exact at 0
    check_grad(fn, [_with_zeros()])


@pytest.mark.parametrize("fn", [lambda x: gc.prod(x, -1), lambda x: gc.cumprod(x, -1)],
                         ids=["prod", "cumprod"])
def test_second_derivatives(fn):
    check_grad(lambda x: gc.grad(gc.sum(gc.square(fn(x))), [x])[0], [_with_zeros(1)])


@pytest.mark.parametrize("gc_fn, torch_name", [
    (lambda x: gc.prod(x, 2), ("prod", 2)), (lambda x: gc.prod(x, -2), ("prod", -2)),
    (lambda x: gc.cumsum(x, 1), ("cumsum", 1)), (lambda x: gc.cumprod(x, 2), ("cumprod", 2)),
    (lambda x: gc.cumprod(x, 0), ("cumprod", 0)),
], ids=["prod_2", "prod_-2", "cumsum_1", "cumprod_2", "cumprod_0"])
def test_values_and_gradients_match_torch(gc_fn, torch_name):
    torch = pytest.importorskip("torch", reason="torch is not installed: no cross-check against it")
    name, dim = torch_name
    match_torch(gc_fn, lambda t: getattr(torch, name)(t, dim), [_with_zeros(2)])


def test_any_all_have_no_gradient_path():
    x = gc.tensor("x", (3,), "float64")
    g = gc.grad(gc.sum(gc.cast(gc.any(x), "float64") * x), [x])[0]
    np.testing.assert_allclose(g.eval({x: np.array([0.0, 2.0, 3.0])}), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("build", [lambda x: gc.prod(x, 2), lambda x: gc.any(x, -3),
                                   lambda x: gc.cumsum(x, 2), lambda x: gc.cumprod(x, -3)])
def test_bad_axis_is_a_build_time_error(build):
    x = gc.tensor("x", (3, 4), "float64")
    with pytest.raises(gc.ShapeError, match="out of range for a tensor of rank 2"):
        build(x)


def test_scan_axis_must_be_an_int():
    with pytest.raises(gc.ShapeError, match="cumsum: axis must be an int"):
        gc.cumsum(gc.tensor("x", (3,), "float64"), 0.5)


@pytest.mark.parametrize("build", [
    lambda: gc.prod(gc.ones((3, 4)), 1), lambda: gc.prod(gc.zeros((2, 3), "float32")),
    lambda: gc.max(gc.full((2, 3), 2.5), 0, keepdims=True), lambda: gc.min(gc.constant(np.array([3, 3, 3]))),
    lambda: gc.prod(gc.ones((2, 5), "int32"), -1),
])
def test_reductions_of_uniform_constants_simplify_to_constants(build):
    expr = build()
    simple = gc.simplify(expr)
    assert not any(isinstance(n.op, gc.ops.Reduce) for n in gc.ir.toposort([simple]))
    got, want = simple.eval(), expr.eval()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_products_of_other_constants_are_not_rewritten():
    assert any(isinstance(n.op, gc.ops.Reduce) for n in gc.ir.toposort([gc.simplify(gc.prod(gc.full((3,), 1.1)))]))


def test_scans_print_their_kind_direction_and_axis():
    x = gc.tensor("x", (3, 4), "float32")
    assert gc.pprint(gc.cumprod(x, -1)) == "cumprod(x, axis=1)"
    assert "reverse_cumsum(t1 * x, axis=0)" in gc.pprint(gc.grad(gc.sum(gc.cumsum(x, 0) * x), [x])[0])
