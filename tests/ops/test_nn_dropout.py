"""Dropout: fresh masks per call, reproducible seeds, keep rate, scaling, gradient."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.nn import dropout
from graphc.ops.random import RandomStream


def compiled(p, stream=None, shape=(50, 40)):
    x = gc.tensor("x", shape)
    y = dropout(x, p, stream=stream)
    return gc.function([x], [y, gc.grad(gc.sum(y), x)])


def test_each_call_draws_a_fresh_mask():
    f = compiled(0.5, RandomStream(3))
    x = np.ones((50, 40), np.float32)
    first, second = f(x)[0], f(x)[0]
    assert not np.array_equal(first, second)


def test_the_same_seed_gives_the_same_masks():
    x = np.ones((50, 40), np.float32)
    f, g, h = compiled(0.5, RandomStream(7)), compiled(0.5, RandomStream(7)), compiled(0.5, RandomStream(8))
    for _ in range(2):
        a, b, c = f(x)[0], g(x)[0], h(x)[0]
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_default_stream_is_seedable():
    x = np.ones((50, 40), np.float32)
    gc.seed(11)
    first = compiled(0.3)(x)[0]
    gc.seed(11)
    np.testing.assert_array_equal(compiled(0.3)(x)[0], first)


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_keep_rate_scaling_and_gradient(rng, p):
    x = rng.uniform(1, 2, (100, 200)).astype(np.float32)
    y, g = compiled(p, RandomStream(1), x.shape)(x)
    kept = y != 0
    n = x.size
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(g, kept / np.float32(1 - p), rtol=1e-6)


def test_identity_when_not_training_or_p_zero_and_zero_when_p_one():
    x = gc.tensor("x", (3, 4))
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    np.testing.assert_array_equal(dropout(x, 1.0).eval({x: np.ones((3, 4), np.float32)}), 0)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\], got 1.5"):
        dropout(x, 1.5)
