"""Every core op compiled by the llvm backend gives the numpy reference's result, in
float32 and float64 (and integers where the op takes them), at odd shapes."""
import numpy as np
import pytest

import graphc as gc
from graphc.ops.elementwise import SCALAR_FNS

from .graph_check import check, rand

FLOATS = ["float32", "float64"]
UNARY_DOMAIN = {"log": (0.05, 3.0), "sqrt": (0.0, 3.0), "log1p": (-0.9, 3.0)}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fn", sorted(n for n, s in SCALAR_FNS.items() if s.arity == 1 and not n.startswith("logical")))
def test_unary_elementwise(fn, dtype, rng):
    x = gc.tensor("x", (3, 7), dtype)
    low, high = UNARY_DOMAIN.get(fn, (-4.0, 4.0))
    xv = rand(rng, (3, 7), dtype, low, high)
    xv[0, :3] = [low, 0.0 if low <= 0 else high, high]
    check([x], gc.ops.elementwise.apply(fn, x), [xv], simplify=False)


@pytest.mark.parametrize("dtype", FLOATS)
def test_saturating_and_extreme_values(dtype):
    x = gc.tensor("x", (8,), dtype)
    xv = np.array([-1000, -90, -20, -1e-8, 0, 1e-8, 30, 1000], dtype)
    for fn in ("exp", "sigmoid", "tanh", "softplus", "expm1"):
        check([x], gc.ops.elementwise.apply(fn, x), [xv], simplify=False)
    special = np.array([np.inf, -np.inf, np.nan, 0, -0.0, 1, 2, 1e-30], dtype)
    for fn in ("exp", "log", "sqrt", "tanh", "abs", "sign", "relu"):
        with np.errstate(all="ignore"):
            check([x], gc.ops.elementwise.apply(fn, x), [special], simplify=False)


@pytest.mark.parametrize("dtype", FLOATS + ["int32", "int64"])
@pytest.mark.parametrize("fn", ["add", "sub", "mul", "truediv", "maximum", "minimum", "pow",
                                "lt", "le", "gt", "ge", "eq", "ne"])
def test_binary_elementwise_broadcasting(fn, dtype, rng):
    a, b = gc.tensor("a", (5, 1, 3), dtype), gc.tensor("b", (7, 1), dtype)
    av, bv = rand(rng, (5, 1, 3), dtype), rand(rng, (7, 1), dtype)
    if fn == "pow":
        av, bv = (np.abs(av) + 1).astype(dtype), (np.abs(bv) % 3).astype(dtype)
    if fn == "truediv" and dtype.startswith("int"):
        bv[bv == 0] = 1
    with np.errstate(all="ignore"):
        check([a, b], gc.ops.elementwise.apply(fn, a, b), [av, bv], simplify=False)


def test_mixed_dtypes_promote_as_numpy(rng):
    i, f = gc.tensor("i", (4,), "int32"), gc.tensor("f", (4,), "float32")
    b = gc.tensor("b", (4,), "bool")
    outs = [i + f, i / i, f * b, i + b, gc.where(b, i, f), gc.logical_and(b, f > 0), gc.logical_not(b),
            gc.logical_or(b, i > 0)]
    check([i, f, b], outs, [np.array([1, -2, 3, 4], np.int32), rand(rng, (4,)), np.array([1, 0, 1, 0], bool)],
          simplify=False)


@pytest.mark.parametrize("src,dst", [("float32", "float64"), ("float64", "float32"), ("float32", "int32"),
                                     ("float64", "int64"), ("int32", "float32"), ("int64", "int32"),
                                     ("bool", "float32"), ("float32", "bool"), ("int32", "bool")])
def test_cast(src, dst, rng):
    x = gc.tensor("x", (2, 5), src)
    check([x], gc.cast(x, dst), [rand(rng, (2, 5), src, -50, 50)], simplify=False)


