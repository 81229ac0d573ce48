"""Convolution ops: references, gradients (first and second order) and build-time errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.ops.nn import Conv, ConvInputGrad, ConvWeightGrad, conv1d, conv2d

# (input shape, weight shape, stride, padding): odd sizes, strides 2 and 3, padding 1 and
# "same" (odd totals included), non-square images and kernels, batch 1, kernel as large
# as the input.
CASES_2D = [
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0),
    ((2, 3, 7, 6), (2, 3, 3, 3), 2, 1),
    ((1, 2, 8, 5), (3, 2, 3, 2), 3, 1),
    ((2, 2, 6, 5), (3, 2, 2, 3), 1, "same"),
    ((1, 2, 7, 5), (2, 2, 3, 2), 2, "same"),
    ((2, 2, 5, 4), (3, 2, 5, 4), 1, "valid"),
    ((1, 2, 6, 7), (2, 2, 2, 3), (2, 3), ((1, 0), (2, 1))),
]
CASES_1D = [
    ((2, 3, 9), (4, 3, 3), 2, 1),
    ((1, 2, 8), (3, 2, 4), 1, "same"),
    ((2, 2, 10), (2, 2, 3), 3, "same"),
    ((1, 1, 4), (2, 1, 4), 1, 0),
]
CASES = [(conv2d, *c) for c in CASES_2D] + [(conv1d, *c) for c in CASES_1D]
IDS = [f"{f.__name__}-{x}-{w}-s{s}-p{p}" for f, x, w, s, p in CASES]


def naive_conv(x, w, b, stride, padding):
    """Cross-correlation by a loop over output positions (independent of the op's code)."""
    rank = x.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    out = [(xp.shape[2 + i] - w.shape[2 + i]) // stride[i] + 1 for i in range(rank)]
    y = np.zeros((x.shape[0], w.shape[0], *out))
    for pos in np.ndindex(*out):
        window = xp[(slice(None), slice(None)) + tuple(
            slice(p * s, p * s + k) for p, s, k in zip(pos, stride, w.shape[2:]))]
        y[(slice(None), slice(None)) + pos] = np.tensordot(window, w, axes=(list(range(1, rank + 2)),) * 2)
    return y + b.reshape((1, -1) + (1,) * rank)


def conv_node(y):
    """The Conv node under a conv1d/conv2d result (which may add a bias)."""
    return y if isinstance(y.op, Conv) else y.inputs[0]


def data(rng, xs, ws):
    return rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])


