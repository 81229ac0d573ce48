"""Pooling ops: references, gradients (routing, ties, overlaps, second order) and errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.ops.nn import (
    AvgPoolGrad, MaxPool, MaxPoolGather, MaxPoolGrad, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
)

# (input shape, kernel, stride, padding): overlapping windows (kernel 3 stride 2),
# non-square kernels, batch 1, a kernel as large as the input, leftover pixels.
CASES_2D = [
    ((2, 3, 6, 4), 2, None, 0),
    ((2, 2, 7, 6), 3, 2, 1),
    ((1, 2, 7, 5), (3, 2), (2, 1), (1, 0)),
    ((1, 2, 5, 4), (5, 4), None, 0),
    ((2, 1, 8, 7), 3, 3, 1),
]
CASES_1D = [
    ((2, 3, 9), 3, 2, 1),
    ((1, 2, 10), 4, 3, 0),
    ((1, 1, 5), 5, None, 2),
]
POOLS = [(max_pool2d, c) for c in CASES_2D] + [(avg_pool2d, c) for c in CASES_2D] + [
    (max_pool1d, c) for c in CASES_1D] + [(avg_pool1d, c) for c in CASES_1D]
IDS = [f"{f.__name__}-{c}" for f, c in POOLS]


def naive_pool(x, kernel, stride, padding, kind):
    """Pooling by a loop over output positions, PyTorch's semantics."""
    rank = len(kernel)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0),) * (x.ndim - rank) + tuple((p, p) for p in padding), constant_values=fill)
    out = [(xp.shape[x.ndim - rank + i] - kernel[i]) // stride[i] + 1 for i in range(rank)]
    y = np.zeros(x.shape[:-rank] + tuple(out))
    for pos in np.ndindex(*out):
        window = xp[(Ellipsis,) + tuple(slice(p * s, p * s + k) for p, s, k in zip(pos, stride, kernel))]
        axes = tuple(range(-rank, 0))
        y[(Ellipsis,) + pos] = window.max(axis=axes) if kind == "max" else window.mean(axis=axes)
    return y


def per_axis(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


@pytest.mark.parametrize("pool, case", POOLS, ids=IDS)
def test_reference_matches_a_direct_computation(rng, pool, case):
    shape, kernel, stride, padding = case
    rank = 2 if pool in (max_pool2d, avg_pool2d) else 1
    x = rng.standard_normal(shape)
    X = gc.tensor("x", shape, "float64")
    y = pool(X, kernel, stride, padding)
    k = per_axis(kernel, rank)
    expected = naive_pool(x, k, k if stride is None else per_axis(stride, rank), per_axis(padding, rank),
                          "max" if "max" in pool.__name__ else "avg")
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.eval({X: x}), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool, case", POOLS, ids=IDS)
def test_gradients_match_finite_differences(rng, pool, case):
    shape, kernel, stride, padding = case
    check_grad(lambda x: pool(x, kernel, stride, padding), [rng.standard_normal(shape)])


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_second_derivatives_match_finite_differences(rng, pool):
    def build(x):
        return gc.grad(gc.sum(pool(x, 3, 2, 1) ** 3), x)

    check_grad(build, [rng.standard_normal((1, 2, 7, 6))])


def test_gradient_ops_have_their_own_gradients(rng):
    kernel, stride, padding = (3, 2), (2, 1), ((1, 1), (1, 0))
    x = rng.standard_normal((2, 1, 7, 5))
    gy = rng.standard_normal(MaxPool(kernel, stride, padding).reference(x).shape)
    build = lambda op: lambda a, b: gc.Node.make(op(kernel, stride, padding), [a, b])  # noqa: E731
    check_grad(build(MaxPoolGrad), [x, gy])  # zero with respect to x: the argmax is locally constant
    check_grad(build(MaxPoolGather), [x, rng.standard_normal(x.shape)])
    check_grad(build(AvgPoolGrad), [gy, x], wrt=[0])


def test_avg_pool_gradient_template_may_have_any_dtype(rng):
    """The simplifier may swap the template for a bool node of its shape (found by the fuzzer)."""
    x, c = gc.tensor("x", (1, 1, 4, 4)), gc.tensor("c", (2, 1, 1, 4))
    z = gc.where(x > c, x, -1.0)  # the condition has z's shape; neither of its operands has
    grad = gc.grad(gc.sum(avg_pool2d(z, 2) ** 2), x)
    values = [rng.standard_normal((1, 1, 4, 4)).astype("f4"), rng.standard_normal((2, 1, 1, 4)).astype("f4")]
    want = gc.function([x, c], grad, backend="numpy", simplify=False)(*values)
    np.testing.assert_allclose(gc.function([x, c], grad, backend="numpy")(*values), want, rtol=1e-5, atol=1e-6)


def test_max_pool_gradient_goes_to_the_first_maximum_and_overlaps_accumulate():
    x = gc.tensor("x", (1, 1, 5), "float64")
    gx = gc.grad(gc.sum(max_pool1d(x, 3, 1)), x)
    # windows [0 5 0] and [5 0 0] pick the 5; the tie [0 0 0] picks its first element
    np.testing.assert_array_equal(gx.eval({x: [[[0, 5, 0, 0, 0]]]}), [[[0, 2, 1, 0, 0]]])
    square = gc.tensor("s", (1, 1, 2, 2), "float64")
    ties = gc.grad(gc.sum(max_pool2d(square, 2)), square)
    np.testing.assert_array_equal(ties.eval({square: np.ones((1, 1, 2, 2))}), [[[[1, 0], [0, 0]]]])


def test_avg_pool_counts_padding_in_the_mean():
    x = gc.tensor("x", (1, 1, 3), "float64")
    np.testing.assert_allclose(avg_pool1d(x, 3, 1, 1).eval({x: [[[3, 3, 3]]]}), [[[2, 3, 2]]])
    np.testing.assert_allclose(max_pool1d(x, 3, 1, 1).eval({x: [[[-3, -4, -5]]]}), [[[-3, -3, -4]]])


UNKNOWN = [(None, 2, 7, 6), (None, 2, None, None)]


def unknown_size_outputs(static):
    X = gc.tensor("x", static, "float64")
    for pool in (max_pool2d, avg_pool2d):
        y = pool(X, 3, 2, 1)
        assert y.shape == (None, 2) + ((4, 3) if static[2] else (None, None))
        yield pool, X, [y] + [gc.grad(gc.sum(y), X), gc.grad(gc.sum(y * y), X)]


@pytest.mark.parametrize("static", UNKNOWN)
def test_unknown_sizes(rng, static):
    x = rng.standard_normal((3, 2, 7, 6))
    for pool, X, outputs in unknown_size_outputs(static):
        out, *grads = gc.evaluate(outputs, {X: x})
        np.testing.assert_allclose(out, pool(gc.constant(x), 3, 2, 1).eval())
        assert all(g.shape == x.shape for g in grads)


@pytest.mark.parametrize("static", UNKNOWN)
def test_unknown_sizes_in_a_compiled_function(rng, static):
    x = rng.standard_normal((3, 2, 7, 6))
    for pool, X, outputs in unknown_size_outputs(static):
        compiled = gc.function([X], outputs)(x)
        for got, expected in zip(compiled, gc.evaluate(outputs, {X: x})):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool, case", POOLS, ids=IDS)
def test_matches_torch_values_and_gradients(rng, pool, case):
    torch = pytest.importorskip("torch")
    shape, kernel, stride, padding = case
    x = rng.standard_normal(shape)
    X = gc.tensor("x", shape, "float64")
    y = pool(X, kernel, stride, padding)
    gy = rng.standard_normal(y.shape)
    value, gx = gc.evaluate([y, gc.grad(gc.sum(y * gc.constant(gy)), X)], {X: x})
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch.nn.functional, pool.__name__)(xt, kernel, stride, padding)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(value, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("build, message", [
    (lambda: max_pool2d(gc.tensor("x", (1, 1, 6, 6)), 3, 1, 2), r"max_pool2d: padding \(\(2, 2\), \(2, 2\)\) must be at most half the kernel \(3, 3\)"),
    (lambda: avg_pool2d(gc.tensor("x", (1, 1, 2, 6)), 3), r"avg_pool2d: the kernel \(3, 3\) is larger than the padded input \(2, 6\)"),
    (lambda: max_pool1d(gc.tensor("x", (1, 1, 6), "int32"), 2), r"max_pool1d: the input must be float"),
    (lambda: max_pool2d(gc.tensor("x", (6, 6)), 2), r"max_pool2d: the input needs 2 pooled axes after at least a channel axis"),
    (lambda: avg_pool1d(gc.tensor("x", (1, 1, 6)), (2, 2)), r"avg_pool1d: kernel_size must be an int or a tuple of 1 ints"),
    (lambda: avg_pool2d(gc.tensor("x", (1, 1, 6, 6)), 2.0), r"avg_pool2d: kernel_size must be an int or a tuple of 2 ints, got 2.0"),
    (lambda: max_pool2d(gc.tensor("x", (1, 1, 6, 6)), 3, padding="same"),
     r"max_pool2d: padding must be an int, 2 ints or 2 \(lo, hi\) pairs, got 'same'; 'same' and 'valid' are for convolutions"),
    (lambda: gc.Node.make(MaxPoolGrad((2,), (2,), ((0, 0),)), [gc.tensor("x", (1, 1, 6)), gc.tensor("gy", (1, 1, 2))]),
     r"max_pool1d_grad: the output gradient has shape \(1, 1, 2\), expected \(1, 1, 3\)"),
])
def test_build_errors(build, message):
    with pytest.raises((gc.ShapeError, gc.DTypeError), match=message):
        build()
