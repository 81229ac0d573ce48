"""Optimisers: each lowers a convex loss, and each matches PyTorch's update rule."""
import numpy as np
import pytest

import graphc as gc
from graphc.nn import optim

A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])


def _quadratic(dtype="float64"):
    w = gc.shared(np.array([4.0, -3.0], dtype), name="w")
    loss = 0.5 * (w @ gc.constant(A.astype(dtype)) @ w) - w @ gc.constant(B.astype(dtype))
    return w, loss


@pytest.mark.parametrize("name, lr", [("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.1)])
def test_each_optimizer_lowers_a_convex_loss(name, lr):
    w, loss = _quadratic()
    step = gc.function([], loss, updates=optim.get_optimizer(name)([w], loss, lr=lr))
    losses = [float(step()) for _ in range(200)]
    assert losses[-1] < losses[0] - 1.0
    np.testing.assert_allclose(w.get_value(), np.linalg.solve(A, B), atol=1e-2)


def test_weight_decay_equals_l2_penalty():
    w1, loss1 = _quadratic()
    w2, loss2 = _quadratic()
    f1 = gc.function([], loss1, updates=optim.sgd([w1], loss1, lr=0.1, weight_decay=0.3))
    penalised = loss2 + optim.l2_penalty([w2], 0.3)
    f2 = gc.function([], loss2, updates=optim.sgd([w2], penalised, lr=0.1))
    for _ in range(5):
        f1(), f2()
    np.testing.assert_allclose(w1.get_value(), w2.get_value(), rtol=1e-12)


def test_learning_rate_can_be_a_shared_scalar_for_schedules():
    w, loss = _quadratic()
    lr = gc.shared(np.float64(0.1), name="lr")
    step = gc.function([], loss, updates=optim.sgd([w], loss, lr=lr))
    lr.set_value(0.0)
    before = w.get_value()
    step()
    np.testing.assert_array_equal(w.get_value(), before)
    lr.set_value(0.1)
    step()
    assert not np.array_equal(w.get_value(), before)


def test_mismatched_gradients_are_rejected():
    w, loss = _quadratic()
    with pytest.raises(ValueError, match="2 gradients"):
        optim.sgd([w], [gc.grad(loss, w), gc.grad(loss, w)])
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.get_optimizer("rmsprop")


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_updates_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 2))
    target = rng.normal(size=(3, 2))
    w = gc.shared(w0, name="w")
    loss = ((w - gc.constant(target)) ** 3).sum() * 0.1 + (w * w).sum()
    settings = {"sgd": {}, "momentum": {"momentum": 0.8}, "nesterov": {"momentum": 0.8}, "adam": {}}[name]
    updates = optim.get_optimizer(name)([w], loss, lr=0.05, weight_decay=0.01, **settings)
    step = gc.function([], loss, updates=updates)

    tw = torch.tensor(w0, requires_grad=True)
    if name == "adam":
        opt = torch.optim.Adam([tw], lr=0.05, weight_decay=0.01)
    else:
        opt = torch.optim.SGD([tw], lr=0.05, weight_decay=0.01, nesterov=name == "nesterov", **settings)
    for _ in range(4):
        step()
        opt.zero_grad()
        (((tw - torch.tensor(target)) ** 3).sum() * 0.1 + (tw * tw).sum()).backward()
        opt.step()
    np.testing.assert_allclose(w.get_value(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
