"""BatchNorm: batch statistics in training, running statistics in inference, updates as PyTorch."""
import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn


def _batch(shape=(6, 3, 4, 4), seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=shape).astype(np.float32)


def test_training_graph_normalises_each_channel():
    bn = nn.BatchNorm(3)
    x = gc.tensor("x", (None, 3, 4, 4))
    out = gc.function([x], bn(x, training=True))(_batch())
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)


def test_state_updates_follow_pytorch_running_statistics():
    bn = nn.BatchNorm(3, momentum=0.2)
    x = gc.tensor("x", (None, 3, 4, 4))
    y = bn(x, training=True)
    step = gc.function([x], y, updates=bn.state_updates(y))
    batches = [_batch(seed=s) for s in range(3)]
    for b in batches:
        step(b)
    mean, var = np.zeros(3), np.ones(3)
    for b in batches:
        mean = 0.8 * mean + 0.2 * b.mean(axis=(0, 2, 3))
        var = 0.8 * var + 0.2 * b.var(axis=(0, 2, 3), ddof=1)  # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean.get_value(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.get_value(), var, rtol=1e-5)


def test_inference_graph_uses_running_statistics_and_has_no_updates():
    bn = nn.BatchNorm(2, axis=-1)
    bn.running_mean.set_value([1.0, -2.0])
    bn.running_var.set_value([4.0, 0.25])
    bn.gamma.set_value([2.0, 1.0])
    x = gc.tensor("x", (None, 2))
    y = bn(x)
    value = np.array([[3.0, -2.0], [1.0, -1.0]], np.float32)
    expected = (value - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5) * [2.0, 1.0]
    np.testing.assert_allclose(gc.function([x], y)(value), expected, rtol=1e-5)
    assert bn.state_updates(y) == []


def test_model_collects_updates_only_from_its_training_graph():
    model = nn.Sequential(nn.Conv2d(3, 2, 1, rng=0), nn.BatchNorm(2, name="a"), nn.ReLU(), nn.BatchNorm(2, name="b"))
    x = gc.tensor("x", (None, 3, 4, 4))
    names = [var.name for var, _ in model.state_updates(model(x, training=True))]
    assert names == ["a.running_mean", "a.running_var", "b.running_mean", "b.running_var"]
    assert model.state_updates(model(x)) == []


def test_applying_one_batchnorm_twice_in_a_training_graph_is_an_error():
    bn = nn.BatchNorm(3)
    x = gc.tensor("x", (None, 3, 2, 2))
    twice = bn(bn(x, training=True) * 2.0, training=True)
    with pytest.raises(ValueError, match="more than once"):
        bn.state_updates(twice)