@pytest.mark.parametrize("fn, xs, ws, stride, padding", CASES, ids=IDS)
def test_reference_matches_a_direct_computation(rng, fn, xs, ws, stride, padding):
    x, w, b = data(rng, xs, ws)
    X, W, B = (gc.tensor(n, v.shape, "float64") for n, v in (("x", x), ("w", w), ("b", b)))
    y = fn(X, W, B, stride=stride, padding=padding)
    op = conv_node(y).op
    expected = naive_conv(x, w, b, op.stride, op.padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.eval({X: x, W: w, B: b}), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn, xs, ws, stride, padding", CASES, ids=IDS)
def test_gradients_match_finite_differences(rng, fn, xs, ws, stride, padding):
    check_grad(lambda x, w, b: fn(x, w, b, stride=stride, padding=padding), data(rng, xs, ws))


@pytest.mark.parametrize("fn, xs, ws, stride, padding", [CASES[1], CASES[4], CASES[8]], ids=[IDS[1], IDS[4], IDS[8]])
def test_second_derivatives_match_finite_differences(rng, fn, xs, ws, stride, padding):
    x, w, _ = data(rng, xs, ws)

    def grad_of(i):
        def build(x, w):
            cost = gc.sum(gc.tanh(fn(x, w, stride=stride, padding=padding)))
            return gc.grad(cost, [x, w])[i]
        return build

    check_grad(grad_of(0), [x, w])
    check_grad(grad_of(1), [x, w])


def test_gradient_ops_have_their_own_gradients(rng):
    """ConvInputGrad and ConvWeightGrad differentiated directly (their templates excluded)."""
    x, w, _ = data(rng, (2, 2, 7, 5), (3, 2, 3, 2))
    stride, padding = (2, 1), ((1, 0), (1, 1))
    gy = Conv(stride, padding).reference(x, w)
    input_grad = lambda gy, w, x: gc.Node.make(ConvInputGrad(stride, padding), [gy, w, x])  # noqa: E731
    weight_grad = lambda x, gy, w: gc.Node.make(ConvWeightGrad(stride, padding), [x, gy, w])  # noqa: E731
    check_grad(input_grad, [gy, w, x], wrt=[0, 1])
    check_grad(weight_grad, [x, gy, w], wrt=[0, 1])


def test_shape_only_templates_may_have_any_dtype(rng):
    """The simplifier may swap a gradient op's template for a bool node of its shape (found by
    the fuzzer: where(x > c, x, -1) with a broadcast condition); only the shape is read."""
    x, c, w = gc.tensor("x", (1, 1, 4, 4)), gc.tensor("c", (2, 1, 1, 4)), gc.tensor("w", (1, 1, 2, 2))
    z = gc.where(x > c, x, -1.0)  # the condition has z's shape; neither of its operands has
    y = conv2d(z, w)
    gy = gc.tensor("gy", (2, 1, 3, 3))
    assert gc.Node.make(ConvInputGrad((1, 1), ((0, 0), (0, 0))), [gy, w, x > c]).shape == (2, 1, 4, 4)
    assert gc.Node.make(ConvWeightGrad((1, 1), ((0, 0), (0, 0))), [z, gy, w > 0]).shape == (1, 1, 2, 2)
    grads = gc.grad(gc.sum(y * y), [x, w])
    values = [rng.standard_normal((1, 1, 4, 4)).astype("f4"), rng.standard_normal((2, 1, 1, 4)).astype("f4"),
              rng.standard_normal((1, 1, 2, 2)).astype("f4")]
    want = gc.function([x, c, w], grads, backend="numpy", simplify=False)(*values)
    got = gc.function([x, c, w], grads, backend="numpy")(*values)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_same_padding_sizes():
    x = gc.tensor("x", (1, 1, 7, 6))
    assert conv2d(x, gc.tensor("w", (1, 1, 3, 2)), padding="same").shape == (1, 1, 7, 6)
    assert conv_node(conv2d(x, gc.tensor("w", (1, 1, 3, 2)), padding="same")).op.padding == ((1, 1), (0, 1))
    strided = conv2d(x, gc.tensor("w", (1, 1, 3, 3)), stride=2, padding="same")
    assert strided.shape == (1, 1, 4, 3)  # ceil(7 / 2), ceil(6 / 2): TensorFlow's rule
    assert conv_node(strided).op.padding == ((1, 1), (0, 1))  # totals 2 and 1, extra on the high side


UNKNOWN = [(None, 2, 6, 5), (None, 2, None, None)]
def unknown_size_case(rng, static):
    """Cin == Cout, so input and output have equal static shapes when the spatial sizes are unknown."""
    x, w, b = data(rng, (3, 2, 6, 5), (2, 2, 3, 3))
    X = gc.tensor("x", static, "float64")
    W, B = gc.tensor("w", w.shape, "float64"), gc.tensor("b", b.shape, "float64")
    y = conv2d(X, W, B, stride=2, padding=1)
    assert y.shape == (None, 2) + ((3, 3) if static[2] else (None, None))
    outputs = [y] + gc.grad(gc.sum(y), [X, W]) + gc.grad(gc.sum(y * y), [X, W])
    return (X, W, B), (x, w, b), outputs


@pytest.mark.parametrize("static", UNKNOWN)
def test_unknown_sizes_run_and_differentiate(rng, static):
    inputs, values, outputs = unknown_size_case(rng, static)
    y, *grads = gc.evaluate(outputs, dict(zip(inputs, values)))
    np.testing.assert_allclose(y, naive_conv(*values, (2, 2), ((1, 1), (1, 1))), rtol=1e-12, atol=1e-12)
    assert [g.shape for g in grads] == [values[0].shape, values[1].shape] * 2


@pytest.mark.parametrize("static", UNKNOWN)
def test_unknown_sizes_in_a_compiled_function(rng, static):
    inputs, values, outputs = unknown_size_case(rng, static)
    compiled = gc.function(list(inputs), outputs)(*values)
    for got, expected in zip(compiled, gc.evaluate(outputs, dict(zip(inputs, values)))):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn, xs, ws, stride, padding", CASES, ids=IDS)
def test_matches_torch_values_and_gradients(rng, fn, xs, ws, stride, padding):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, b = data(rng, xs, ws)
    X, W, B = (gc.tensor(n, v.shape, "float64") for n, v in (("x", x), ("w", w), ("b", b)))
    y = fn(X, W, B, stride=stride, padding=padding)
    gy = rng.standard_normal(y.shape)
    values = gc.evaluate([y] + gc.grad(gc.sum(y * gc.constant(gy)), [X, W, B]), {X: x, W: w, B: b})
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    pads = [p for pair in reversed(conv_node(y).op.padding) for p in pair]  # F.pad: last axis first
    torch_conv = F.conv2d if fn is conv2d else F.conv1d
    yt = torch_conv(F.pad(xt, pads), wt, bt, stride=stride)
    yt.backward(torch.tensor(gy))
    for got, want in zip(values, (yt, xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, w, _ = data(rng, (1, 2, 6, 5), (2, 2, 4, 3))
    X, W = gc.tensor("x", x.shape, "float64"), gc.tensor("w", w.shape, "float64")
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding="same").numpy()
    np.testing.assert_allclose(conv2d(X, W, padding="same").eval({X: x, W: w}), expected, rtol=1e-12, atol=1e-12)


def test_channel_mismatch_names_the_op_both_shapes_and_the_expectation():
    x, w = gc.tensor("x", (2, 3, 7, 6)), gc.tensor("w", (4, 2, 3, 3))
    with pytest.raises(gc.ShapeError) as err:
        conv2d(x, w)
    message = str(err.value)
    for part in ("conv2d", "(2, 3, 7, 6)", "(4, 2, 3, 3)", "3 channels", "expects 2 input channels"):
        assert part in message
    with pytest.raises(gc.ShapeError, match=r"conv1d: channel mismatch.*\(2, 3, 9\).*\(4, 5, 3\)"):
        conv1d(gc.tensor("x", (2, 3, 9)), gc.tensor("w", (4, 5, 3)))


@pytest.mark.parametrize("build, message", [
    (lambda: conv2d(gc.tensor("x", (2, 3, 7)), gc.tensor("w", (4, 3, 3, 3))), r"conv2d: the input must be \(N, C, H, W\)"),
    (lambda: conv2d(gc.tensor("x", (2, 3, 7, 6)), gc.tensor("w", (4, 3, 3))), r"conv2d: the weight must be \(Cout, Cin, kH, kW\)"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 4, 4)), gc.tensor("w", (1, 1, 5, 3))), r"conv2d: the kernel \(5, 3\) is larger than the padded input \(4, 4\)"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 4, 4)), gc.tensor("w", (2, 1, 3, 3)), gc.tensor("b", (3,))), r"conv2d: the bias must have shape \(2,\)"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 4, 4)), gc.tensor("w", (2, 1, 3, 3)), padding="full"), r"conv2d: padding must be an int, a tuple, 'same' or 'valid'"),
    (lambda: conv2d(gc.tensor("x", (1, 1, None, 4)), gc.tensor("w", (2, 1, 3, 3)), stride=2, padding="same"), r"conv2d: padding='same' needs the kernel size and input size known"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 4, 4)), gc.tensor("w", (2, 1, 3, 3)), stride=0), r"conv2d: stride entries must be >= 1"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 4, 4)), gc.tensor("w", (2, 1, 3, 3)), stride=1.5), r"conv2d: stride must be an int or a tuple of 2 ints, got 1.5"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 4, 4)), gc.tensor("w", (2, 1, 3, 3)), padding=1.5),
     r"conv2d: padding must be an int, 2 ints or 2 \(lo, hi\) pairs, got 1.5"),
    (lambda: conv1d(gc.tensor("x", (1, 1, 4), "int64"), gc.tensor("w", (2, 1, 3))), r"conv1d: input and weight must be float"),
    (lambda: gc.Node.make(ConvInputGrad((1, 1), ((0, 0), (0, 0))), [gc.tensor("gy", (1, 2, 3, 3)), gc.tensor("w", (2, 1, 3, 3)), gc.tensor("x", (1, 1, 4, 4))]),
     r"conv2d_input_grad: the output gradient has shape \(1, 2, 3, 3\), expected \(1, 2, 2, 2\)"),
])
def test_build_errors(build, message):
    with pytest.raises((gc.ShapeError, gc.DTypeError), match=message):
        build()
