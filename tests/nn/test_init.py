"""Initialisers: the right scale, and seeded reproducibly."""
import numpy as np
import pytest

from graphc.nn import init


@pytest.mark.parametrize("name, variance", [
    ("he_normal", lambda fi, fo: 2 / fi), ("he_uniform", lambda fi, fo: 2 / fi),
    ("glorot_normal", lambda fi, fo: 2 / (fi + fo)), ("glorot_uniform", lambda fi, fo: 2 / (fi + fo)),
])
def test_initialisers_have_their_variance(name, variance):
    value = init.initial_value(name, (200, 300), 200, 300, rng=0)
    assert value.dtype == np.float32
    assert abs(value.mean()) < 0.01
    np.testing.assert_allclose(value.var(), variance(200, 300), rtol=0.03)


def test_uniform_initialisers_stay_within_their_limit():
    value = init.initial_value("glorot_uniform", (50, 70), 50, 70, rng=1)
    assert np.abs(value).max() <= np.sqrt(6 / 120)


def test_same_seed_same_weights_different_seed_different_weights():
    a = init.initial_value("he_normal", (4, 5), 4, 5, rng=3)
    b = init.initial_value("he_normal", (4, 5), 4, 5, rng=np.random.default_rng(3))
    c = init.initial_value("he_normal", (4, 5), 4, 5, rng=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unknown_initialiser_and_wrong_fixed_shape_are_errors():
    with pytest.raises(ValueError, match="unknown initialiser 'he'"):
        init.get_initialiser("he")
    with pytest.raises(ValueError, match="needs"):
        init.initial_value(init.from_array(np.zeros(3)), (2,), 1, 1, rng=0)
