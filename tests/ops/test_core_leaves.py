"""Leaves (constants, shared variables), evaluation, and the random stream."""
import numpy as np
import pytest

import graphc as gc


@pytest.mark.parametrize("value,dtype", [
    (2.0, "float32"), (3, "int64"), (True, "bool"), ([1.5, 2.5], "float32"), ([1, 2], "int64"),
    (np.float64(1.0), "float64"), (np.arange(3, dtype=np.int32), "int32"), (np.ones(2), "float64"),
])
def test_constant_dtypes(value, dtype):
    c = gc.constant(value)
    assert c.dtype == np.dtype(dtype) and c.shape == np.shape(value)
    np.testing.assert_array_equal(c.eval(), np.asarray(value, dtype))


def test_constant_with_explicit_dtype_and_errors():
    assert gc.constant([1, 2], dtype="float64").dtype == np.float64
    with pytest.raises(TypeError, match="constant: value is already a node"):
        gc.constant(gc.tensor("x", ()))
    with pytest.raises(gc.DTypeError, match="dtype float16 is not supported"):
        gc.constant(np.ones(2, np.float16))
    for value in (None, "a"):
        with pytest.raises(gc.DTypeError, match=f"constant: {value!r} is not a number or an array of numbers"):
            gc.tensor("x", (2,)) + value


def test_constants_are_private_copies():
    v = np.arange(3.0)
    c = gc.constant(v)
    v[0] = 100.0
    np.testing.assert_array_equal(c.eval(), [0.0, 1.0, 2.0])


def test_shared_value_roundtrip():
    init = np.arange(6, dtype=np.float64).reshape(2, 3)
    w = gc.shared(init, "w")
    assert w.name == "w" and w.dtype == np.float64 and w.shape == (2, 3)
    init[0, 0] = 99.0  # shared holds its own copy
    got = w.get_value()
    assert got[0, 0] == 0.0
    got[0, 1] = 42.0  # get_value returns a copy
    assert w.get_value()[0, 1] == 1.0
    w.set_value(np.ones((2, 3)))
    np.testing.assert_array_equal(gc.get_value(w), np.ones((2, 3)))
    gc.set_value(w, np.zeros((2, 3), np.int32))  # same-kind cast is fine
    assert w.get_value().dtype == np.float64


def test_shared_dtypes():
    assert gc.shared([1.0, 2.0]).dtype == np.float32  # Python floats: graphc's default float
    assert gc.shared(np.zeros(2)).dtype == np.float64  # arrays keep theirs
    assert gc.shared(3).dtype == np.int64
    assert gc.shared([1, 2], dtype="int32").dtype == np.int32


def test_shared_errors():
    w = gc.shared(np.zeros(3, np.float32), "w")
    with pytest.raises(gc.ShapeError, match=r"set_value: w has shape \(3,\), got \(4,\)"):
        w.set_value(np.zeros(4))
    n = gc.shared(np.zeros(3, np.int32), "n")
    with pytest.raises(gc.DTypeError, match="set_value: 'n' has dtype int32; values of dtype float64 would change kind"):
        n.set_value(np.zeros(3))
    with pytest.raises(TypeError, match="get_value: .* is not a shared variable"):
        gc.tensor("x", ()).get_value()


def test_eval_reads_the_current_shared_value():
    w = gc.shared(np.array([1.0, 2.0]), "w")
    y = (w * 2).sum()
    assert y.eval() == 6.0
    w.set_value(np.array([3.0, 4.0]))
    assert y.eval() == 14.0


def test_eval_needs_every_input():
    x, y = gc.tensor("x", (2,)), gc.tensor("y", (2,))
    with pytest.raises(ValueError, match=r"no value given for input 'y' \(f32\[2\]\)"):
        (x + y).eval({x: [1, 2]})


def test_random_uniform_values_and_reproducibility():
    x = gc.tensor("x", (200, 3), "float64")
    xv = np.zeros((200, 3))
    u = gc.RandomStream(7).uniform_like(x)
    a = u.eval({x: xv})
    assert a.shape == (200, 3) and a.dtype == np.float64
    assert 0.0 <= a.min() and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.05 and abs(a.var() - 1 / 12) < 0.02
    again = gc.RandomStream(7).uniform_like(x).eval({x: xv})
    np.testing.assert_array_equal(a, again)
    other = gc.RandomStream(8).uniform_like(x).eval({x: xv})
    assert not np.array_equal(a, other)


def test_two_draws_of_one_stream_differ():
    x = gc.tensor("x", (50,))
    stream = gc.RandomStream(0)
    u1, u2 = stream.uniform_like(x), stream.uniform_like(x)
    assert u1 is not u2
    xv = np.zeros(50, np.float32)
    assert not np.array_equal(u1.eval({x: xv}), u2.eval({x: xv}))


def test_bernoulli_frequency():
    x = gc.tensor("x", (4000,), "float32")
    mask = gc.RandomStream(3).bernoulli_like(x, 0.3).eval({x: np.zeros(4000, np.float32)})
    assert mask.dtype == np.float32 and set(np.unique(mask)) <= {0.0, 1.0}
    assert abs(mask.mean() - 0.3) < 0.03
