"""Optimisers: each lowers a convex loss, and each matches PyTorch's update rule."""
import numpy as np
import pytest

import graphc as gc
from graphc.nn import optim

A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])
TORCH_REASON = "torch is the oracle for the optimisers' update rules"


def _quadratic(dtype="float64"):
    w = gc.shared(np.array([4.0, -3.0], dtype), name="w")
    loss = 0.5 * (w @ gc.constant(A.astype(dtype)) @ w) - w @ gc.constant(B.astype(dtype))
    return w, loss


@pytest.mark.parametrize("name, lr", [("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.1),
                                      ("adamw", 0.1), ("rmsprop", 0.05), ("adagrad", 0.5)])
def test_each_optimizer_lowers_a_convex_loss(name, lr):
    w, loss = _quadratic()
    options = {"weight_decay": 0.0} if name == "adamw" else {}
    step = gc.function([], loss, updates=optim.get_optimizer(name)([w], loss, lr=lr, **options))
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
        optim.get_optimizer("lbfgs")


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_updates_match_torch(name):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
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


# name -> (graphc options, torch optimiser class name, torch options)
TORCH_CASES = {
    "adamw": ({"weight_decay": 0.1}, "AdamW", {"weight_decay": 0.1}),
    "adamw-defaults": ({}, "AdamW", {}),
    "adamw-betas": ({"beta1": 0.8, "beta2": 0.9, "eps": 1e-6}, "AdamW", {"betas": (0.8, 0.9), "eps": 1e-6}),
    "rmsprop": ({}, "RMSprop", {}),
    "rmsprop-decay": ({"alpha": 0.9, "weight_decay": 0.01}, "RMSprop", {"alpha": 0.9, "weight_decay": 0.01}),
    "rmsprop-momentum": ({"momentum": 0.7}, "RMSprop", {"momentum": 0.7}),
    "rmsprop-centered": ({"centered": True, "momentum": 0.5}, "RMSprop", {"centered": True, "momentum": 0.5}),
    "adagrad": ({}, "Adagrad", {}),
    "adagrad-options": ({"lr_decay": 0.1, "initial_accumulator_value": 0.2, "weight_decay": 0.01},
                        "Adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "weight_decay": 0.01}),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_new_optimizers_match_torch_over_five_steps(case):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    options, torch_class, torch_options = TORCH_CASES[case]
    rng = np.random.default_rng(1)
    starts = [rng.normal(size=(3, 2)), rng.normal(size=(4,))]
    a, target = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))

    def loss_of(w, b, const, pow_):
        return (pow_(w - const(target), 3)).sum() * 0.1 + ((const(a) @ w).sum(1) * b).sum() + (b * b).sum()

    w, b = gc.shared(starts[0], name="w"), gc.shared(starts[1], name="b")
    loss = loss_of(w, b, gc.constant, lambda x, n: x ** n)
    name = case.split("-")[0]
    step = gc.function([], loss, updates=optim.get_optimizer(name)([w, b], loss, lr=0.05, **options))

    tw, tb = (torch.tensor(s, requires_grad=True) for s in starts)
    opt = getattr(torch.optim, torch_class)([tw, tb], lr=0.05, **torch_options)
    for _ in range(5):
        step()
        opt.zero_grad()
        loss_of(tw, tb, torch.tensor, lambda x, n: x ** n).backward()
        opt.step()
    np.testing.assert_allclose(w.get_value(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.get_value(), tb.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adamw_decay_is_decoupled_from_the_moments():
    """With a zero gradient AdamW only shrinks p by (1 - lr * wd) per step; Adam's L2 decay moves it by ~lr."""
    w = gc.shared(np.array([2.0, -1.0]), name="w")
    step = gc.function([], [], updates=optim.adamw([w], [gc.constant(np.zeros(2))], lr=0.1, weight_decay=0.5))
    for _ in range(3):
        step()
    np.testing.assert_allclose(w.get_value(), np.array([2.0, -1.0]) * 0.95 ** 3, rtol=1e-12)


SHAPES = [(3, 4), (5,), (2, 2, 2)]


def _random_grads(scale):
    rng = np.random.default_rng(2)
    return [rng.normal(size=shape) * scale for shape in SHAPES]


def _clipped(clip, values, threshold):
    inputs = [gc.tensor(f"g{i}", v.shape, "float64") for i, v in enumerate(values)]
    return gc.function(inputs, clip(inputs, threshold))(*values)


def _torch_clipped(torch, clip_, values, threshold):
    params = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in values]
    for p, v in zip(params, values):
        p.grad = torch.tensor(v)
    clip_(params, threshold)
    return [p.grad.numpy() for p in params]


@pytest.mark.parametrize("scale", [1.0, 0.01])  # 0.01: the global norm is below max_norm
def test_clip_grad_norm_matches_torch(scale):
    torch = pytest.importorskip("torch", reason="torch.nn.utils.clip_grad_norm_ is the oracle")
    values = _random_grads(scale)
    ours = _clipped(optim.clip_grad_norm, values, 1.0)
    theirs = _torch_clipped(torch, torch.nn.utils.clip_grad_norm_, values, 1.0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    norm = np.sqrt(sum((o ** 2).sum() for o in ours))
    if scale == 1.0:
        assert norm == pytest.approx(1.0, abs=1e-5)
    else:
        for a, v in zip(ours, values):
            np.testing.assert_array_equal(a, v)


@pytest.mark.parametrize("clip_value", [0.5, 100.0])  # 100: nothing to clip
def test_clip_grad_value_matches_torch(clip_value):
    torch = pytest.importorskip("torch", reason="torch.nn.utils.clip_grad_value_ is the oracle")
    values = _random_grads(1.0)
    ours = _clipped(optim.clip_grad_value, values, clip_value)
    theirs = _torch_clipped(torch, torch.nn.utils.clip_grad_value_, values, clip_value)
    for a, b, v in zip(ours, theirs, values):
        np.testing.assert_array_equal(a, b)
        assert np.abs(a).max() <= clip_value
        if clip_value == 100.0:
            np.testing.assert_array_equal(a, v)


def test_clipped_gradients_feed_an_optimizer_in_float32():
    w = gc.shared(np.array([4.0, -3.0], "float32"), name="w")
    loss = (w * w).sum() * 10.0
    step = gc.function([], loss, updates=optim.sgd([w], optim.clip_grad_norm(gc.grad(loss, [w]), 0.5), lr=1.0))
    before = w.get_value()
    step()
    assert w.get_value().dtype == np.float32
    assert np.linalg.norm(before - w.get_value()) == pytest.approx(0.5, rel=1e-5)
