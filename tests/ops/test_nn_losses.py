"""Losses: cross-entropy (labels, probabilities, smoothing), nll, binary cross-entropy, mse."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.nn import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss


def direct_log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def direct_cross_entropy(z, target, smoothing=0.0):
    classes = z.shape[1]
    if target.dtype.kind == "i":
        target = np.eye(classes)[target]
    target = target * (1 - smoothing) + smoothing / classes
    return -(target * direct_log_softmax(z)).sum() / z.shape[0]


@pytest.fixture
def batch(rng):
    logits = rng.standard_normal((4, 5))
    return logits, np.array([1, 0, 4, 4]), rng.dirichlet(np.ones(5), 4)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("kind", ["labels", "probabilities"])
def test_cross_entropy_matches_a_direct_computation(batch, smoothing, kind):
    logits, labels, probs = batch
    target = labels if kind == "labels" else probs
    Z, T = gc.tensor("z", logits.shape, "float64"), gc.tensor("t", target.shape, target.dtype)
    loss = cross_entropy(Z, T, label_smoothing=smoothing)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.eval({Z: logits, T: target}), direct_cross_entropy(logits, target, smoothing), rtol=1e-12)
    check_grad(lambda z, t: cross_entropy(z, t, label_smoothing=smoothing), [logits, target])


def test_cross_entropy_gradient_is_softmax_minus_target_over_n(batch):
    logits, labels, _ = batch
    Z, Y = gc.tensor("z", (None, 5), "float64"), gc.tensor("y", (None,), "int64")
    g = gc.grad(cross_entropy(Z, Y), Z).eval({Z: logits, Y: labels})
    probs = np.exp(direct_log_softmax(logits))
    np.testing.assert_allclose(g, (probs - np.eye(5)[labels]) / 4, rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_huge_logits_is_finite(rng):
    logits = (rng.standard_normal((3, 4)) * 1e4).astype(np.float32)
    logits[0] = [1e4, -1e4, 0, 1e4]
    labels = np.array([1, 2, 3])
    Z, Y = gc.tensor("z", (None, 4)), gc.tensor("y", (None,), "int64")
    loss = cross_entropy(Z, Y, label_smoothing=0.1)
    value, grad = gc.function([Z, Y], [loss, gc.grad(loss, Z)])(logits, labels)
    assert np.isfinite(value) and value > 1e3 and np.isfinite(grad).all()
    np.testing.assert_allclose(value, direct_cross_entropy(logits.astype(np.float64), labels, 0.1), rtol=1e-6)


def test_nll_loss_and_reductions(batch):
    logits, labels, _ = batch
    Z, Y = gc.tensor("z", logits.shape, "float64"), gc.tensor("y", labels.shape, "int64")
    logp = direct_log_softmax(logits)
    per_example = -logp[np.arange(4), labels]
    feed = {Z: logits, Y: labels}
    np.testing.assert_allclose(nll_loss(gc.nn.log_softmax(Z, 1), Y).eval(feed), per_example.mean(), rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(Z, Y, reduction="none").eval(feed), per_example, rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(Z, Y, reduction="sum").eval(feed), per_example.sum(), rtol=1e-12)
    check_grad(lambda z, y: nll_loss(z, y, reduction="sum"), [logp, labels])


def test_binary_cross_entropy_with_logits(rng):
    logits, targets = rng.standard_normal((3, 4)) * 3, rng.uniform(size=(3, 4))
    Z, T = gc.tensor("z", logits.shape, "float64"), gc.tensor("t", targets.shape, "float64")
    p = 1 / (1 + np.exp(-logits))
    direct = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    np.testing.assert_allclose(binary_cross_entropy_with_logits(Z, T).eval({Z: logits, T: targets}), direct.mean(), rtol=1e-12)
    np.testing.assert_allclose(binary_cross_entropy_with_logits(Z, T, "none").eval({Z: logits, T: targets}), direct, rtol=1e-12)
    check_grad(binary_cross_entropy_with_logits, [logits, targets])


def test_binary_cross_entropy_with_saturated_logits_is_finite():
    Z, T = gc.tensor("z", (4,)), gc.tensor("t", (4,))
    loss = binary_cross_entropy_with_logits(Z, T, "none")
    value, grad = gc.evaluate([loss, gc.grad(gc.sum(loss), Z)], {Z: np.float32([1e4, -1e4, 1e4, -1e4]), T: np.float32([1, 0, 0, 1])})
    np.testing.assert_allclose(value, [0, 0, 1e4, 1e4])
    np.testing.assert_allclose(grad, [0, 0, 1, -1])


def test_mse_loss(rng):
    pred, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    P, T = gc.tensor("p", pred.shape, "float64"), gc.tensor("t", target.shape, "float64")
    np.testing.assert_allclose(mse_loss(P, T).eval({P: pred, T: target}), ((pred - target) ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(mse_loss(P, T, "sum").eval({P: pred, T: target}), ((pred - target) ** 2).sum(), rtol=1e-12)
    check_grad(mse_loss, [pred, target])


def test_matches_torch(batch, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    logits, labels, probs = batch
    Z = gc.tensor("z", logits.shape, "float64")
    Y, P = gc.tensor("y", labels.shape, "int64"), gc.tensor("p", probs.shape, "float64")
    feed = {Z: logits, Y: labels, P: probs}
    zt, yt, pt = torch.tensor(logits), torch.tensor(labels), torch.tensor(probs)
    pairs = [
        (cross_entropy(Z, Y, 0.1), F.cross_entropy(zt, yt, label_smoothing=0.1)),
        (cross_entropy(Z, P, 0.3), F.cross_entropy(zt, pt, label_smoothing=0.3)),
        (nll_loss(Z, Y), F.nll_loss(zt, yt)),
        (binary_cross_entropy_with_logits(Z, P), F.binary_cross_entropy_with_logits(zt, pt)),
        (mse_loss(Z, P), F.mse_loss(zt, pt)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.eval(feed), theirs.item(), rtol=1e-12)


@pytest.mark.parametrize("build, message", [
    (lambda: cross_entropy(gc.tensor("z", (4, 5)), gc.tensor("y", (3,), "int64")), r"cross_entropy: int labels must have shape \(4,\) for scores \(4, 5\), got \(3,\)"),
    (lambda: cross_entropy(gc.tensor("z", (4, 5)), gc.tensor("p", (4, 4))), r"cross_entropy: scores \(4, 5\) and probability targets \(4, 4\) must have the same shape"),
    (lambda: cross_entropy(gc.tensor("z", (5,)), gc.tensor("y", (), "int64")), r"cross_entropy: expected scores of shape \(N, C\), got \(5,\)"),
    (lambda: cross_entropy(gc.tensor("z", (4, None)), gc.tensor("y", (4,), "int64")), r"cross_entropy: int labels need the number of classes known"),
    (lambda: cross_entropy(gc.tensor("z", (4, 5)), gc.tensor("y", (4,), "bool")), r"cross_entropy: labels must be int class indices or float probabilities"),
    (lambda: mse_loss(gc.tensor("p", (None, 1)), gc.tensor("t", (None,))), r"mse_loss: pred \(\?, 1\) and target \(\?,\) must have the same shape"),
])
def test_shape_errors(build, message):
    with pytest.raises((gc.ShapeError, gc.DTypeError), match=message):
        build()


def test_argument_errors():
    z, y = gc.tensor("z", (4, 5)), gc.tensor("y", (4,), "int64")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        cross_entropy(z, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        mse_loss(z, z, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        cross_entropy(z, y, reduction="avg")
