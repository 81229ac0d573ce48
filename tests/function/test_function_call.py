"""`gc.function`: outputs, updates (after the outputs, as dict or pairs), default
updates of random streams, and what it returns."""
import numpy as np
import pytest

import graphc as gc


def test_single_output_and_list_of_outputs(rng):
    x = gc.tensor("x", (2, 3), "float64")
    xv = rng.standard_normal((2, 3))
    single = gc.function([x], x.sum())
    out = single(xv)
    assert isinstance(out, np.ndarray) and out.shape == () and out == pytest.approx(xv.sum())
    many = gc.function([x], [x.sum(), x * 2])
    a, b = many(xv)
    assert a == pytest.approx(xv.sum())
    np.testing.assert_array_equal(b, xv * 2)
    one_in_a_list = gc.function([x], [gc.exp(x)])(xv)
    assert isinstance(one_in_a_list, list) and len(one_in_a_list) == 1
    np.testing.assert_allclose(one_in_a_list[0], np.exp(xv))


def test_outputs_have_the_nodes_dtypes():
    x = gc.tensor("x", (3,), "int32")
    f = gc.function([x], [x + 1, x / 2, x > 1, gc.sum(x)])
    outs = f(np.array([1, 2, 3], np.int32))
    assert [o.dtype for o in outs] == [np.int32, np.float64, np.bool_, np.int64]


def test_python_values_are_converted_when_their_kind_fits():
    x, n = gc.tensor("x", (2,), "float32"), gc.tensor("n", (), "int64")
    f = gc.function([x, n], [x * 2, n + 1])
    xs, ns = f([1, 2.5], 3)
    assert xs.dtype == np.float32 and ns.dtype == np.int64
    np.testing.assert_array_equal(xs, [2.0, 5.0])
    assert ns == 4


def test_inputs_of_unknown_shape_take_any_size(rng):
    x = gc.tensor("x", (None, 2), "float64")
    f = gc.function([x], x.mean(axis=0))
    for n in (1, 5):
        xv = rng.standard_normal((n, 2))
        np.testing.assert_allclose(f(xv), xv.mean(axis=0))


def test_updates_are_applied_after_computing_outputs():
    w = gc.shared(np.array([5.0, 7.0]), "w")
    step = gc.function([], w * 1.0, updates=[(w, w - 1)])
    np.testing.assert_array_equal(step(), [5.0, 7.0])  # the old value
    np.testing.assert_array_equal(w.get_value(), [4.0, 6.0])
    np.testing.assert_array_equal(step(), [4.0, 6.0])
    np.testing.assert_array_equal(w.get_value(), [3.0, 5.0])


def test_updates_as_a_dict_and_simultaneous():
    a, b = gc.shared(np.array(1.0), "a"), gc.shared(np.array(2.0), "b")
    swap = gc.function([], a + 10 * b, updates={a: b, b: a})
    assert swap() == 21.0
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)  # both computed from the old values
    assert swap() == 12.0


def test_updates_with_inputs_and_casting(rng):
    w = gc.shared(np.zeros(3, np.float32), "w")
    g = gc.tensor("g", (3,), "float64")
    sgd = gc.function([g], gc.sum(w), updates={w: w - 0.5 * g})  # float64 value stored as float32
    sgd(np.array([2.0, 4.0, 6.0]))
    assert w.get_value().dtype == np.float32
    np.testing.assert_array_equal(w.get_value(), [-1.0, -2.0, -3.0])


def test_a_gradient_descent_step_reduces_a_quadratic(rng):
    target = rng.standard_normal(4)
    w = gc.shared(np.zeros(4), "w")
    loss = ((w - gc.constant(target)) ** 2).sum()
    step = gc.function([], loss, updates={w: w - 0.25 * gc.grad(loss, w)})
    losses = [float(step()) for _ in range(5)]
    assert losses[0] == pytest.approx((target ** 2).sum())
    np.testing.assert_allclose(losses[1:], [losses[0] * 0.25 ** k for k in range(1, 5)], rtol=1e-12)


def test_random_stream_default_update_advances_every_call():
    x = gc.tensor("x", (6,), "float32")
    stream = gc.RandomStream(11)
    f = gc.function([x], stream.uniform_like(x))
    zeros = np.zeros(6, np.float32)
    key0 = stream.key.get_value()
    first, second = f(zeros), f(zeros)
    assert stream.key.get_value() == key0 + 2
    assert not np.array_equal(first, second)
    again = gc.RandomStream(11)
    g = gc.function([x], again.uniform_like(x))
    np.testing.assert_array_equal(g(zeros), first)  # same seed, same sequence
    np.testing.assert_array_equal(g(zeros), second)


