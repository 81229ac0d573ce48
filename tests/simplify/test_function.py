"""`gc.function` simplifies outputs and update values by default; simplify=False runs the
graph as built."""
from __future__ import annotations

import numpy as np

import graphc as gc


def test_function_simplifies_by_default():
    x = gc.tensor("x", (2,), "float64")
    big = np.array([1000.0, -3.0])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(gc.function([x], gc.log(gc.exp(x)))(big), big)
        assert np.isinf(gc.function([x], gc.log(gc.exp(x)), simplify=False)(big)[0])


def test_updates_are_simplified_and_agree_with_the_raw_graph(rng):
    x = gc.tensor("x", (None, 5))
    y = gc.tensor("y", (None,), "int64")
    xs = rng.normal(size=(6, 5)).astype(np.float32)
    ys = rng.integers(0, 3, size=6)
    results = []
    for simplify in (True, False):
        w = gc.shared(np.linspace(-1, 1, 15).reshape(5, 3), "w")
        b = gc.shared(np.zeros(3), "b")
        loss = gc.nn.cross_entropy(x @ w + b, y)
        grads = gc.grad(loss, [w, b])
        step = gc.function([x, y], loss, updates=[(p, p - 0.5 * g) for p, g in zip([w, b], grads)],
                           simplify=simplify)
        losses = [step(xs, ys) for _ in range(3)]
        results.append((losses, w.get_value(), b.get_value()))
    (l1, w1, b1), (l2, w2, b2) = results
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b1, b2, rtol=1e-5, atol=1e-6)
    assert l1[2] < l1[0]