SHAPE = (4, 5, 3)
AXES = [None, 0, 1, 2, (0, 2), (1, 2), (0, 1)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(axis, keepdims, dtype, rng):
    x = gc.tensor("x", SHAPE, dtype)
    outs = [gc.sum(x, axis, keepdims), gc.max(x, axis, keepdims), gc.min(x, axis, keepdims),
            gc.logsumexp(x * 40, axis, keepdims), gc.mean(x, axis, keepdims), gc.var(x, axis, keepdims)]
    check([x], outs, [rand(rng, SHAPE, dtype)], scale=8)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_and_bool_reductions(dtype, rng):
    x = gc.tensor("x", (6, 7), dtype)
    outs = [gc.sum(x), gc.sum(x, 0), gc.max(x, 1), gc.min(x, 0, keepdims=True), gc.argmax(x, 1)]
    if dtype != "bool":
        outs.append(gc.mean(x, 1))
    check([x], outs, [rand(rng, (6, 7), dtype)])


@pytest.mark.parametrize("dtype", FLOATS + ["int32"])
@pytest.mark.parametrize("axis", [None, 0, 1, 2])
def test_argmax_first_of_ties(axis, dtype, rng):
    x = gc.tensor("x", SHAPE, dtype)
    xv = np.round(rand(rng, SHAPE, dtype)).astype(dtype)
    check([x], [gc.argmax(x, axis), gc.argmax(x, axis, keepdims=axis is not None), gc.argmin(x, axis)], [xv])


def test_argmax_and_max_with_nan_and_inf():
    x = gc.tensor("x", (3, 4), "float64")
    xv = np.array([[1, np.nan, 3, np.nan], [-np.inf, -np.inf, -np.inf, -np.inf], [2, np.inf, 5, 1]])
    check([x], [gc.argmax(x, 1), gc.max(x, 1), gc.logsumexp(x, 1)], [xv])


def test_reduction_of_an_empty_axis():
    x = gc.tensor("x", (0, 3), "float32")
    check([x], [gc.sum(x, 0), gc.sum(x), gc.logsumexp(x, 1)], [np.zeros((0, 3), np.float32)])


MATMUL_SHAPES = [((1, 1), (1, 1)), ((1, 7), (7, 1)), ((5, 3), (3, 11)), ((13, 67), (67, 29)),
                 ((61, 257), (257, 70)), ((2, 3, 17, 5), (5, 9)), ((3, 1, 4, 6), (2, 6, 7)), ((7,), (7, 3)),
                 ((4, 7), (7,)), ((5,), (5,))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb, dtype, rng):
    a, b = gc.tensor("a", sa, dtype), gc.tensor("b", sb, dtype)
    k = sa[-1]
    check([a, b], a @ b, [rand(rng, sa, dtype), rand(rng, sb, dtype)], scale=k)


@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul_of_transposed_and_fused_operands_with_epilogue(dtype, rng):
    a, b, bias = gc.tensor("a", (70, 40), dtype), gc.tensor("b", (90, 40), dtype), gc.tensor("c", (90,), dtype)
    narrow = "float32" if dtype == "float64" else dtype   # an epilogue that changes the dtype
    outs = [gc.relu(gc.tanh(a) @ b.T + bias), gc.cast(a.T.T @ (b * 2).T, narrow) - 1, (a @ b.T).T]
    check([a, b, bias], outs, [rand(rng, (70, 40), dtype), rand(rng, (90, 40), dtype), rand(rng, (90,), dtype)],
          scale=40)


def test_integer_matmul(rng):
    a, b = gc.tensor("a", (5, 4), "int32"), gc.tensor("b", (4, 3), "int64")
    check([a, b], a @ b, [rand(rng, (5, 4), "int32"), rand(rng, (4, 3), "int64")])


@pytest.mark.parametrize("dtype", FLOATS)
def test_views_and_copies(dtype, rng):
    x = gc.tensor("x", (3, 4, 5), dtype)
    outs = [gc.reshape(x, (12, 5)), gc.reshape(gc.transpose(x), (5, 12)), gc.transpose(x, (1, 0, 2)) + 1,
            gc.expand_dims(x, (0, 3)), gc.squeeze(x[:, :1], 1), gc.broadcast_to(x[:, :1], (3, 4, 5)) * x,
            gc.flip(x, 2), gc.flip(x, (0, 1)) * 2, x[1], x[:, ::2, 1:4], x[::-1, None, 1, ::-2],
            gc.flatten(x), gc.swapaxes(x, 0, 2) - x.T,
            gc.reshape(x[:, 1:3], (6, 5)), gc.reshape(gc.transpose(x, (0, 2, 1)), (3, 20))]
    check([x], outs, [rand(rng, (3, 4, 5), dtype)])


@pytest.mark.parametrize("dtype", FLOATS + ["int32"])
def test_concatenate_pad_stack(dtype, rng):
    x, y = gc.tensor("x", (3, 4), dtype), gc.tensor("y", (3, 1), dtype)
    outs = [gc.concatenate([x, y, x * 2], axis=1), gc.concatenate([x, x], axis=0), gc.stack([x, x + 1], 1),
            gc.pad(x, ((1, 2), (0, 3)), 7.0), gc.pad(x * 3, 1) + 1, gc.concatenate([x.T, y.T], 0)]
    check([x, y], outs, [rand(rng, (3, 4), dtype), rand(rng, (3, 1), dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_getitem_and_scatter_into(dtype, rng):
    x = gc.tensor("x", (5, 6, 3), dtype)
    loss = (x[1:4, ::2, 1] ** 2).sum() + (x[-1, None] * 3).sum() + x[::-2, 4:1:-1].sum()
    check([x], [loss, gc.grad(loss, x)], [rand(rng, (5, 6, 3), dtype)], scale=4)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax(axis, dtype, rng):
    x = gc.tensor("x", (5, 7, 3), dtype)
    xv = rand(rng, (5, 7, 3), dtype) * 50
    xv[0, 0, 0] = 1e4
    check([x], [gc.nn.softmax(x, axis), gc.nn.log_softmax(x, axis), gc.nn.softmax(x * 0 - np.inf, axis)], [xv],
          scale=4)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("label_dtype", ["int32", "int64"])
def test_one_hot_and_cross_entropy(dtype, label_dtype, rng):
    x, y = gc.tensor("x", (7, 5), dtype), gc.tensor("y", (7,), label_dtype)
    outs = [gc.nn.one_hot(y, 5, dtype), gc.nn.cross_entropy(x, y), gc.nn.cross_entropy(x, y, label_smoothing=0.1)]
    loss = gc.nn.cross_entropy(x, y)
    check([x, y], outs + [gc.grad(loss, x)], [rand(rng, (7, 5), dtype) * 5, rng.integers(0, 5, 7).astype(label_dtype)],
          scale=4)


def test_count_of_unknown_batch_is_folded(rng):
    x = gc.tensor("x", (None, 3), "float64")
    f = gc.function([x], [x.mean(), gc.var(x, 0)], backend="llvm")
    for n in (1, 4, 9):
        xv = rng.standard_normal((n, 3))
        got = f(xv)
        np.testing.assert_allclose(got[0], xv.mean(), rtol=1e-12)
        np.testing.assert_allclose(got[1], xv.var(0), rtol=1e-12)


def test_random_uniform_is_bit_identical(rng):
    stream = gc.RandomStream(11)
    x = gc.tensor("x", (13, 7), "float64")
    u32, u64 = stream.uniform_like(x, "float32"), stream.uniform_like(x)
    ref = gc.function([x], [u32, u64 * x])
    key = stream.key.get_value()
    xv = rand(rng, (13, 7), "float64")
    want = ref(xv)
    stream.key.set_value(key)
    got = gc.function([x], [u32, u64 * x], backend="llvm")(xv)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


CONVS = [((2, 3, 9, 7), (4, 3, 3, 3), 1, 1), ((1, 2, 11, 5), (5, 2, 3, 2), (2, 1), (1, 0)),
         ((3, 1, 8, 8), (2, 1, 5, 5), 2, 2), ((2, 4, 13), (3, 4, 3), 2, 1)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("xs,ws,stride,padding", CONVS)
def test_conv_with_bias_activation_and_gradients(xs, ws, stride, padding, dtype, rng):
    x, w, b = gc.tensor("x", xs, dtype), gc.tensor("w", ws, dtype), gc.tensor("b", (ws[0],), dtype)
    conv = gc.nn.conv2d if len(xs) == 4 else gc.nn.conv1d
    y = gc.relu(conv(x, w, b, stride=stride, padding=padding))
    loss = (y * y).sum()
    check([x, w, b], [y, loss] + gc.grad(loss, [x, w, b]),
          [rand(rng, xs, dtype), rand(rng, ws, dtype), rand(rng, (ws[0],), dtype)], scale=64)


POOLS = [((2, 3, 8, 9), 2, None, 0), ((1, 2, 7, 7), 3, 2, 1), ((2, 1, 9, 6), (3, 2), (2, 1), (1, 0))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("xs,kernel,stride,padding", POOLS)
def test_pooling_and_gradients(xs, kernel, stride, padding, dtype, rng):
    x = gc.tensor("x", xs, dtype)
    mx = gc.nn.max_pool2d(x, kernel, stride, padding)
    av = gc.nn.avg_pool2d(x, kernel, stride, padding)
    loss = (gc.tanh(mx) * 3).sum() + (av * av).sum()
    (g,) = gc.grad(loss, [x])
    (gg,) = gc.grad((g * g).sum(), [x])          # second derivative through max_pool2d_grad
    check([x], [mx, av, g, gg], [rand(rng, xs, dtype)], scale=16)
