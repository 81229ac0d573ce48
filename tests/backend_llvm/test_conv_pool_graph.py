"""Convolution and pooling through gc.function(backend="llvm"): the lowerings in
lower/nn.py, fused bias and activation, and gradients, against the numpy backend."""
import numpy as np
import pytest

import graphc as gc

from .graph_check import check, rand


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_bias_relu_pool_and_gradients(dtype, rng):
    x, w, b = gc.tensor("x", (3, 2, 11, 9), dtype), gc.tensor("w", (5, 2, 3, 2), dtype), gc.tensor("b", (5,), dtype)
    y = gc.relu(gc.nn.conv2d(x, w, b, stride=(2, 1), padding=((1, 0), (1, 2))))
    p = gc.nn.max_pool2d(y, 2, padding=1)
    q = gc.nn.avg_pool2d(y, (2, 3), stride=1)
    cost = (p * p).sum() + q.sum()
    grads = gc.grad(cost, [x, w, b])
    values = [rand(rng, (3, 2, 11, 9), dtype), rand(rng, (5, 2, 3, 2), dtype), rand(rng, (5,), dtype)]
    check([x, w, b], [y, p, q, cost, *grads], values, scale=10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv1d_and_pool1d_with_gradients(dtype, rng):
    x, w = gc.tensor("x", (2, 3, 17), dtype), gc.tensor("w", (4, 3, 5), dtype)
    y = gc.tanh(gc.nn.conv1d(x, w, stride=3, padding=((2, 1),)))
    z = gc.nn.avg_pool1d(gc.nn.max_pool1d(y, 2, stride=1), 2)
    cost = (z * z).sum()
    check([x, w], [y, z, *gc.grad(cost, [x, w])], [rand(rng, (2, 3, 17), dtype), rand(rng, (4, 3, 5), dtype)],
          scale=10)


def test_conv_bias_relu_is_one_kernel(rng):
    x, w, b = gc.tensor("x", (4, 3, 10, 10)), gc.tensor("w", (8, 3, 3, 3)), gc.tensor("b", (8,))
    f = gc.function([x, w, b], gc.relu(gc.nn.conv2d(x, w, b, padding=1)), backend="llvm")
    f(rand(rng, (4, 3, 10, 10)), rand(rng, (8, 3, 3, 3)), rand(rng, (8,)))
    listing = f.inspect.listing()
    rows = [line for line in listing.splitlines()[1:] if "conv2d" in line]
    assert rows and all("add" in row and "relu" in row for row in rows), listing


def test_max_pool_second_derivative_uses_the_gather(rng):
    x = gc.tensor("x", (2, 2, 6, 7), "float64")
    p = gc.nn.max_pool2d(x, 3, stride=2, padding=1)
    g = gc.grad((p * p * p).sum(), [x])[0]
    hv = gc.grad((g * g).sum(), [x])[0]
    check([x], [g, hv], [rand(rng, (2, 2, 6, 7), "float64")])
