"""fold_batch_norm: same inference outputs, fewer nodes, no BatchNorm left after Conv/Dense."""
import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn


def _randomise_batch_norms(model, rng):
    for layer in model.walk():
        if isinstance(layer, nn.BatchNorm):
            c = layer.num_features
            layer.gamma.set_value(rng.uniform(0.5, 2.0, c))
            layer.beta.set_value(rng.normal(size=c))
            layer.running_mean.set_value(rng.normal(size=c))
            layer.running_var.set_value(rng.uniform(0.1, 3.0, c))


def _inference(model, x, value):
    return gc.function([x], model(x))(value)


@pytest.mark.parametrize("conv_bias", [True, False])
def test_folding_preserves_outputs_with_fewer_nodes(conv_bias):
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=conv_bias, rng=rng), nn.BatchNorm(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dense(64, 5, rng=rng), nn.BatchNorm(5), nn.Tanh(), nn.BatchNorm(5),
    )
    _randomise_batch_norms(model, rng)
    folded = nn.fold_batch_norm(model)
    x = gc.tensor("x", (None, 1, 8, 8))
    value = rng.normal(size=(7, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_inference(folded, x, value), _inference(model, x, value), rtol=1e-4, atol=1e-5)
    assert len(gc.ir.toposort([folded(x)])) < len(gc.ir.toposort([model(x)]))
    kinds = [type(layer).__name__ for layer in folded]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Dense", "Tanh", "BatchNorm"]  # the last follows Tanh


def test_folding_a_1d_conv_and_leaving_the_original_untouched():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, rng=rng), nn.BatchNorm(3))
    _randomise_batch_norms(model, rng)
    before = model.get_state()
    folded = nn.fold_batch_norm(model)
    x = gc.tensor("x", (None, 2, 9))
    value = rng.normal(size=(4, 2, 9)).astype(np.float32)
    np.testing.assert_allclose(_inference(folded, x, value), _inference(model, x, value), rtol=1e-4, atol=1e-5)
    for a, b in zip(before, model.get_state()):
        np.testing.assert_array_equal(a, b)
    assert folded[0].weight is not model[0].weight


def test_folding_leaves_layers_without_batch_norm_alone():
    model = nn.models.digits_cnn(rng=0)
    folded = nn.fold_batch_norm(model)
    assert [type(a) for a in folded] == [type(b) for b in model]
    assert folded[0] is model[0]


@pytest.mark.parametrize("conv", [
    lambda rng: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2, rng=rng),
    lambda rng: nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False, rng=rng),     # depthwise
    lambda rng: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, rng=rng),
    lambda rng: nn.ConvTranspose2d(4, 2, 2, stride=2, bias=False, rng=rng),
], ids=["grouped-dilated", "depthwise", "transposed-grouped", "transposed"])
def test_folding_into_grouped_and_transposed_convolutions(conv):
    rng = np.random.default_rng(2)
    layer = conv(rng)
    model = nn.Sequential(layer, nn.BatchNorm(layer.out_channels), nn.ReLU())
    _randomise_batch_norms(model, rng)
    folded = nn.fold_batch_norm(model)
    assert [type(a) for a in folded] == [type(layer), nn.ReLU]
    x = gc.tensor("x", (None, 4, 7, 6))
    value = rng.normal(size=(3, 4, 7, 6)).astype(np.float32)
    np.testing.assert_allclose(_inference(folded, x, value), _inference(model, x, value), rtol=1e-4, atol=1e-5)
