"""Layers of modern CNNs (normalisations, activations, adaptive pooling, upsampling): the
same outputs as the PyTorch modules of the same name and state_dict keys that map one to one."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn

torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")
tnn = torch.nn

#: name -> (graphc layer, torch module, input shape)
LAYERS = {
    "LayerNorm": (lambda: nn.LayerNorm((3, 5)), lambda: tnn.LayerNorm((3, 5)), (2, 4, 3, 5)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), lambda: tnn.GroupNorm(2, 4), (2, 4, 3, 5)),
    "LocalResponseNorm": (lambda: nn.LocalResponseNorm(3, k=2.0), lambda: tnn.LocalResponseNorm(3, k=2.0), (2, 4, 3, 5)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), lambda: tnn.LeakyReLU(0.1), (2, 7)),
    "ELU": (lambda: nn.ELU(0.5), lambda: tnn.ELU(0.5), (2, 7)),
    "GELU": (nn.GELU, tnn.GELU, (2, 7)),
    "GELU_tanh": (lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh"), (2, 7)),
    "SiLU": (nn.SiLU, tnn.SiLU, (2, 7)),
    "Hardswish": (nn.Hardswish, tnn.Hardswish, (2, 7)),
    "Hardsigmoid": (nn.Hardsigmoid, tnn.Hardsigmoid, (2, 7)),
    "ReLU6": (nn.ReLU6, tnn.ReLU6, (2, 7)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: tnn.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    "AdaptiveAvgPool2d_global": (lambda: nn.AdaptiveAvgPool2d(1), lambda: tnn.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), lambda: tnn.Upsample(scale_factor=2), (2, 3, 2, 3)),
    "Upsample_bilinear": (lambda: nn.Upsample((4, 5), mode="bilinear", align_corners=True),
                          lambda: tnn.Upsample((4, 5), mode="bilinear", align_corners=True), (1, 2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_the_torch_module_with_the_same_state(rng, name):
    make, make_torch, shape = LAYERS[name]
    layer, module = make(), make_torch().double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    state = {k: v.numpy() for k, v in module.state_dict().items()}
    assert sorted(layer.state_dict()) == sorted(state)
    layer.load_state_dict(state)
    x = gc.tensor("x", (None,) + shape[1:], "float32")
    value = (rng.standard_normal(shape) * 3).astype("float32")
    got = gc.function([x], layer(x))(value)
    want = module(torch.tensor(value, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_norm_layers_without_affine_have_no_parameters():
    assert nn.LayerNorm(4, elementwise_affine=False).state_dict() == {}
    assert nn.GroupNorm(2, 4, affine=False).state_dict() == {}


def test_group_norm_layer_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="GroupNorm: num_groups 3 must divide num_channels 4"):
        nn.GroupNorm(3, 4)


def test_gelu_layer_refuses_an_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate"):
        nn.GELU("erf")


def test_a_block_of_new_layers_trains_its_parameters():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=0), nn.GroupNorm(2, 4), nn.SiLU(), nn.Flatten(),
                          nn.LayerNorm(64), nn.Dense(64, 3, rng=1))
    x = gc.tensor("x", (None, 2, 4, 4))
    loss = gc.mean(gc.square(model(x, training=True)))
    params = model.parameters()
    step = gc.function([x], loss, updates=nn.sgd(params, gc.grad(loss, params), lr=0.1))
    value = np.random.default_rng(0).standard_normal((3, 2, 4, 4)).astype("float32")
    first = step(value)
    for _ in range(5):
        last = step(value)
    assert last < first


@pytest.mark.parametrize("make, make_torch", [
    (lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), lambda: tnn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)),
    (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda: tnn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)),
    (lambda: nn.MaxPool1d(2, ceil_mode=True), lambda: tnn.MaxPool1d(2, ceil_mode=True)),
    (lambda: nn.AvgPool1d(3, 2, 1, count_include_pad=False), lambda: tnn.AvgPool1d(3, 2, 1, count_include_pad=False)),
])
def test_pooling_layers_take_torchs_options(rng, make, make_torch):
    layer, module = make(), make_torch()
    shape = (2, 3, 9, 8) if "2d" in type(layer).__name__ else (2, 3, 9)
    value = rng.standard_normal(shape).astype("float32")
    x = gc.tensor("x", (None,) + shape[1:])
    np.testing.assert_allclose(gc.function([x], layer(x))(value), module(torch.tensor(value)).numpy(), rtol=1e-5,
                               atol=1e-6)
    assert "kernel_size" in repr(layer)
