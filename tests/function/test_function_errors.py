"""Clear errors from `gc.function`: arguments (count, shape, dtype), inputs, updates,
and shape errors raised while the graph is built."""
import numpy as np
import pytest

import graphc as gc


@pytest.fixture
def f():
    x, n = gc.tensor("x", (2, 3), "float32"), gc.tensor("n", (None, 3), "int32")
    return gc.function([x, n], x.sum() + n.sum())


def test_argument_count(f):
    with pytest.raises(TypeError, match=r"function takes 2 arguments \(x, n\), got 1"):
        f(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match=r"function takes 2 arguments \(x, n\), got 3"):
        f(1, 2, 3)


def test_argument_shape(f):
    with pytest.raises(gc.ShapeError, match=r"argument 'x': expected shape \(2, 3\), got \(2, 4\)"):
        f(np.ones((2, 4), np.float32), np.ones((1, 3), np.int32))
    with pytest.raises(gc.ShapeError, match=r"argument 'n': expected shape \(\?, 3\), got \(1, 3, 1\)"):
        f(np.ones((2, 3), np.float32), np.ones((1, 3, 1), np.int32))
    with pytest.raises(gc.ShapeError, match=r"argument 'x': expected shape \(2, 3\), got \(6,\)"):
        f([1, 2, 3, 4, 5, 6], np.ones((1, 3), np.int32))


def test_argument_dtype(f):
    with pytest.raises(gc.DTypeError, match=r"argument 'x': expected dtype float32, got float64 \(convert with .astype\(np.float32\)\)"):
        f(np.ones((2, 3)), np.ones((1, 3), np.int32))
    with pytest.raises(gc.DTypeError, match="argument 'n': expected dtype int32, got int64"):
        f(np.ones((2, 3), np.float32), np.ones((1, 3), np.int64))
    with pytest.raises(gc.DTypeError, match="argument 'n': expected dtype int32, got values of dtype float64"):
        f(np.ones((2, 3), np.float32), [[1.5, 2.0, 3.0]])  # would silently truncate
    with pytest.raises(gc.DTypeError, match="argument 'n': expected dtype int32, got values of dtype <U"):
        f(np.ones((2, 3), np.float32), [["a", "b", "c"]])


def test_inputs_must_be_symbolic_inputs_listed_once():
    x = gc.tensor("x", (2,))
    with pytest.raises(TypeError, match="function: inputs must be symbolic inputs from gc.tensor, got <add"):
        gc.function([x + 1], x)
    with pytest.raises(ValueError, match="function: an input is listed twice"):
        gc.function([x, x], x)
    with pytest.raises(ValueError, match="function: the outputs depend on inputs not listed: 'x'"):
        gc.function([], x * 2)
    w = gc.shared(np.zeros(2), "w")
    with pytest.raises(TypeError, match="function: inputs must be symbolic inputs"):
        gc.function([w], w)


def test_update_errors():
    x = gc.tensor("x", (3,), "float64")
    w = gc.shared(np.zeros(3), "w")
    with pytest.raises(TypeError, match="updates: <x: f64\\[3\\] #\\d+> is not a shared variable"):
        gc.function([x], x, updates=[(x, x)])
    with pytest.raises(ValueError, match="updates: 'w' is updated twice"):
        gc.function([], w, updates=[(w, w + 1), (w, w + 2)])
    with pytest.raises(gc.ShapeError, match=r"updates: 'w' has shape \(3,\), the new value \(4,\)"):
        gc.function([], w, updates={w: gc.constant(np.zeros(4))})
    with pytest.raises(ValueError, match="the outputs depend on inputs not listed: 'x'"):
        gc.function([], w, updates={w: w + x})
    n = gc.shared(np.zeros(3, np.int32), "n")
    with pytest.raises(gc.DTypeError, match="updates: 'n' has dtype int32; values of dtype float64 would change kind"):
        gc.function([], n, updates={n: gc.constant(np.ones(3))})


def test_build_time_shape_errors_name_the_op_and_shapes():
    a, b = gc.tensor("a", (2, 3)), gc.tensor("b", (4, 5))
    with pytest.raises(gc.ShapeError, match=r"matmul: inner dimensions differ in \(2, 3\) @ \(4, 5\): 3 != 4"):
        gc.function([a, b], a @ b)
    with pytest.raises(gc.ShapeError, match=r"add: shapes \(2, 3\) and \(4, 5\) do not broadcast: axis -2 has sizes \[2, 4\]; sizes must be equal or 1"):
        gc.function([a, b], a + b)
    with pytest.raises(gc.ShapeError, match=r"maximum: shapes \(2, 3\) and \(2,\) do not broadcast: axis -1 has sizes \[2, 3\]"):
        gc.maximum(a, gc.tensor("c", (2,)))


def test_pickling_says_to_rebuild_the_function(f):
    import pickle

    with pytest.raises(TypeError, match="rebuild the function with gc.function after unpickling"):
        pickle.dumps(f)
