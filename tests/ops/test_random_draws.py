"""RandomStream.uniform and .normal: distribution, shapes (static or from a template node),
dtypes, gradients to low/high and mean/std by finite differences, and clear errors."""
import math

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad

N = 1 << 18


def _normal_cdf(t):
    return 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))


def test_normal_draws_follow_the_normal_distribution():
    z = gc.evaluate([gc.RandomStream(3).normal((N,), dtype="float64")], {})[0]
    assert abs(z.mean()) < 5 / math.sqrt(N) and abs(z.std() - 1) < 5 / math.sqrt(2 * N)
    for t in (-2.5, -1.0, -0.3, 0.0, 0.7, 1.5, 3.0):               # the empirical CDF, within 5 sigma
        p = _normal_cdf(t)
        assert abs(np.mean(z <= t) - p) < 5 * math.sqrt(p * (1 - p) / N), t
    assert np.abs(z).max() <= math.sqrt(2 * 24 * math.log(2)) + 1e-12   # 24-bit uniforms bound the tails


def test_uniform_draws_fill_low_to_high():
    u = gc.evaluate([gc.RandomStream(4).uniform((N,), -2.0, 3.0)], {})[0]
    assert u.dtype == np.float32 and u.min() >= -2.0 and u.max() < 3.0
    counts = np.histogram(u, bins=10, range=(-2, 3))[0]
    assert np.all(np.abs(counts - N / 10) < 5 * math.sqrt(N / 10))


def test_mean_and_std_scale_the_standard_draw():
    stream = gc.RandomStream(5)
    mean, std = gc.tensor("mean", (4,), "float64"), gc.scalar("std", "float64")
    draw = stream.normal((3, 4), mean, std)
    standard = gc.ops.random.RandomDraw("normal", draw.op.salt, draw.dtype)
    z = gc.Node.make(standard, [stream.key, draw.inputs[1], gc.constant(0.0), gc.constant(1.0)])
    m, s = np.array([0.0, 1.0, -2.0, 10.0]), 0.25
    got, unit = gc.evaluate([draw, z], {mean: m, std: np.float64(s)})
    np.testing.assert_allclose(got, m + s * unit, rtol=1e-15, atol=1e-15)


def test_shape_from_a_template_with_unknown_batch():
    x = gc.tensor("x", (None, 3), "float64")
    stream = gc.RandomStream(6)
    draw, ints = stream.normal(x), stream.uniform(gc.tensor("labels", (None,), "int64"))
    assert draw.type.shape == (None, 3) and draw.dtype == np.float64 and ints.dtype == np.float32
    assert gc.evaluate([draw], {x: np.zeros((5, 3))})[0].shape == (5, 3)


def test_dtypes_follow_the_nodes_or_the_argument():
    stream = gc.RandomStream(7)
    assert stream.uniform((2,)).dtype == np.float32
    assert stream.normal((2,), gc.scalar("m", "float64")).dtype == np.float64
    assert stream.normal((2,), 0.0, 1.0, dtype="float64").dtype == np.float64


def test_each_call_draws_again_and_a_seed_repeats_the_sequence():
    def calls(seed):
        stream = gc.RandomStream(seed)
        f = gc.function([], [stream.normal((5,)), stream.uniform((5,))], backend="numpy")
        return [f() for _ in range(2)]
    first, again = calls(1), calls(1)
    assert not np.array_equal(first[0][0], first[1][0])            # the key advanced
    assert not np.array_equal(first[0][0], first[0][1])            # two draws, two salts
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_gradients_to_the_parameters_by_finite_differences(kind):
    stream = gc.RandomStream(8)
    draw = getattr(stream, kind)

    def fn(a, b):
        return draw((3, 5), a, b) * draw((3, 5), b, a + 3.0)
    check_grad(fn, [np.linspace(-1, 1, 5), np.array([[0.5], [1.5], [2.0]])])
    check_grad(lambda a, b: draw((1, 5), a, b), [np.array(0.3), np.linspace(1, 2, 5)])   # batch of one


def test_gradients_of_constant_parameters_are_disconnected():
    x = gc.tensor("x", (3,), "float64")
    with pytest.raises(gc.DisconnectedGradientError):
        gc.grad(gc.sum(gc.RandomStream(9).normal(x)), [x])


def test_bad_arguments_are_refused_when_built():
    stream = gc.RandomStream(10)
    with pytest.raises(gc.ShapeError, match=r"RandomStream.normal: shape must be a tuple of sizes .* "
                                            r"pass a node of that shape \(a template\)"):
        stream.normal((None, 3))
    with pytest.raises(gc.ShapeError, match="shape must be a tuple of sizes"):
        stream.uniform((2, -1))
    with pytest.raises(gc.ShapeError, match=r"random_normal: mean \(4,\) does not broadcast to the draw's shape \(3, 5\)"):
        stream.normal((3, 5), gc.tensor("m", (4,)))
    with pytest.raises(gc.ShapeError, match=r"random_uniform: high \(2, 3, 5\) does not broadcast"):
        stream.uniform((3, 5), 0.0, gc.tensor("h", (2, 3, 5)))
    with pytest.raises(gc.DTypeError, match="dtype must be float32 or float64, got int32"):
        stream.uniform((3,), dtype="int32")
    with pytest.raises(gc.DTypeError, match=r"random_normal: std must be float"):
        stream.normal((3,), 0.0, gc.tensor("s", (3,), "int64"))
