"""Batch normalisation: training and inference statistics, gradients, tiny variances."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.nn import batch_moments, batch_norm


def direct_batch_norm(x, gamma, beta, mean, var, axis, eps=1e-5):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


@pytest.mark.parametrize("shape, axis", [((4, 3, 2, 5), 1), ((5, 3), 1), ((2, 4, 3), -1)])
def test_training_uses_batch_statistics(rng, shape, axis):
    x = rng.standard_normal(shape) * 2 + 1
    channels = shape[axis]
    gamma, beta = rng.standard_normal(channels), rng.standard_normal(channels)
    reduced = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    X, G, B = gc.tensor("x", shape, "float64"), gc.tensor("g", (channels,), "float64"), gc.tensor("b", (channels,), "float64")
    feed = {X: x, G: gamma, B: beta}
    mean, var = x.mean(axis=reduced), x.var(axis=reduced)
    np.testing.assert_allclose(batch_norm(X, G, B, axis=axis).eval(feed), direct_batch_norm(x, gamma, beta, mean, var, axis), rtol=1e-10, atol=1e-12)
    m, v = gc.evaluate(list(batch_moments(X, axis)), feed)
    np.testing.assert_allclose(m, mean, rtol=1e-12)
    np.testing.assert_allclose(v, var, rtol=1e-12)
    check_grad(lambda x, g, b: batch_norm(x, g, b, axis=axis), [x, gamma, beta])


def test_inference_uses_the_given_statistics(rng):
    x = rng.standard_normal((3, 2, 4))
    gamma, beta, mean, var = rng.standard_normal(2), rng.standard_normal(2), rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    X = gc.tensor("x", x.shape, "float64")
    y = batch_norm(X, gamma, beta, mean, var, training=False, eps=1e-3)
    np.testing.assert_allclose(y.eval({X: x}), direct_batch_norm(x, gamma, beta, mean, var, 1, 1e-3), rtol=1e-12)
    check_grad(lambda x, g, b, m, v: batch_norm(x, g, b, m, v, training=False), [x, gamma, beta, mean, var])


def test_without_affine_parameters(rng):
    x = rng.standard_normal((6, 2))
    X = gc.tensor("x", (None, 2), "float64")
    y = batch_norm(X, None, None).eval({X: x})
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1 / (1 + 1e-5 / x.var(axis=0)), rtol=1e-10)


def test_tiny_variance_gives_finite_values_and_gradients(rng):
    x = (3 + 1e-7 * rng.standard_normal((4, 3, 2, 2))).astype(np.float32)
    x[:, 0] = 3  # one channel exactly constant: variance 0
    X, G, B = gc.tensor("x", x.shape), gc.tensor("g", (3,)), gc.tensor("b", (3,))
    y = batch_norm(X, G, B)
    cost = gc.sum(y * rng.standard_normal(x.shape).astype(np.float32))
    outputs = gc.function([X, G, B], [y] + gc.grad(cost, [X, G, B]))(x, np.ones(3, np.float32), np.zeros(3, np.float32))
    assert all(np.isfinite(v).all() for v in outputs)
    np.testing.assert_array_equal(outputs[0][:, 0], 0)


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 3, 2, 5))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    X = gc.tensor("x", x.shape, "float64")
    ours = batch_norm(X, gamma, beta).eval({X: x})
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), None, None, torch.tensor(gamma), torch.tensor(beta), training=True)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_errors():
    x = gc.tensor("x", (4, 3, 2))
    with pytest.raises(ValueError, match="batch_norm: inference .* needs running_mean and running_var"):
        batch_norm(x, None, None, training=False)
    with pytest.raises(gc.ShapeError, match=r"batch_norm: gamma must have shape \(3,\) \(one per channel of input \(4, 3, 2\)\), got \(2,\)"):
        batch_norm(x, gc.tensor("g", (2,)), None)
    with pytest.raises(gc.ShapeError, match=r"batch_moments: the input needs a batch and a channel axis"):
        batch_moments(gc.tensor("v", (3,)))
    with pytest.raises(gc.DTypeError, match="batch_norm: the input must be float"):
        batch_norm(gc.tensor("i", (4, 3), "int64"), None, None)
