"""The stabilize rules give accurate, finite values where the original forms lose digits,
overflow or underflow, and simplify never turns a stable form back into an unstable one."""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.ir import toposort
from graphc.simplify import simplify

x64 = gc.tensor("x", (3,), "float64")
x32 = gc.tensor("x", (3,), "float32")


def _run(out, value):
    """`out` evaluated with `value` for its one input."""
    (leaf,) = [n for n in toposort([out]) if n in (x32, x64)]
    with np.errstate(all="ignore"):
        return out.eval({leaf: value})


def test_log_one_plus_small_x_keeps_its_digits():
    tiny = np.array([1e-12, -1e-15, 3e-10])
    out = simplify(gc.log(1.0 + x64))
    np.testing.assert_allclose(_run(out, tiny), np.log1p(tiny), rtol=1e-14)
    assert np.max(np.abs(_run(gc.log(1.0 + x64), tiny) / np.log1p(tiny) - 1)) > 1e-6


def test_exp_minus_one_small_x():
    tiny = np.array([1e-12, -1e-15, 3e-10])
    np.testing.assert_allclose(_run(simplify(gc.exp(x64) - 1.0), tiny), np.expm1(tiny), rtol=1e-14)


def test_log_sigmoid_of_very_negative_x_is_finite():
    far = np.array([-200.0, -1e4, 50.0], np.float32)
    assert np.isneginf(_run(gc.log(gc.sigmoid(x32)), far)[0])
    np.testing.assert_allclose(_run(simplify(gc.log(gc.sigmoid(x32))), far), [-200.0, -1e4, -np.log1p(np.exp(-50.0))], rtol=1e-6)
    np.testing.assert_allclose(_run(simplify(gc.log(1.0 - gc.sigmoid(x32))), -far), [-200.0, -1e4, -np.log1p(np.exp(-50.0))], rtol=1e-6)


def test_log_of_exp_of_large_x():
    assert _run(simplify(gc.log(gc.exp(x32))), np.array([1000.0, 89.0, -1e4], np.float32)).tolist() == [1000.0, 89.0, -1e4]
    np.testing.assert_allclose(_run(simplify(gc.log1p(gc.exp(x32))), np.array([1000.0, 0.0, -1e4], np.float32)),
                               [1000.0, np.log(2.0), 0.0], atol=1e-6)


def test_stable_forms_are_kept():
    z = gc.tensor("z", (2, 5))
    for stable in (gc.nn.log_softmax(z, axis=1), gc.softplus(z), gc.log1p(z), gc.logsumexp(z, axis=1)):
        assert simplify(stable) is stable
    y = gc.tensor("y", (2,), "int64")
    loss = simplify(gc.nn.cross_entropy(z, y))
    assert any(n.op.name == "log_softmax" for n in toposort([loss]))
    assert not any(n.op.name in ("log", "softmax") for n in toposort([loss]))


def test_sigmoid_cross_entropy_gradient_is_finite_for_saturated_logits():
    z = gc.tensor("z", (4,))
    t = gc.tensor("t", (4,))
    by_hand = -gc.sum(t * gc.log(gc.sigmoid(z)) + (1.0 - t) * gc.log(1.0 - gc.sigmoid(z)))
    grad = simplify(gc.grad(by_hand, z))
    values = {z: np.array([100.0, -100.0, 3.0, -3.0], np.float32), t: np.array([0.0, 1.0, 1.0, 0.0], np.float32)}
    got = grad.eval(values)
    expected = 1 / (1 + np.exp(-values[z].astype(np.float64))) - values[t]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
