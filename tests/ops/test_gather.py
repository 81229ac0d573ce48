"""Gathers and scatter-adds through index arrays: advanced x[idx], gc.take,
gc.take_along_axis, gc.index_add and gc.nn.embedding against numpy (and torch when
installed), their gradients by finite differences, and clear errors for bad arguments,
when built and (indices out of range) when run."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.ops import is_constant
from gradcheck import check_grad
from torch_match import match_torch

SHAPE = (3, 4, 5)


def _x():
    return gc.tensor("x", SHAPE, "float64"), np.random.default_rng(0).standard_normal(SHAPE)


I2 = np.array([[0, 2], [-1, 1]])
INDEXES = [
    ([0, 2],), (slice(None), [1, 3]), (slice(None), 0, [1, 2]), (0, slice(None), [1]),
    (slice(None), [0, 1], None), (Ellipsis, I2), (None, [1, 2], slice(1, 3), [0, 4]),
    ([2, 1], slice(None), [0, -5]), (slice(None), [[0]], 0), (I2, [[1], [3]]), (slice(None, None, -2), I2, 1),
    (1, [2, 0], None, slice(4, 0, -2)), ([],), (np.array([2, 2, 2]), Ellipsis, None), (slice(None), None, [3], [0, 1]),
]


@pytest.mark.parametrize("index", INDEXES, ids=str)
def test_advanced_indexing_matches_numpy(index):
    x, value = _x()
    got = x[index]
    want = value[index]
    assert got.type.shape == want.shape
    np.testing.assert_array_equal(got.eval({x: value}), want)


def test_index_tensors_with_sizes_known_when_run():
    x, value = _x()
    i = gc.tensor("i", (None, 2), "int32")
    iv = np.array([[1, -1], [0, 2], [3, 3]], np.int32)
    y = x[1:, i, ::2]
    assert y.type.shape == (2, None, 2, 3)
    np.testing.assert_array_equal(y.eval({x: value, i: iv}), value[1:, iv, ::2])


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("indices", [np.array(2), np.array([1, -1, 1]), np.array([[0, 2, -3], [-2, 1, 0]])], ids=str)
def test_take_matches_numpy(axis, indices):
    x, value = _x()
    np.testing.assert_array_equal(gc.take(x, indices, axis).eval({x: value}), np.take(value, indices, axis))


@pytest.mark.parametrize("axis, index_shape", [(0, (2, 4, 5)), (1, (3, 7, 5)), (2, (3, 4, 1)), (-1, (1, 4, 3)),
                                               (1, (1, 2, 1)), (None, (9,))], ids=str)
def test_take_along_axis_matches_numpy(axis, index_shape):
    x, value = _x()
    n = value.size if axis is None else SHAPE[axis]
    indices = np.random.default_rng(1).integers(-n, n, index_shape)
    np.testing.assert_array_equal(gc.take_along_axis(x, indices, axis).eval({x: value}),
                                  np.take_along_axis(value, indices, axis))


def test_take_along_axis_broadcasts_x_against_the_indices():
    x = gc.tensor("x", (1, 5), "float64")
    value, indices = np.arange(5.0)[None], np.array([[0, 4], [3, -1], [2, 2]])
    np.testing.assert_array_equal(gc.take_along_axis(x, indices, 1).eval({x: value}),
                                  np.take_along_axis(value, indices, 1))


def _index_add_numpy(x, axis, indices, values):
    out = x.copy()
    np.add.at(np.moveaxis(out, axis, 0), indices, np.moveaxis(values, axis, 0))
    return out


@pytest.mark.parametrize("axis, indices", [(0, [2, 0, 2, 2]), (1, [-1, 3, 0]), (2, [4]), (-2, []), (1, 2)], ids=str)
def test_index_add_accumulates_repeated_indices(axis, indices):
    x, value = _x()
    indices = np.asarray(indices, np.int64)
    shape = list(SHAPE)
    shape[axis:axis + 1 or None] = list(indices.shape)
    values = np.random.default_rng(2).standard_normal(shape)
    got = gc.index_add(x, axis, indices, values, alpha=0.5).eval({x: value})
    np.testing.assert_allclose(got, _index_add_numpy(value, axis % 3, indices.reshape(-1),
                                                     0.5 * values.reshape(SHAPE[:axis % 3] + (-1,) + SHAPE[axis % 3 + 1:])))


def test_embedding_picks_rows():
    weight = np.random.default_rng(3).standard_normal((7, 3))
    ids = np.array([[6, 0, 6], [2, 2, 1]])
    w = gc.tensor("w", (7, 3), "float64")
    np.testing.assert_array_equal(gc.nn.embedding(ids, w).eval({w: weight}), weight[ids])
    layer = gc.nn.Embedding(7, 3, rng=0)
    assert layer(ids).type.shape == (2, 3, 3) and layer.parameters() == [layer.weight]
    np.testing.assert_array_equal(layer(ids).eval(), layer.weight.get_value()[ids])


@pytest.mark.parametrize("fn", [
    lambda x: x[[0, 2, 0], 1:, [-1, 1, -1]],
    lambda x: x[:, [[1], [1]], ::-2],
    lambda x: gc.take(x, np.array([[0, 4, 0], [4, 4, 1]]), 2),
    lambda x: gc.take(x, np.array([7, 7, 0])),
    lambda x: gc.take_along_axis(x, np.array([[[0, 3, 3, 1, 0]], [[2, 2, 2, 2, 2]], [[1, 0, 1, 0, 1]]]), 1),
    lambda x: gc.take(x[:1], np.array([0, 0]), 0),                          # batch of 1
], ids=["getitem", "getitem_slices", "take", "take_flat", "take_along_axis", "batch1"])
def test_gradient_by_finite_differences(fn):
    check_grad(fn, [np.random.default_rng(4).standard_normal(SHAPE)])


def test_index_add_gradients_with_respect_to_x_and_values():
    indices = np.array([3, 0, 3])
    check_grad(lambda x, v: gc.index_add(x, 1, indices, v * v), [
        np.random.default_rng(5).standard_normal(SHAPE), np.random.default_rng(6).standard_normal((3, 3, 5))])


def test_second_derivative_through_the_scatter():
    # d/dx of (the gradient of sum(take(x)^3)) runs the scatter-add's own gradient, a gather
    indices = np.array([1, 1, 4])
    check_grad(lambda x: gc.grad(gc.sum(gc.take(x, indices, 2) ** 3), [x])[0],
               [np.random.default_rng(7).standard_normal((2, 2, 5))])


def test_gradient_with_sizes_known_only_when_run():
    i = np.array([[2, 0], [0, 0]])
    check_grad(lambda x: gc.take_along_axis(x, i, 1), [np.random.default_rng(8).standard_normal((2, 3))],
               shapes=[(None, 3)])


def test_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed: no cross-check against it")
    rng = np.random.default_rng(9)
    along = rng.integers(0, 4, (3, 6, 5))
    match_torch(lambda x: gc.take_along_axis(x, along, 1), lambda t: torch.gather(t, 1, torch.tensor(along)),
                [rng.standard_normal(SHAPE)])
    idx = np.array([3, 0, 3, 1])
    match_torch(lambda x, v: gc.index_add(x, 1, idx, v, alpha=2.0),
                lambda t, v: torch.index_add(t, 1, torch.tensor(idx), v, alpha=2.0),
                [rng.standard_normal(SHAPE), rng.standard_normal((3, 4, 5))])
    ids = np.array([[6, 0, 6], [2, 2, 1]])
    match_torch(lambda w: gc.nn.embedding(ids, w), lambda w: torch.nn.functional.embedding(torch.tensor(ids), w),
                [rng.standard_normal((7, 3))])
    rows, cols = np.array([[0, 2], [1, 1]]), np.array([4, 0])
    match_torch(lambda x: x[rows, 1:, cols], lambda t: t[torch.tensor(rows), 1:, torch.tensor(cols)],
                [rng.standard_normal(SHAPE)])


def test_bad_arguments_are_build_time_errors():
    x = gc.tensor("x", SHAPE, "float32")
    with pytest.raises(gc.DTypeError, match=r"take: indices must be integers, got float32 \(2,\)"):
        gc.take(x, gc.tensor("f", (2,), "float32"), 0)
    with pytest.raises(gc.DTypeError, match=r"take_along_axis: indices must be integers, got bool .*use gc.where"):
        gc.take_along_axis(x, gc.tensor("b", SHAPE, "bool"), 0)
    with pytest.raises(gc.DTypeError, match=r"getitem: index arrays must be integers, got float64 \(2,\)"):
        x[:, [0.0, 1.0]]
    with pytest.raises(gc.ShapeError, match="take: axis 3 is out of range for a tensor of rank 3"):
        gc.take(x, [0], 3)
    with pytest.raises(gc.ShapeError, match="index_add: axis -4 is out of range for a tensor of rank 3"):
        gc.index_add(x, -4, [0], np.zeros((1, 4, 5)))
    with pytest.raises(gc.ShapeError, match=r"take_along_axis: indices \(3, 4\) must have the rank of x \(3, 4, 5\)"):
        gc.take_along_axis(x, np.zeros((3, 4), int), 1)
    with pytest.raises(gc.ShapeError, match=r"take_along_axis: shapes \(3, 1, 5\) and \(2, 4, 5\) do not broadcast"):
        gc.take_along_axis(x, np.zeros((2, 4, 5), int), 1)
    with pytest.raises(gc.ShapeError, match=r"getitem: shapes \(2,\) and \(3,\) do not broadcast"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(gc.ShapeError, match=r"index_add: values have shape \(3, 4, 5\), but x \(3, 4, 5\) with "
                                            r"indices \(2,\) along axis 1 needs values of shape \(3, 2, 5\)"):
        gc.index_add(x, 1, [0, 1], np.zeros(SHAPE, "float32"))
    with pytest.raises(gc.ShapeError, match=r"index_add: indices must be 1-d or a scalar, got \(1, 2\)"):
        gc.index_add(x, 1, [[0, 1]], np.zeros((3, 2, 5), "float32"))
    with pytest.raises(gc.DTypeError, match=r"index_add: cannot add bool values \(3, 1, 5\): cast them to a number"):
        gc.index_add(gc.tensor("m", SHAPE, "bool"), 1, [0], np.ones((3, 1, 5), bool))
    with pytest.raises(gc.ShapeError, match=r"embedding: weight must be 2-d \(num_embeddings, embedding_dim\), got \(3, 4, 5\)"):
        gc.nn.embedding([0], x)


@pytest.mark.parametrize("build, message", [
    (lambda x: gc.take(x, [5], 2), "take: index 5 is out of range for axis 2 of size 5"),
    (lambda x: gc.take(x, np.array([[0, -61]])), "take: index -61 is out of range for axis 0 of size 60"),
    (lambda x: x[:, [1, 4]], "getitem: index 4 is out of range for axis 1 of size 4"),
    (lambda x: x[3, [1]], "getitem: index 3 is out of range for axis 0 of size 3"),
    (lambda x: gc.index_add(x, 0, [-4], np.zeros((1, 4, 5))), "index_add: index -4 is out of range for axis 0 of size 3"),
], ids=["take", "take_flat", "getitem", "getitem_int", "index_add"])
def test_constant_indices_out_of_range_are_build_time_errors(build, message):
    with pytest.raises(gc.ShapeError, match=message):
        build(gc.tensor("x", SHAPE, "float32"))


@pytest.mark.parametrize("build, bad, message", [
    (lambda x, i: gc.take(x, i, 1), [0, 4], "take: index 4 is out of range for axis 1 of size 4"),
    (lambda x, i: x[i], [-4, 0], "getitem: index -4 is out of range for axis 0 of size 3"),
    (lambda x, i: gc.index_add(x, 2, i, gc.ones((3, 4, 2), "float32")), [1, 5],
     "index_add: index 5 is out of range for axis 2 of size 5"),
    (lambda x, i: gc.grad(gc.sum(gc.take(x, i, 2)), [x])[0], [9, 0], "take: index 9 is out of range for axis 2 of size 5"),
], ids=["take", "getitem", "index_add", "gradient"])
def test_indices_out_of_range_when_run_raise_in_both_backends(build, bad, message):
    x, i = gc.tensor("x", SHAPE, "float32"), gc.tensor("i", (2,), "int64")
    for backend in ("numpy", "llvm"):
        f = gc.function([x, i], build(x, i), backend=backend)
        with pytest.raises(ValueError, match=message):
            f(np.ones(SHAPE, "float32"), np.array(bad))


def test_take_of_constants_folds_to_a_constant():
    folded = gc.simplify(gc.take(gc.constant(np.arange(6.0).reshape(2, 3)), np.array([2, 0]), 1))
    assert is_constant(folded)
    np.testing.assert_array_equal(folded.eval(), [[2.0, 0.0], [5.0, 3.0]])


@st.composite
def _mixed_index(draw):
    """A shape and a numpy index over it mixing ints, slices, None, an Ellipsis and integer
    arrays of broadcasting shapes (adjacent or apart)."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    block = draw(st.lists(st.integers(1, 3), max_size=2))
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["array", "array", "int", "slice", "all"]))
        if kind == "array":
            sub = [draw(st.sampled_from([1, b])) for b in block][draw(st.integers(0, len(block))):]
            items.append(np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(sub, dtype=int)),
                                                  max_size=int(np.prod(sub, dtype=int))))).reshape(sub))
        elif kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            items.append(slice(draw(st.sampled_from([None, 0, 1, -1])), draw(st.sampled_from([None, 2, -1])),
                               draw(st.sampled_from([None, 1, 2, -1]))))
        else:
            items.append(slice(None))
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()) and len(items) > 1:
        k = draw(st.integers(1, len(items)))
        items = [Ellipsis] + items[k:] if draw(st.booleans()) else items[:k] + [Ellipsis]
    return tuple(shape), tuple(items)


@settings(max_examples=150, deadline=None)
@given(case=_mixed_index())
def test_random_mixed_indexes_match_numpy(case):
    shape, index = case
    value = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x = gc.tensor("x", shape, "float64")
    want = value[index]
    got = x[index]
    assert got.type.shape == want.shape
    np.testing.assert_array_equal(got.eval({x: value}), want)
