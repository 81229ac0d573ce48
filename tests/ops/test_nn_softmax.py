"""Softmax, log-softmax and one-hot."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.ops.nn import LogSoftmax, OneHot, Softmax, log_softmax, one_hot, softmax


def direct_softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape, axis", [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((7,), 0)])
def test_references_match_a_direct_computation(rng, shape, axis):
    x = rng.standard_normal(shape)
    X = gc.tensor("x", shape, "float64")
    np.testing.assert_allclose(softmax(X, axis).eval({X: x}), direct_softmax(x, axis), rtol=1e-12)
    np.testing.assert_allclose(log_softmax(X, axis).eval({X: x}), np.log(direct_softmax(x, axis)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, axis", [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1)])
def test_gradients_match_finite_differences(rng, shape, axis):
    x = rng.standard_normal(shape)
    check_grad(lambda x: softmax(x, axis), [x])
    check_grad(lambda x: log_softmax(x, axis), [x])


def test_second_derivatives_match_finite_differences(rng):
    x = rng.standard_normal((2, 5))
    check_grad(lambda x: gc.grad(gc.sum(softmax(x) ** 2), x), [x])
    check_grad(lambda x: gc.grad(gc.sum(log_softmax(x) * x), x), [x])


def test_large_logits_stay_finite(rng):
    logits = np.array([[1e4, 0.0, -1e4], [3e4, 3e4, 3e4]], np.float32)
    X = gc.tensor("x", logits.shape)
    probs, logs = gc.evaluate([softmax(X), log_softmax(X)], {X: logits})
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3] * 3], rtol=1e-6)
    np.testing.assert_allclose(logs, [[0, -1e4, -2e4], [-np.log(3)] * 3], rtol=1e-6)
    g = rng.standard_normal(logits.shape).astype(np.float32)
    grads = gc.evaluate(gc.grad(gc.sum(softmax(X) * g), [X]) + gc.grad(gc.sum(log_softmax(X) * g), [X]), {X: logits})
    assert all(np.isfinite(v).all() for v in grads)


def test_ops_are_matchable_and_axes_normalised():
    x = gc.tensor("x", (3, 4))
    assert isinstance(softmax(x).op, Softmax) and isinstance(log_softmax(x).op, LogSoftmax)
    assert softmax(x, -1) is softmax(x, 1)
    assert softmax(gc.tensor("i", (3,), "int64")).dtype == np.float64  # as numpy's exp of ints
    with pytest.raises(gc.ShapeError, match="log_softmax: axis 2 is out of range"):
        log_softmax(x, 2)


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 2))
    X = gc.tensor("x", x.shape, "float64")
    np.testing.assert_allclose(softmax(X, 1).eval({X: x}), torch.softmax(torch.tensor(x), 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(log_softmax(X, 1).eval({X: x}), torch.log_softmax(torch.tensor(x), 1).numpy(), rtol=1e-12)


def test_one_hot_matches_numpy():
    labels = np.array([[0, 3], [2, 1], [3, 3]])
    y = gc.tensor("y", labels.shape, "int64")
    encoded = one_hot(y, 4)
    assert isinstance(encoded.op, OneHot) and encoded.shape == (3, 2, 4) and encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded.eval({y: labels}), np.eye(4, dtype=np.float32)[labels])
    assert one_hot(y, 4, dtype="int32").eval({y: labels}).dtype == np.int32


def test_one_hot_rejects_bad_labels():
    with pytest.raises(gc.DTypeError, match="one_hot: labels must be integers"):
        one_hot(gc.tensor("y", (3,)), 4)
    y = gc.tensor("y", (2,), "int64")
    with pytest.raises(ValueError, match=r"one_hot: label 4 is outside \[0, 4\)"):
        one_hot(y, 4).eval({y: np.array([1, 4])})
    with pytest.raises(ValueError, match=r"one_hot: label -1 is outside"):
        one_hot(y, 4).eval({y: np.array([-1, 0])})
