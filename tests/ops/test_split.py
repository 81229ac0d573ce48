"""gc.split against numpy.split (sections and indices, any axis), its gradient by finite
differences and against torch, and clear errors for sections that do not fit."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

SHAPE = (3, 6, 5)


@pytest.mark.parametrize("args", [(3,), (2, 1), (5, -1), ([1, 4], 1), ([], 2), ([-2, 10], 1), ([4, 2], 1),
                                  (np.array([2]), 0), ([0, 0, 5], 2)], ids=str)
def test_matches_numpy(args):
    x = gc.tensor("x", SHAPE, "float32")
    value = np.random.default_rng(0).standard_normal(SHAPE).astype("float32")
    got = [p.eval({x: value}) for p in gc.split(x, *args)]
    want = np.split(value, *args)
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("args", [(3, 1), ([1, 4], -1), ([2, 2], 0)], ids=str)
def test_gradient_by_finite_differences(args):
    # weight the pieces differently so that a gradient routed to the wrong piece shows
    value = np.random.default_rng(1).standard_normal(SHAPE)
    check_grad(lambda x: gc.concatenate([p * (k + 1.0) for k, p in enumerate(gc.split(x, *args))], args[1]),
               [value])


def test_unused_pieces_get_zero_gradient():
    x = gc.tensor("x", (4, 3), "float64")
    first, _ = gc.split(x, 2)
    g = gc.grad(gc.sum(first * 3.0), [x])[0]
    np.testing.assert_array_equal(g.eval({x: np.ones((4, 3))}), [[3.0] * 3] * 2 + [[0.0] * 3] * 2)


def test_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed: no cross-check against it")
    match_torch(lambda x: gc.concatenate([p * (k + 1.0) for k, p in enumerate(gc.split(x, [2, 5], 1))], 1),
                lambda t: torch.cat([p * (k + 1.0) for k, p in enumerate(torch.tensor_split(t, [2, 5], 1))], 1),
                [np.random.default_rng(2).standard_normal(SHAPE)])


@pytest.mark.parametrize("args, message", [
    ((4, 1), r"split: 4 sections do not divide axis 1 of \(3, 6, 5\) \(size 6\) equally"),
    ((0,), r"split: the number of sections must be positive, got 0 for axis 0 of \(3, 6, 5\)"),
    ((1.5, 1), r"split: indices_or_sections must be an int or a sequence of ints, got 1.5 for axis 1"),
    (([1, 2.0], 2), r"split: indices_or_sections must be an int or a sequence of ints, got \[1, 2.0\]"),
    ((2, 3), r"split: axis 3 is out of range for a tensor of rank 3"),
])
def test_bad_arguments_are_build_time_errors(args, message):
    with pytest.raises(gc.ShapeError, match=message):
        gc.split(gc.tensor("x", SHAPE, "float32"), *args)


def test_axis_size_must_be_known():
    with pytest.raises(gc.ShapeError, match=r"split: axis 0 of \(\?, 4\) must have a size known when built"):
        gc.split(gc.tensor("x", (None, 4), "float32"), 2)


def test_simplified_gradient_is_a_concatenation_of_the_pieces_gradients():
    x = gc.tensor("x", (3, 7), "float64")
    pieces = gc.split(x, [2, 5], 1)
    g = gc.grad(gc.sum(gc.exp(pieces[0])) + gc.sum(pieces[1] * 2.0) + gc.sum(gc.sin(pieces[2])), [x])[0]
    simple = gc.simplify(g)
    ops = {type(n.op).__name__ for n in gc.ir.toposort([simple])}
    assert "Concatenate" in ops and "ScatterInto" not in ops
    value = np.random.default_rng(3).standard_normal((3, 7))
    np.testing.assert_allclose(simple.eval({x: value}), g.eval({x: value}))
