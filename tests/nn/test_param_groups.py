"""Parameter groups: every optimiser takes PyTorch's [{"params": ..., "lr": ..., ...}, ...] and
steps as torch.optim does with the same groups; weight_decay_groups leaves biases and norms undecayed."""
import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn
from graphc.nn import optim

TORCH_REASON = "torch.optim is the oracle for parameter groups"

# graphc name -> (torch class, torch options of the whole call)
TORCH_OPTIMIZERS = {
    "sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {}), "adamw": ("AdamW", {}), "rmsprop": ("RMSprop", {}), "adagrad": ("Adagrad", {}),
}


def _loss(w, b, const, a, target):
    return ((w - const(target)) ** 3).sum() * 0.1 + ((const(a) @ w).sum(1) * b).sum() + (b * b).sum()


@pytest.mark.parametrize("name", sorted(TORCH_OPTIMIZERS))
def test_groups_with_their_own_lr_and_weight_decay_match_torch(name):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    torch_class, torch_options = TORCH_OPTIMIZERS[name]
    rng = np.random.default_rng(3)
    starts = [rng.normal(size=(3, 2)), rng.normal(size=(4,))]
    a, target = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))

    w, b = gc.shared(starts[0], name="w"), gc.shared(starts[1], name="b")
    loss = _loss(w, b, gc.constant, a, target)
    groups = [{"params": [w], "lr": 0.03, "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}]
    step = gc.function([], loss, updates=optim.get_optimizer(name)(groups, loss, lr=0.07, weight_decay=0.02))

    tw, tb = (torch.tensor(s, requires_grad=True) for s in starts)
    torch_groups = [{"params": [tw], "lr": 0.03, "weight_decay": 0.1}, {"params": [tb], "weight_decay": 0.0}]
    opt = getattr(torch.optim, torch_class)(torch_groups, lr=0.07, weight_decay=0.02, **torch_options)
    for _ in range(6):
        step()
        opt.zero_grad()
        _loss(tw, tb, torch.tensor, a, target).backward()
        opt.step()
    np.testing.assert_allclose(w.get_value(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.get_value(), tb.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(w.get_value(), starts[0]) and not np.allclose(b.get_value(), starts[1])


def test_a_group_overrides_any_option_and_gradients_may_be_a_list():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    rng = np.random.default_rng(4)
    starts = [rng.normal(size=(3, 2)), rng.normal(size=(4,))]
    a, target = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    w, b = gc.shared(starts[0], name="w"), gc.shared(starts[1], name="b")
    loss = _loss(w, b, gc.constant, a, target)
    groups = [{"params": [w], "beta1": 0.5}, {"params": [b], "lr": 0.01, "beta2": 0.9}]
    step = gc.function([], loss, updates=nn.adam(groups, gc.grad(loss, [w, b]), lr=0.05))

    tw, tb = (torch.tensor(s, requires_grad=True) for s in starts)
    opt = torch.optim.Adam([{"params": [tw], "betas": (0.5, 0.999)}, {"params": [tb], "lr": 0.01, "betas": (0.9, 0.9)}],
                           lr=0.05)
    for _ in range(5):
        step()
        opt.zero_grad()
        _loss(tw, tb, torch.tensor, a, target).backward()
        opt.step()
    np.testing.assert_allclose(w.get_value(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.get_value(), tb.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_bad_groups_are_refused_with_what_is_wrong():
    w, b = gc.shared(np.ones(2), name="w"), gc.shared(np.ones(2), name="b")
    loss = (w * b).sum()
    with pytest.raises(ValueError, match=r"adam: parameter group 1 has unknown options \['momentum'\]"):
        nn.adam([{"params": [w]}, {"params": [b], "momentum": 0.9}], loss)
    with pytest.raises(ValueError, match="sgd: parameter 'w' is in more than one parameter group"):
        nn.sgd([{"params": [w]}, {"params": [w, b]}], loss)
    with pytest.raises(TypeError, match="sgd: parameter group 1 must be a dict with 'params'"):
        nn.sgd([{"params": [w]}, b], loss)
    with pytest.raises(ValueError, match="sgd: 2 parameters in the groups but 1 gradients"):
        nn.sgd([{"params": [w]}, {"params": [b]}], [gc.grad(loss, w)])


def test_a_group_may_give_its_parameters_as_any_iterable():
    w, b = gc.shared(np.ones(2), name="w"), gc.shared(np.ones(2), name="b")
    loss = (w * b).sum()
    updates = nn.momentum([{"params": (p for p in [w, b]), "lr": 0.5}], gc.grad(loss, [w, b]))
    assert [var.name for var, _ in updates] == ["w.velocity", "w", "b.velocity", "b"]


def test_weight_decay_groups_decay_weights_only():
    model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=0)
    decayed, undecayed = nn.weight_decay_groups(model, 1e-4)
    names = {var: name for name, var in model.named_variables().items()}
    assert [names[p] for p in decayed["params"]] == ["conv1.weight", "conv2.weight", "fc.weight"]
    assert [names[p] for p in undecayed["params"]] == [
        "conv1.bias", "bn1.gamma", "bn1.beta", "conv2.bias", "bn2.gamma", "bn2.beta", "fc.bias",
    ]
    assert (decayed["weight_decay"], undecayed["weight_decay"]) == (1e-4, 0.0)
    decayed, undecayed = nn.weight_decay_groups(model, 1e-4, skip=["fc.weight"])
    assert [names[p] for p in undecayed["params"]][-2:] == ["fc.weight", "fc.bias"] and len(decayed["params"]) == 2
    with pytest.raises(ValueError, match=r"no parameters named \['fc.kernel'\]"):
        nn.weight_decay_groups(model, 1e-4, skip=["fc.kernel"])
    assert len(nn.weight_decay_groups(nn.Dense(2, 2, bias=False), 0.1)) == 1  # no empty group


def test_undecayed_parameters_do_not_shrink_under_a_zero_gradient():
    model = nn.Dense(3, 2, rng=0)
    model.bias.set_value(np.ones(2, np.float32))
    zeros = [gc.zeros_like(p) for p in model.parameters()]
    step = gc.function([], [], updates=nn.sgd(nn.weight_decay_groups(model, 0.5), zeros, lr=0.1))
    weight = model.weight.get_value()
    step()
    np.testing.assert_allclose(model.weight.get_value(), weight * (1 - 0.1 * 0.5), rtol=1e-6)
    np.testing.assert_array_equal(model.bias.get_value(), np.ones(2))


def _trained(param_groups=None, lr=0.1, schedule=None):
    data = nn.datasets.load_digits(seed=0)
    model = nn.models.logistic_regression(rng=0)
    groups = param_groups(model) if param_groups else None
    trainer = nn.Trainer(model, optimizer="momentum", lr=lr, momentum=0.9, param_groups=groups)
    trainer.fit(data.x_train[:128], data.y_train[:128], epochs=2, batch_size=32, lr_schedule=schedule,
                progress=False, verbose=False)
    return model


def test_trainer_group_rates_are_relative_to_the_trainer_rate():
    initial = nn.models.logistic_regression(rng=0).state_dict()
    frozen = _trained(lambda model: [{"params": [model[1].weight], "lr": 0.0}, {"params": [model[1].bias]}])
    np.testing.assert_array_equal(frozen[1].weight.get_value(), initial["fc.weight"])
    assert not np.array_equal(frozen[1].bias.get_value(), initial["fc.bias"])

    doubled = _trained(lambda model: [{"params": model.parameters(), "lr": 0.2}], lr=0.1)
    plain = _trained(lr=0.2)
    for name, value in plain.state_dict().items():
        np.testing.assert_allclose(doubled.state_dict()[name], value, rtol=1e-4, atol=1e-6)

    scheduled_group = _trained(lambda model: [{"params": model.parameters(), "lr": 0.2}], lr=0.1,
                                  schedule=nn.StepLR(0.05, step_size=1, gamma=1.0))
    same_rate = _trained(lr=0.1, schedule=nn.StepLR(0.1, step_size=1, gamma=1.0))
    for name, value in same_rate.state_dict().items():
        np.testing.assert_allclose(scheduled_group.state_dict()[name], value, rtol=1e-4, atol=1e-6)
