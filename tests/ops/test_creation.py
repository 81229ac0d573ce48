"""zeros, ones, full, arange, eye and linspace against numpy (values, dtypes, shapes), and
clear build-time errors for sizes and bounds not known or not valid."""
import numpy as np
import pytest

import graphc as gc

CASES = [
    ("zeros", ((2, 3),), {}), ("zeros", (4,), {"dtype": "int32"}), ("zeros", ((),), {}),
    ("ones", ((3, 1, 2),), {}), ("ones", (5,), {"dtype": "bool"}), ("ones", ((0, 2),), {"dtype": "float32"}),
    ("full", ((2, 2), 1.5), {}), ("full", ((3,), 7), {}), ("full", ((2,), 2), {"dtype": "float32"}),
    ("full", ((2, 1), True), {}),
    ("arange", (5,), {}), ("arange", (1, 8, 2), {}), ("arange", (0.5, 3), {}), ("arange", (10, 0, -3), {}),
    ("arange", (0, 1, 0.1), {}), ("arange", (3,), {"dtype": "float32"}), ("arange", (4, 2), {}),
    ("eye", (3,), {}), ("eye", (3, 4, 1), {}), ("eye", (3, 5), {"k": -2, "dtype": "int32"}), ("eye", (0,), {}),
    ("linspace", (0, 1, 5), {}), ("linspace", (0, 10, 4, False), {}), ("linspace", (-3, 10, 7), {"dtype": "int32"}),
    ("linspace", (2, 3), {}), ("linspace", (1, 2, 1), {}), ("linspace", (1, 2, 0), {"dtype": "float32"}),
]


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=lambda v: str(v))
def test_matches_numpy(name, args, kwargs):
    got = getattr(gc, name)(*args, **kwargs).eval()
    want = getattr(np, name)(*args, **kwargs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_static_types_are_known_when_built():
    assert gc.zeros((2, 3)).type == gc.TensorType(np.dtype("float64"), (2, 3))
    assert gc.arange(2, 11, 3).type == gc.TensorType(np.dtype("int64"), (3,))
    assert gc.linspace(0, 1, 7, dtype="float32").type == gc.TensorType(np.dtype("float32"), (7,))


def test_created_tensors_combine_with_inputs():
    x = gc.tensor("x", (3, 4), "float64")
    y = x * gc.arange(4) + gc.eye(3, 4) - gc.full((3, 1), 2.0)
    value = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(y.eval({x: value}), value * np.arange(4) + np.eye(3, 4) - 2.0)
    assert gc.grad(gc.sum(y), [x])[0].eval({x: value}).tolist() == np.tile(np.arange(4.0), (3, 1)).tolist()


@pytest.mark.parametrize("build, message", [
    (lambda: gc.zeros((2, 2.5)), r"zeros: shape \(2, 2.5\) must hold non-negative ints"),
    (lambda: gc.ones((-1,)), r"ones: shape \(-1,\) must hold non-negative ints"),
    (lambda: gc.zeros((None, 2)), r"zeros: shape \(None, 2\) must hold non-negative ints"),
    (lambda: gc.full("ab", 1), r"full: shape 'ab' must hold non-negative ints"),
    (lambda: gc.zeros(None), r"zeros: shape must be an int or a sequence of ints, got None"),
    (lambda: gc.eye(3, -2), r"eye: \(n, m\) \(3, -2\) must hold non-negative ints"),
    (lambda: gc.eye(3, k=0.5), r"eye: diagonal k must be an int, got 0.5"),
    (lambda: gc.linspace(0, 1, 2.0), r"linspace: num \(2.0,\) must hold non-negative ints"),
])
def test_bad_sizes_are_shape_errors(build, message):
    with pytest.raises(gc.ShapeError, match=message):
        build()


def test_bad_values_are_clear_errors():
    with pytest.raises(ValueError, match=r"arange: step must not be zero \(start=1, stop=5\)"):
        gc.arange(1, 5, 0)
    with pytest.raises(gc.DTypeError, match="full: fill_value must be a number known when the graph is built"):
        gc.full((2,), "a")
    with pytest.raises(gc.DTypeError, match="arange: stop must be a number known when the graph is built"):
        gc.arange(gc.tensor("n", (), "int64"))
