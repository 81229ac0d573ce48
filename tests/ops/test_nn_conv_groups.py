"""Grouped, depthwise and dilated convolutions and transposed convolutions: values and
gradients against torch (an optional oracle) and finite differences, the llvm backend
against the reference, unknown batch sizes and build-time errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.ops.nn import conv1d, conv2d, conv_transpose1d, conv_transpose2d

# (input, weight, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 4, 7, 6), (6, 2, 3, 2), 1, 1, 1, 2),            # two groups
    ((1, 3, 8, 7), (3, 1, 3, 3), 2, 1, 1, 3),            # depthwise, stride 2, batch 1
    ((2, 2, 9, 8), (6, 1, 3, 3), 1, "same", 1, 2),       # depthwise with multiplier 3, 'same'
    ((2, 2, 11, 9), (3, 2, 3, 2), 1, 2, (2, 3), 1),      # dilated
    ((1, 4, 12, 10), (4, 2, 3, 3), (2, 3), ((1, 2), (0, 1)), 2, 2),  # dilated, strided, per-side padding
    ((2, 2, 9, 9), (2, 2, 3, 3), 2, "same", 2, 1),       # 'same' with dilation and stride
]
CONV_IDS = [f"{x}-{w}-s{s}-p{p}-d{d}-g{g}" for x, w, s, p, d, g in CONV_CASES]

# (input, weight (Cin, Cout/groups, *k), stride, padding, output_padding, groups, dilation)
TRANSPOSE_CASES = [
    ((2, 3, 4, 5), (3, 2, 3, 3), 2, 1, 1, 1, 1),
    ((1, 4, 5, 3), (4, 3, 2, 3), (3, 2), (0, 1), (2, 0), 2, 1),
    ((2, 2, 3, 4), (2, 1, 3, 2), 1, 0, 0, 2, (2, 1)),    # depthwise, dilated
    ((1, 2, 4, 4), (2, 3, 4, 4), 2, 1, 0, 1, 1),         # U-Net's 4x4 stride-2 upsampling
    ((2, 2, 3, 3), (2, 2, 3, 3), 3, 2, 2, 1, 2),         # dilated and strided with output padding
]
TRANSPOSE_IDS = [f"{x}-{w}-s{s}-p{p}-o{o}-g{g}-d{d}" for x, w, s, p, o, g, d in TRANSPOSE_CASES]


def arrays(rng, xs, ws, cout):
    return rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(cout)


def conv_fn(rank):
    return conv2d if rank == 2 else conv1d


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch(rng, xs, ws, stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    x, w, b = arrays(rng, xs, ws, ws[0])
    X, W, B = (gc.tensor(n, v.shape, "float64") for n, v in (("x", x), ("w", w), ("b", b)))
    y = conv2d(X, W, B, stride=stride, padding=padding, dilation=dilation, groups=groups)
    gy = rng.standard_normal(y.shape)
    got = gc.evaluate([y] + gc.grad(gc.sum(y * gc.constant(gy)), [X, W, B]), {X: x, W: w, B: b})
    conv_node = y.inputs[0] if y.inputs[0].op.name == "conv2d" else y.inputs[1]
    pads = [p for pair in reversed(conv_node.op.padding) for p in pair]
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    yt = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, pads), wt, bt, stride=stride,
                                    dilation=dilation, groups=groups)
    yt.backward(torch.tensor(gy))
    for a, want in zip(got, (yt, xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(a, want.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONV_CASES, ids=CONV_IDS)
def test_conv_gradients_match_finite_differences(rng, xs, ws, stride, padding, dilation, groups):
    check_grad(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups),
               arrays(rng, xs, ws, ws[0]))


def test_conv1d_groups_and_dilation_match_torch(rng):
    torch = pytest.importorskip("torch")
    x, w, b = arrays(rng, (2, 6, 13), (4, 3, 3), 4)
    y = conv1d(gc.constant(x), gc.constant(w), gc.constant(b), stride=2, padding=2, dilation=3, groups=2)
    want = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2, padding=2,
                                      dilation=3, groups=2)
    np.testing.assert_allclose(y.eval(), want.numpy(), rtol=1e-12, atol=1e-12)


def transpose_fn(rank):
    return conv_transpose2d if rank == 2 else conv_transpose1d


@pytest.mark.parametrize("xs, ws, stride, padding, out_pad, groups, dilation", TRANSPOSE_CASES, ids=TRANSPOSE_IDS)
def test_conv_transpose_matches_torch(rng, xs, ws, stride, padding, out_pad, groups, dilation):
    torch = pytest.importorskip("torch")
    x, w, b = arrays(rng, xs, ws, ws[1] * groups)
    X, W, B = (gc.tensor(n, v.shape, "float64") for n, v in (("x", x), ("w", w), ("b", b)))
    y = conv_transpose2d(X, W, B, stride, padding, out_pad, groups, dilation)
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    yt = torch.nn.functional.conv_transpose2d(xt, wt, bt, stride, padding, out_pad, groups, dilation)
    assert y.shape == tuple(yt.shape)
    gy = rng.standard_normal(y.shape)
    got = gc.evaluate([y] + gc.grad(gc.sum(y * gc.constant(gy)), [X, W, B]), {X: x, W: w, B: b})
    yt.backward(torch.tensor(gy))
    for a, want in zip(got, (yt, xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(a, want.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xs, ws, stride, padding, out_pad, groups, dilation", TRANSPOSE_CASES, ids=TRANSPOSE_IDS)
def test_conv_transpose_gradients_match_finite_differences(rng, xs, ws, stride, padding, out_pad, groups, dilation):
    check_grad(lambda x, w, b: conv_transpose2d(x, w, b, stride, padding, out_pad, groups, dilation),
               arrays(rng, xs, ws, ws[1] * groups))


def test_conv_transpose1d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, w, b = arrays(rng, (2, 4, 7), (4, 3, 3), 6)
    y = conv_transpose1d(gc.constant(x), gc.constant(w), gc.constant(b), stride=3, padding=1, output_padding=2,
                         groups=2, dilation=2)
    want = torch.nn.functional.conv_transpose1d(torch.tensor(x), torch.tensor(w), torch.tensor(b), 3, 1, 2, 2, 2)
    np.testing.assert_allclose(y.eval(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_second_derivatives_of_grouped_dilated_conv(rng):
    x, w, _ = arrays(rng, (1, 4, 7, 6), (4, 2, 2, 3), 4)

    def grad_of(i):
        def build(x, w):
            cost = gc.sum(gc.tanh(conv2d(x, w, stride=2, padding=1, dilation=2, groups=2)))
            return gc.grad(cost, [x, w])[i]
        return build

    check_grad(grad_of(0), [x, w])
    check_grad(grad_of(1), [x, w])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_llvm_matches_reference_with_unknown_batch(rng, dtype):
    """A grouped dilated conv, a depthwise conv and a transposed conv with bias and relu,
    and their gradients, compiled with the batch size known only when run."""
    x = rng.standard_normal((3, 4, 9, 8)).astype(dtype)
    w1 = rng.standard_normal((6, 2, 3, 3)).astype(dtype)
    w2 = rng.standard_normal((6, 1, 3, 3)).astype(dtype)
    wt = rng.standard_normal((6, 2, 4, 4)).astype(dtype)
    bt = rng.standard_normal(4).astype(dtype)
    X = gc.tensor("x", (None, 4, 9, 8), dtype)
    W1, W2, WT, BT = (gc.shared(v, name=n) for n, v in (("w1", w1), ("w2", w2), ("wt", wt), ("bt", bt)))
    h = gc.relu(conv2d(X, W1, padding=2, dilation=2, groups=2))
    h = conv2d(h, W2, stride=2, padding=1, groups=6)
    y = gc.relu(conv_transpose2d(h, WT, BT, stride=2, padding=1, output_padding=1, groups=2))
    outputs = [y] + gc.grad(gc.sum(y * y), [X, W1, W2, WT, BT])
    want = gc.function([X], outputs, backend="numpy")(x)
    got = gc.function([X], outputs)(x)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("build, message", [
    (lambda: conv2d(gc.tensor("x", (1, 4, 5, 5)), gc.tensor("w", (6, 2, 3, 3)), groups=3),
     r"conv2d: the input's 4 channels do not split into groups=3"),
    (lambda: conv2d(gc.tensor("x", (1, 4, 5, 5)), gc.tensor("w", (5, 2, 3, 3)), groups=2),
     r"conv2d: the weight's 5 output channels do not split into groups=2"),
    (lambda: conv2d(gc.tensor("x", (1, 4, 5, 5)), gc.tensor("w", (4, 4, 3, 3)), groups=2),
     r"conv2d: channel mismatch.*expects 8 input channels with groups=2 \(weight is \(Cout, Cin/groups, kH, kW\)\)"),
    (lambda: conv2d(gc.tensor("x", (1, 4, 5, 5)), gc.tensor("w", (4, 4, 3, 3)), groups=0),
     r"conv2d: groups must be an int >= 1, got 0"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 5, 5)), gc.tensor("w", (1, 1, 3, 3)), dilation=3),
     r"conv2d: the kernel \(7, 7\) is larger than the padded input \(5, 5\)"),
    (lambda: conv2d(gc.tensor("x", (1, 1, 5, 5)), gc.tensor("w", (1, 1, 3, 3)), dilation=0),
     r"conv2d: dilation entries must be >= 1"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 3, 4, 4)), gc.tensor("w", (4, 2, 3, 3))),
     r"conv_transpose2d: channel mismatch: input \(1, 3, 4, 4\) has 3 channels but weight \(4, 2, 3, 3\) expects 4"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 3, 4, 4)), gc.tensor("w", (3, 2, 3, 3)), groups=2),
     r"conv_transpose2d: the 3 input channels do not split into groups=2"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 2, 4, 4)), gc.tensor("w", (2, 2, 3, 3)), stride=2, output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than the stride \(2, 2\)"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 2, 1, 1)), gc.tensor("w", (2, 2, 1, 1)), padding=1),
     r"conv_transpose2d: the padding .* leaves no output"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 2, None, 4)), gc.tensor("w", (2, 2, 3, 3))),
     r"conv_transpose2d: the input's spatial sizes and the kernel size must be known"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 2, 4)), gc.tensor("w", (2, 2, 3, 3))),
     r"conv_transpose2d: the input must be \(N, C, H, W\)"),
    (lambda: conv_transpose2d(gc.tensor("x", (1, 2, 4, 4)), gc.tensor("w", (2, 2, 3, 3)), gc.tensor("b", (3,))),
     r"conv_transpose2d: the bias must have shape \(2,\)"),
])
def test_build_errors(build, message):
    with pytest.raises((gc.ShapeError, gc.DTypeError), match=message):
        build()
