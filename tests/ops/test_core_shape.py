"""Shape ops against numpy: reshape, transpose, broadcast_to, expand_dims, squeeze,
flatten, concatenate, stack, pad, flip; static shapes and build-time errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import graphc as gc


@pytest.fixture
def x234(rng):
    x = gc.tensor("x", (2, 3, 4), "float64")
    return x, rng.standard_normal((2, 3, 4))


@pytest.mark.parametrize("shape", [(24,), (-1,), (4, -1), (-1, 3, 2), (2, 12), (1, 24, 1), (6, 4)])
def test_reshape(shape, x234, like_numpy):
    x, xv = x234
    like_numpy(gc.reshape(x, shape), {x: xv}, xv.reshape(shape))
    like_numpy(x.reshape(*shape), {x: xv}, xv.reshape(*shape))


def test_reshape_with_unknown_dims(rng, like_numpy):
    x = gc.tensor("x", (None, 3, 4), "float32")
    xv = rng.standard_normal((5, 3, 4)).astype(np.float32)
    y = x.reshape(-1, 12)
    assert y.shape == (None, 12)
    like_numpy(y, {x: xv}, xv.reshape(-1, 12))
    assert x.reshape(2, 6, -1).shape == (2, 6, None)


def test_reshape_errors():
    x = gc.tensor("x", (2, 3))
    with pytest.raises(gc.ShapeError, match=r"reshape: cannot reshape \(2, 3\) \(6 elements\) into \(4, 2\) \(8 elements\)"):
        x.reshape(4, 2)
    with pytest.raises(gc.ShapeError, match=r"reshape: cannot reshape \(2, 3\) into \(4, -1\)"):
        x.reshape(4, -1)
    with pytest.raises(gc.ShapeError, match="reshape: only one -1 allowed"):
        x.reshape(-1, -1)


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 0, 2), (-1, 0, 1)])
def test_transpose(axes, x234, like_numpy):
    x, xv = x234
    like_numpy(gc.transpose(x, axes), {x: xv}, np.transpose(xv, axes))
    like_numpy(gc.permute(x, axes), {x: xv}, np.transpose(xv, axes))


def test_dot_t_and_swapaxes(x234, like_numpy):
    x, xv = x234
    like_numpy(x.T, {x: xv}, xv.T)
    like_numpy(gc.swapaxes(x, 0, -1), {x: xv}, np.swapaxes(xv, 0, -1))
    v = gc.tensor("v", (3,))
    assert v.T is v


def test_transpose_error():
    with pytest.raises(gc.ShapeError, match=r"transpose: \(0, 0, 1\) is not a permutation of the axes of \(2, 3, 4\)"):
        gc.transpose(gc.tensor("x", (2, 3, 4)), (0, 0, 1))


@pytest.mark.parametrize("src,dst", [((3, 1), (2, 3, 5)), ((1,), (4,)), ((), (2, 2)), ((4,), (3, 4)), ((2, 1, 3), (2, 5, 3))])
def test_broadcast_to(src, dst, rng, like_numpy):
    x = gc.tensor("x", src, "float64")
    xv = rng.standard_normal(src)
    like_numpy(gc.broadcast_to(x, dst), {x: xv}, np.broadcast_to(xv, dst))


def test_broadcast_to_a_template_node(rng, like_numpy):
    x, t = gc.tensor("x", (1, 3), "float64"), gc.tensor("t", (None, 3), "float64")
    xv, tv = rng.standard_normal((1, 3)), rng.standard_normal((4, 3))
    y = gc.broadcast_to(x, t)
    assert y.shape == (None, 3)
    like_numpy(y, {x: xv, t: tv}, np.broadcast_to(xv, (4, 3)))


def test_broadcast_to_errors():
    x = gc.tensor("x", (2, 3))
    with pytest.raises(gc.ShapeError, match=r"broadcast_to: cannot broadcast \(2, 3\) to \(4, 3\)"):
        gc.broadcast_to(x, (4, 3))
    with pytest.raises(gc.ShapeError, match=r"broadcast_to: cannot broadcast \(2, 3\) to fewer dims \(3,\)"):
        gc.broadcast_to(x, (3,))


def test_broadcast_to_refuses_an_unknown_size_that_is_1_when_run():
    """As elementwise ops do: the size was taken to be the target's, so the gradient would be
    summed to the wrong shape (found by the fuzzer: the gradient raised, the value did not)."""
    x = gc.tensor("x", (None,), "float64")
    y = gc.broadcast_to(x, (4, 3))
    g = gc.grad(gc.sum(y * np.arange(12.0).reshape(4, 3)), x)
    for backend in ("numpy", "llvm"):
        with pytest.raises(gc.ShapeError, match=r"broadcast_to: the input \(\?,\) has size 1 at run time on axis 0"):
            gc.function([x], y, backend=backend)(np.ones(1))
        np.testing.assert_array_equal(gc.function([x], g, backend=backend)(np.ones(3)), [18, 22, 26])
    t = gc.tensor("t", (None, None))  # a template's unknown sizes: 1 meeting 1 is no broadcast
    np.testing.assert_array_equal(gc.broadcast_to(x, t).eval({x: np.ones(1), t: np.ones((2, 1))}), np.ones((2, 1)))


@pytest.mark.parametrize("axis", [0, 1, 3, -1, -4, (0, 2), (0, -1), (1, 2, 4)])
def test_expand_dims(axis, x234, like_numpy):
    x, xv = x234
    like_numpy(gc.expand_dims(x, axis), {x: xv}, np.expand_dims(xv, axis))


@pytest.mark.parametrize("axis", [None, 0, 2, -1, (0, 2), (0, 2, 3)])
def test_squeeze(axis, rng, like_numpy):
    x = gc.tensor("x", (1, 3, 1, 1), "float64")
    xv = rng.standard_normal((1, 3, 1, 1))
    like_numpy(gc.squeeze(x, axis), {x: xv}, np.squeeze(xv, axis))
    like_numpy(x.squeeze(axis), {x: xv}, np.squeeze(xv, axis))


def test_squeeze_error():
    with pytest.raises(gc.ShapeError, match=r"squeeze: axis 1 of \(1, 3\) has size 3, not 1"):
        gc.squeeze(gc.tensor("x", (1, 3)), 1)


@pytest.mark.parametrize("start_dim", [0, 1, 2, -1])
def test_flatten(start_dim, x234, like_numpy):
    x, xv = x234
    lead = xv.shape[: start_dim % 3]
    like_numpy(gc.flatten(x, start_dim), {x: xv}, xv.reshape(lead + (-1,)))
    like_numpy(x.flatten(start_dim), {x: xv}, xv.reshape(lead + (-1,)))


def test_flatten_keeps_an_unknown_batch(rng, like_numpy):
    x = gc.tensor("x", (None, 3, 4), "float32")
    xv = rng.standard_normal((2, 3, 4)).astype(np.float32)
    assert gc.flatten(x, 1).shape == (None, 12)
    like_numpy(gc.flatten(x, 1), {x: xv}, xv.reshape(2, 12))
    like_numpy(x.flatten(), {x: xv}, xv.reshape(-1))
    assert gc.flatten(x, 0).shape == (None,)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(axis, rng, like_numpy):
    shapes = {0: [(1, 3), (4, 3), (2, 3)], 1: [(2, 1), (2, 5), (2, 2)], -1: [(2, 1), (2, 5), (2, 2)]}[axis]
    xs = [gc.tensor(f"x{k}", s, "float64") for k, s in enumerate(shapes)]
    vs = [rng.standard_normal(s) for s in shapes]
    like_numpy(gc.concatenate(xs, axis=axis), dict(zip(xs, vs)), np.concatenate(vs, axis=axis))


def test_concatenate_promotes_dtypes(rng, like_numpy):
    a, b = gc.tensor("a", (2,), "int32"), gc.tensor("b", (3,), "float32")
    av, bv = np.array([1, 2], np.int32), rng.standard_normal(3).astype(np.float32)
    like_numpy(gc.concatenate([a, b]), {a: av, b: bv}, np.concatenate([av, bv]))


def test_concatenate_with_unknown_dims():
    a, b = gc.tensor("a", (None, 3)), gc.tensor("b", (2, None))
    assert gc.concatenate([a, b]).shape == (None, 3)
    assert gc.concatenate([a, b], axis=1).shape == (2, None)


def test_concatenate_errors():
    a, b = gc.tensor("a", (2, 3)), gc.tensor("b", (3, 3))
    with pytest.raises(gc.ShapeError, match=r"concatenate: tensors \(2, 3\) and \(3, 3\) differ on axis 0, not only the joined axis 1"):
        gc.concatenate([a, b], axis=1)
    with pytest.raises(gc.ShapeError, match=r"concatenate: tensors \(2, 3\) and \(3,\) differ in rank"):
        gc.concatenate([a, gc.tensor("c", (3,))])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis, rng, like_numpy):
    xs = [gc.tensor(f"x{k}", (2, 3), "float64") for k in range(3)]
    vs = [rng.standard_normal((2, 3)) for _ in range(3)]
    like_numpy(gc.stack(xs, axis=axis), dict(zip(xs, vs)), np.stack(vs, axis=axis))


@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 0), (3, 3)), ((1,), (0,), (2,))])
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_pad(width, value, x234, like_numpy):
    x, xv = x234
    like_numpy(gc.pad(x, width, value), {x: xv}, np.pad(xv, width, constant_values=value))


def test_pad_ints(like_numpy):
    x = gc.tensor("x", (2, 2), "int32")
    xv = np.array([[1, 2], [3, 4]], np.int32)
    like_numpy(gc.pad(x, 1, 7), {x: xv}, np.pad(xv, 1, constant_values=7))


def test_pad_error():
    with pytest.raises(gc.ShapeError, match=r"pad: widths \(\(-1, 0\), \(0, 0\)\) do not fit \(2, 3\)"):
        gc.pad(gc.tensor("x", (2, 3)), ((-1, 0), (0, 0)))


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_flip(axis, x234, like_numpy):
    x, xv = x234
    like_numpy(gc.flip(x, axis), {x: xv}, np.flip(xv, axis))


@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=4), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_random_permutations_and_reshapes(shape, seed, data, like_numpy):
    perm = data.draw(st.permutations(range(len(shape))))
    xv = np.random.default_rng(seed).standard_normal(shape)
    x = gc.tensor("x", shape, "float64")
    like_numpy(gc.transpose(x, perm).reshape(-1), {x: xv}, np.transpose(xv, perm).reshape(-1))


def test_reshape_target_must_be_ints():
    x = gc.tensor("x", (2, 3))
    with pytest.raises(gc.ShapeError, match=r"reshape: the target shape must be ints \(one may be -1, inferred\), "
                                            r"got \(None, 3\) for \(2, 3\)"):
        x.reshape(None, 3)
    assert x.reshape([3, 2]).shape == x.reshape((3, 2)).shape == (3, 2)


@pytest.mark.parametrize("width, message", [
    (((1, 1), (1, 1), (1, 1)), r"pad: pad_width must be an int, a \(before, after\) pair or one pair per axis of \(2, 3\)"),
    ("same", "pad: pad_width must be an int"),
])
def test_pad_width_forms_numpy_does_not_take(width, message):
    with pytest.raises(gc.ShapeError, match=message):
        gc.pad(gc.tensor("x", (2, 3)), width)


def test_stack_names_itself_and_the_shapes():
    with pytest.raises(gc.ShapeError, match=r"stack: tensors must have equal shapes, got \(3,\) and \(4,\)"):
        gc.stack([gc.tensor("a", (3,)), gc.tensor("b", (4,))])
    assert gc.stack([gc.tensor("c", (None,)), gc.tensor("d", (4,))]).shape == (2, 4)
