"""Conv1d/Conv2d with groups and dilation and ConvTranspose1d/2d: PyTorch's constructor
arguments, weight shapes and state names, and outputs equal to torch's modules with the
same weights (torch is an optional oracle)."""
import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn


@pytest.mark.parametrize("make, weight", [
    (lambda: nn.Conv2d(4, 6, 3, groups=2), (6, 2, 3, 3)),
    (lambda: nn.Conv1d(3, 3, 5, groups=3, dilation=2), (3, 1, 5)),
    (lambda: nn.ConvTranspose2d(4, 6, (2, 3), groups=2), (4, 3, 2, 3)),
    (lambda: nn.ConvTranspose1d(2, 5, 4), (2, 5, 4)),
])
def test_weight_shapes_and_state_names(make, weight):
    layer = make()
    assert layer.weight.shape == weight
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert layer.bias.shape == (layer.out_channels,)


def test_groups_must_divide_the_channels():
    with pytest.raises(ValueError, match=r"Conv2d: groups=3 must divide in_channels=4 and out_channels=6"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: groups=4 must divide"):
        nn.ConvTranspose2d(4, 6, 3, groups=4)


@pytest.mark.parametrize("ours, theirs, shape", [
    (lambda: nn.Conv2d(4, 8, 3, stride=2, padding=1, dilation=2, groups=4, rng=0),
     lambda t: t.nn.Conv2d(4, 8, 3, stride=2, padding=1, dilation=2, groups=4), (2, 4, 9, 8)),
    (lambda: nn.Conv1d(6, 4, 3, padding=2, dilation=2, groups=2, rng=0),
     lambda t: t.nn.Conv1d(6, 4, 3, padding=2, dilation=2, groups=2), (2, 6, 11)),
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, rng=0),
     lambda t: t.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (1, 4, 5, 4)),
    (lambda: nn.ConvTranspose1d(3, 2, 4, stride=3, dilation=2, rng=0),
     lambda t: t.nn.ConvTranspose1d(3, 2, 4, stride=3, dilation=2), (2, 3, 5)),
])
def test_layers_match_torch_modules(ours, theirs, shape):
    torch = pytest.importorskip("torch")
    layer, module = ours(), theirs(torch).double()
    layer.load_state_dict({k: v.detach().numpy().astype(np.float32) for k, v in module.state_dict().items()})
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    X = gc.tensor("x", (None,) + shape[1:])
    got = gc.function([X], layer(X))(x)
    want = module(torch.tensor(x, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
