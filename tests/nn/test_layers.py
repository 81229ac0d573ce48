"""Layers build the graphs they promise; parameters, state and gradients are right."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import graphc as gc
import graphc.nn as nn
from nn_helpers import numeric_gradient, run


def _conv2d_numpy(x, w, b, padding):
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))  # N, C, H, W, kh, kw
    return np.einsum("nchwij,ocij->nohw", windows, w) + b[None, :, None, None]


def test_dense_is_x_at_w_plus_b_and_checks_its_input():
    layer = nn.Dense(3, 2, rng=0)
    layer.bias.set_value(np.array([0.5, -1.0], np.float32))
    x = gc.tensor("x", (None, 3))
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = run([layer(x)], {x: value})
    np.testing.assert_allclose(out, value @ layer.weight.get_value() + [0.5, -1.0], rtol=1e-6)
    with pytest.raises(gc.ShapeError, match=r"Dense\(3, 2\) expects .* 3 features, got \(\?, 4\)"):
        layer(gc.tensor("z", (None, 4)))


def test_conv_and_pool_layers_compute_their_functional_ops():
    conv = nn.Conv2d(2, 3, 3, padding=1, rng=0)
    conv.bias.set_value(np.array([0.1, 0.2, 0.3], np.float32))
    x = gc.tensor("x", (None, 2, 4, 4))
    value = np.random.default_rng(1).normal(size=(2, 2, 4, 4)).astype(np.float32)
    out, pooled, avg = run([conv(x), nn.MaxPool2d(2)(x), nn.AvgPool2d(2)(x)], {x: value})
    expected = _conv2d_numpy(value, conv.weight.get_value(), conv.bias.get_value(), 1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    blocks = value.reshape(2, 2, 2, 2, 2, 2)
    np.testing.assert_allclose(pooled, blocks.max(axis=(3, 5)))
    np.testing.assert_allclose(avg, blocks.mean(axis=(3, 5)), rtol=1e-6)


def test_conv1d_layer_shapes():
    layer = nn.Conv1d(2, 5, 3, stride=2, bias=False, rng=0)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    out = nn.MaxPool1d(2)(layer(gc.tensor("x", (4, 2, 11))))
    assert out.shape == (4, 5, 2)
    assert nn.AvgPool1d(3, stride=1)(gc.tensor("x", (1, 1, 6))).shape == (1, 1, 4)


def test_activations_and_flatten():
    x = gc.tensor("x", (2, 3, 2))
    value = np.linspace(-3, 3, 12, dtype=np.float32).reshape(2, 3, 2)
    layers = [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.Flatten()]
    outs = run([layer(x) for layer in layers], {x: value})
    expected = [np.maximum(value, 0), 1 / (1 + np.exp(-value)), np.tanh(value), np.log1p(np.exp(value)),
                value.reshape(2, 6)]
    for out, want in zip(outs, expected):
        np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-7)


def test_sequential_lists_parameters_once_in_order_and_snapshots_state():
    shared_layer = nn.Dense(4, 4, rng=0, name="shared")
    model = nn.Sequential(nn.Dense(3, 4, rng=1, name="a"), shared_layer, nn.ReLU(), shared_layer, nn.BatchNorm(4))
    names = [p.name for p in model.parameters()]
    assert names == ["a.weight", "a.bias", "shared.weight", "shared.bias", "batchnorm.gamma", "batchnorm.beta"]
    assert [b.name for b in model.buffers()] == ["batchnorm.running_mean", "batchnorm.running_var"]
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 4 + 4 + 4 + 4
    snapshot = model.get_state()
    shared_layer.weight.set_value(np.zeros((4, 4)))
    model.set_state(snapshot)
    np.testing.assert_array_equal(shared_layer.weight.get_value(), snapshot[2])
    with pytest.raises(ValueError, match="8 variables"):
        model.set_state(snapshot[:3])
    assert len(model) == 5 and model[1] is shared_layer and "Dense(3, 4)" in repr(model)


def test_building_twice_gives_the_same_graph():
    model = nn.models.digits_cnn(rng=0)
    x = gc.tensor("x", (None, 1, 8, 8))
    assert model(x) is model(x)
    assert model(x, training=True) is model(x, training=False)  # no dropout or batch norm inside


def test_dropout_is_identity_in_inference_and_masks_in_training():
    layer = nn.Dropout(0.5, rng=0)
    x = gc.tensor("x", (200,))
    assert layer(x) is x
    f = gc.function([x], layer(x, training=True))
    ones = np.ones(200, np.float32)
    first, second = f(ones), f(ones)
    assert set(np.unique(first)) == {0.0, 2.0}
    assert 60 < (first == 0).sum() < 140
    assert not np.array_equal(first, second)  # the stream's key advances per call
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.0)


def test_gradients_of_a_small_network_match_finite_differences():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, init="he_normal", rng=rng, dtype="float64"),
        nn.BatchNorm(3, dtype="float64"), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Dense(12, 4, rng=rng, dtype="float64"),
    )
    x = gc.tensor("x", (3, 2, 4, 4), "float64")
    y = gc.tensor("y", (3,), "int64")
    xv, yv = rng.normal(size=(3, 2, 4, 4)), np.array([0, 3, 1])
    loss = nn.cross_entropy(model(x, training=True), y)
    params = model.parameters()
    grads = run(gc.grad(loss, params), {x: xv, y: yv})
    for p, g in zip(params, grads):
        original = p.get_value()

        def f(value, p=p):
            p.set_value(value)
            return float(run([loss], {x: xv, y: yv})[0])

        numeric = numeric_gradient(f, original)
        p.set_value(original)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-7, err_msg=p.name)