def test_user_update_of_the_key_replaces_the_default():
    x = gc.tensor("x", (3,), "float32")
    stream = gc.RandomStream(0)
    frozen = gc.function([x], stream.uniform_like(x), updates={stream.key: stream.key * 1})
    zeros = np.zeros(3, np.float32)
    np.testing.assert_array_equal(frozen(zeros), frozen(zeros))


def test_returned_arrays_do_not_alias_shared_storage():
    w = gc.shared(np.arange(6.0).reshape(2, 3), "w")
    f = gc.function([], [w, w.T, w[0]])
    a, b, c = f()
    a[0, 0], b[1, 0], c[2] = 100.0, 200.0, 300.0
    np.testing.assert_array_equal(w.get_value(), np.arange(6.0).reshape(2, 3))
    v = gc.shared(np.zeros(2), "v")
    g = gc.function([], v + 1, updates={v: v + 1})
    out = g()
    out[0] = 50.0
    np.testing.assert_array_equal(v.get_value(), [1.0, 1.0])


def test_stored_values_do_not_alias_the_callers_arrays():
    w = gc.shared(np.zeros(2), "w")
    x = gc.tensor("x", (2,), "float64")
    store = gc.function([x], [], updates={w: x})
    arg = np.array([1.0, 2.0])
    store(arg)
    arg[0] = 99.0
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0])


def test_updates_reuse_storage_nothing_else_refers_to():
    """An update's new value goes into the array it replaced two calls before, once nothing
    but the function refers to that array: no allocation per step (two buffers alternate)."""
    w = gc.shared(np.zeros(4, np.float32), "w")
    step = gc.function([], [], updates={w: w + 1})
    step()
    first = w.get_value(borrow=True).__array_interface__["data"][0]
    step()
    step()
    assert w.get_value(borrow=True).__array_interface__["data"][0] == first
    np.testing.assert_array_equal(w.get_value(), [3, 3, 3, 3])


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_updates_never_overwrite_an_array_someone_holds(backend):
    """A value taken with get_value(borrow=True), or stored in two variables, keeps its
    contents whatever later calls do."""
    w = gc.shared(np.zeros(3), "w")
    v = gc.shared(np.zeros(3), "v")
    step = gc.function([], [], updates={w: w + 1, v: v + 2}, backend=backend)
    kept = []
    for _ in range(4):
        kept.append(w.get_value(borrow=True))
        step()
    assert [float(k[0]) for k in kept] == [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_array_equal(v.get_value(), [8, 8, 8])
    same = gc.shared(np.zeros(2), "same")
    swap = gc.function([], [], updates={same: same + 1}, backend=backend)
    held = same.get_value(borrow=True)
    for _ in range(3):
        swap()
    np.testing.assert_array_equal(held, [0, 0])
    np.testing.assert_array_equal(same.get_value(), [3, 3])


def test_repr_and_unknown_backend():
    x = gc.tensor("x", (2,))
    assert repr(gc.function([x], x * 2)) == "<graphc.Function (x) -> 1 output(s), backend=llvm>"
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'; choose from \[.*'numpy'"):
        gc.function([x], x, backend="tpu")


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_outputs_are_writable_and_fresh_at_every_call(backend):
    x = gc.tensor("x", (2, 3), "float32")
    w = gc.shared(np.ones(3, np.float32), "w")
    outputs = [gc.full_like(x, 2.0), gc.constant(np.arange(3, dtype=np.float32)), gc.zeros_like(w),
               gc.reshape(gc.constant(np.arange(6.0)), (2, 3)), gc.broadcast_to(w, (2, 3)), x.T, w, x * 2]
    f = gc.function([x], outputs, backend=backend)
    arg = np.zeros((2, 3), np.float32)
    first, second = f(arg), f(arg)
    for k, (a, b) in enumerate(zip(first, second)):
        assert a.flags.writeable, f"output {k} is read-only"
        assert not np.shares_memory(a, b), f"output {k} is the same buffer at two calls"
        assert not np.shares_memory(a, arg) and not np.shares_memory(a, w.get_value(borrow=True))
        a[...] = 7  # writing one call's result changes nothing else
    np.testing.assert_array_equal(second[0], np.full((2, 3), 2.0, np.float32))
    np.testing.assert_array_equal(f(arg)[1], np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(w.get_value(), np.ones(3, np.float32))


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_stored_constant_updates_are_writable_and_unshared(backend):
    a, b = gc.shared(np.ones(3, np.float32), "a"), gc.shared(np.ones(3, np.float32), "b")
    zero = gc.zeros_like(a)
    gc.function([], [], updates={a: zero, b: zero}, backend=backend)()
    va, vb = a.get_value(borrow=True), b.get_value(borrow=True)
    assert va.flags.writeable and vb.flags.writeable and not np.shares_memory(va, vb)
    va[0] = 5.0
    np.testing.assert_array_equal(b.get_value(), np.zeros(3, np.float32))
