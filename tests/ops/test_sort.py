"""sort, argsort and topk against numpy and torch: stable order, NaNs, ties, gradients by
finite differences, and clear errors for bad arguments."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch


def _with_ties_and_nans(shape=(3, 7), seed=0):
    value = np.random.default_rng(seed).integers(-3, 4, shape).astype(np.float64)
    value[0, 1] = value[2, 4] = value[2, 0] = np.nan
    return value


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_sort_and_argsort_match_numpy_stable_with_nans_last(axis):
    value = _with_ties_and_nans()
    x = gc.tensor("x", value.shape, "float64")
    got_sorted, got_order = gc.evaluate([gc.sort(x, axis), gc.argsort(x, axis)], {x: value})
    np.testing.assert_array_equal(got_sorted, np.sort(value, axis))
    np.testing.assert_array_equal(got_order, np.argsort(value, axis, kind="stable"))
    assert got_order.dtype == np.int64


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_sort_keeps_the_dtype(dtype):
    value = np.array([[3, -1, 2, -1]], dtype)
    x = gc.tensor("x", value.shape, dtype)
    got = gc.sort(x).eval({x: value})
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.sort(value))


@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch_without_ties(largest):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle for topk")
    value = np.random.default_rng(2).standard_normal((4, 9))
    x = gc.tensor("x", value.shape, "float64")
    for axis in (0, 1):
        values, indices = gc.evaluate(list(gc.topk(x, 3, axis, largest)), {x: value})
        want = torch.topk(torch.tensor(value), 3, dim=axis, largest=largest)
        np.testing.assert_array_equal(values, want.values.numpy())
        np.testing.assert_array_equal(indices, want.indices.numpy())


def test_topk_takes_nans_first_and_ties_in_order():
    value = np.array([[1.0, np.nan, 5.0, 5.0, -2.0, 5.0]])
    x = gc.tensor("x", value.shape, "float64")
    values, indices = gc.evaluate(list(gc.topk(x, 4)), {x: value})
    np.testing.assert_array_equal(values, [[np.nan, 5.0, 5.0, 5.0]])
    np.testing.assert_array_equal(indices, [[1, 2, 3, 5]])
    values, indices = gc.evaluate(list(gc.topk(x, 2, largest=False)), {x: value})
    np.testing.assert_array_equal(indices, [[4, 0]])


@pytest.mark.parametrize("fn", [lambda x: gc.sort(x, 0), lambda x: gc.sort(x) * gc.sort(x),
                                lambda x: gc.topk(x, 2)[0], lambda x: gc.topk(x, 1, 0, False)[0],
                                lambda x: gc.grad(gc.sum(gc.topk(x, 2)[0] ** 3), [x])[0]],
                         ids=["sort0", "sort_squared", "topk", "bottomk_axis0", "second_order"])
def test_gradients_by_finite_differences(fn):
    distinct = np.random.default_rng(3).permutation(15).reshape(3, 5) * 0.37 - 2.0   # no ties
    check_grad(fn, [distinct])
    check_grad(fn, [distinct[:1]])            # batch of one


def test_gradients_match_torch():
    pytest.importorskip("torch", reason="torch is the optional oracle for sort and topk gradients")
    value = np.random.default_rng(4).standard_normal((3, 6))
    match_torch(lambda x: gc.sort(x, 1), lambda t: t.sort(1).values, [value])
    match_torch(lambda x: gc.topk(x, 4, 0 if False else 1)[0], lambda t: t.topk(4, 1).values, [value])
    match_torch(lambda x: gc.topk(x, 2, 0, largest=False)[0], lambda t: t.topk(2, 0, largest=False).values, [value])


def test_indices_have_no_gradient():
    x = gc.tensor("x", (3, 4), "float64")
    with pytest.raises(gc.DisconnectedGradientError):
        gc.grad(gc.sum(gc.cast(gc.argsort(x), "float64")), [x])


def test_bad_arguments_are_refused_when_built():
    x = gc.tensor("x", (3, 4))
    with pytest.raises(gc.ShapeError, match=r"sort: axis 2 is out of range for a tensor of rank 2"):
        gc.sort(x, 2)
    with pytest.raises(gc.ShapeError, match=r"argsort: axis must be an int"):
        gc.argsort(x, 0.5)
    with pytest.raises(gc.ShapeError, match=r"topk: k=5 is larger than axis 1 of size 4 \(input \(3, 4\)\)"):
        gc.topk(x, 5)
    with pytest.raises(gc.ShapeError, match=r"topk: k must be at least 1, got 0"):
        gc.topk(x, 0)
    with pytest.raises(TypeError, match=r"topk: k must be an int, got 2.0"):
        gc.topk(x, 2.0)
    with pytest.raises(gc.ShapeError, match="0-d"):
        gc.sort(gc.scalar("s"))
    with pytest.raises(gc.DTypeError, match="bool"):
        gc.sort(gc.tensor("b", (3,), "bool"))


def test_k_larger_than_an_axis_known_only_when_run():
    x = gc.tensor("x", (2, None), "float64")
    values, _ = gc.topk(x, 3)
    assert values.shape == (2, 3)
    np.testing.assert_array_equal(values.eval({x: np.arange(8.0).reshape(2, 4)}), [[3, 2, 1], [7, 6, 5]])
    with pytest.raises(gc.ShapeError, match="k=3 is larger than axis 1 of size 2"):
        values.eval({x: np.zeros((2, 2))})


def test_listing_names():
    x = gc.tensor("x", (3, 4))
    values, indices = gc.topk(x, 2)
    assert str(values.op) == "topk{axis=1, k=2, descending}"
    assert str(indices.op) == "topk_indices{axis=1, k=2, descending}"
    assert str(gc.sort(x, 0).op) == "sort{axis=0}" and gc.argsort(x).op.name == "argsort"
