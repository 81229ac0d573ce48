"""Second-order and vector derivatives: Hessian-vector products, jacobian, hessian."""
import numpy as np
import pytest

import graphc as gc


def _mlp_loss(x, y, w1, b1, w2, b2):
    hidden = gc.tanh(x @ w1 + b1)
    return gc.mean((hidden @ w2 + b2 - y) ** 2)


def test_hessian_vector_product_of_an_mlp_loss_matches_differences_of_its_gradient(rng):
    shapes = {"w1": (3, 5), "b1": (5,), "w2": (5, 2), "b2": (2,)}
    params = [gc.tensor(k, s, "float64") for k, s in shapes.items()]
    x, y = gc.tensor("x", (7, 3), "float64"), gc.tensor("y", (7, 2), "float64")
    loss = _mlp_loss(x, y, *params)
    vectors = [gc.tensor(f"v_{k}", s, "float64") for k, s in shapes.items()]
    hv = gc.hessian_vector_product(loss, params, vectors)
    grads = gc.grad(loss, params)

    data = {x: rng.standard_normal((7, 3)), y: rng.standard_normal((7, 2))}
    theta = {p: rng.standard_normal(p.shape) for p in params}
    direction = {v: rng.standard_normal(v.shape) for v in vectors}
    got = gc.evaluate(hv, {**data, **theta, **direction})

    eps = 1e-5
    step = {p: direction[v] * eps for p, v in zip(params, vectors)}
    up = gc.evaluate(grads, {**data, **{p: theta[p] + step[p] for p in params}})
    down = gc.evaluate(grads, {**data, **{p: theta[p] - step[p] for p in params}})
    for g, u, d in zip(got, up, down):
        np.testing.assert_allclose(g, (u - d) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_hessian_vector_product_of_one_variable(rng):
    x = gc.tensor("x", (4,), "float64")
    a = rng.standard_normal((4, 4))
    cost = 0.5 * (x * (gc.constant(a) @ x)).sum() + gc.exp(x).sum()
    v = rng.standard_normal(4)
    xv = rng.standard_normal(4)
    hv = gc.hessian_vector_product(cost, x, gc.constant(v))
    assert isinstance(hv, gc.Node)
    expected = 0.5 * (a + a.T) @ v + np.exp(xv) * v
    np.testing.assert_allclose(hv.eval({x: xv}), expected, rtol=1e-12)


def test_hessian_vector_product_needs_one_vector_per_variable():
    x, y = gc.tensor("x", (2,), "float64"), gc.tensor("y", (2,), "float64")
    with pytest.raises(ValueError, match="hessian_vector_product: 2 variables but 1 vectors"):
        gc.hessian_vector_product((x * y).sum(), [x, y], [x])


def test_jacobian_of_a_small_function(rng):
    x = gc.tensor("x", (3,), "float64")
    w = rng.standard_normal((4, 3))
    y = gc.tanh(gc.constant(w) @ x).reshape(2, 2)
    jac = gc.jacobian(y, x)
    assert jac.shape == (2, 2, 3)
    xv = rng.standard_normal(3)
    expected = ((1 - np.tanh(w @ xv) ** 2)[:, None] * w).reshape(2, 2, 3)
    np.testing.assert_allclose(jac.eval({x: xv}), expected, rtol=1e-12)


def test_jacobian_of_a_scalar_and_of_a_disconnected_element(rng):
    x = gc.tensor("x", (2, 2), "float64")
    xv = rng.standard_normal((2, 2))
    jac = gc.jacobian((x * x).sum(), x)
    assert jac.shape == (2, 2)
    np.testing.assert_allclose(jac.eval({x: xv}), 2 * xv, rtol=1e-12)
    y = gc.stack([x[0, 0] * 3.0, gc.constant(np.float64(1.0))])
    np.testing.assert_allclose(gc.jacobian(y, x).eval({x: xv}), [[[3.0, 0.0], [0.0, 0.0]], np.zeros((2, 2))])


def test_jacobian_needs_a_known_shape_of_y_or_of_x():
    x = gc.tensor("x", (None,), "float64")
    with pytest.raises(gc.ShapeError, match=r"jacobian: y's shape \(\?,\) and x's shape \(\?,\) are both known "
                                            r"only when run; .* give x a static shape"):
        gc.jacobian(x * 2, x)


def test_hessian_of_a_small_function(rng):
    x = gc.tensor("x", (3,), "float64")
    a = rng.standard_normal((3, 3))
    cost = 0.5 * (x * (gc.constant(a) @ x)).sum() + gc.exp(x).sum() + x[0] * x[1] ** 2
    hess = gc.hessian(cost, x)
    assert hess.shape == (3, 3)
    xv = rng.standard_normal(3)
    expected = 0.5 * (a + a.T) + np.diag(np.exp(xv))
    expected[0, 1] += 2 * xv[1]
    expected[1, 0] += 2 * xv[1]
    expected[1, 1] += 2 * xv[0]
    np.testing.assert_allclose(hess.eval({x: xv}), expected, rtol=1e-12)


def test_hessian_of_a_matrix_variable(rng):
    w = gc.tensor("w", (2, 2), "float64")
    cost = (w ** 3).sum()
    wv = rng.standard_normal((2, 2))
    expected = np.diag((6 * wv).reshape(-1)).reshape(2, 2, 2, 2)
    np.testing.assert_allclose(gc.hessian(cost, w).eval({w: wv}), expected, rtol=1e-12)


def test_jacobian_with_respect_to_an_input_of_unknown_size(rng):
    """y's axes lead and x's (unknown) follow, as for a static x."""
    x = gc.tensor("x", (None,), "float64")
    y = gc.stack([gc.stack([x.sum(), (x * x).sum()]), gc.stack([x.max(), (x ** 3).sum()])])
    jac, of_scalar = gc.jacobian(y, x), gc.jacobian(x.sum(), x)
    assert jac.shape == (2, 2, None) and of_scalar.shape == (None,)
    xv = np.array([1.0, 3.0, 2.0])
    expected = [[np.ones(3), 2 * xv], [[0.0, 1.0, 0.0], 3 * xv ** 2]]
    np.testing.assert_allclose(jac.eval({x: xv}), expected, rtol=1e-12)
    np.testing.assert_allclose(of_scalar.eval({x: xv}), np.ones(3))
    with pytest.raises(gc.ShapeError, match=r"hessian: x's shape must be known .*, got \(\?,\)"):
        gc.hessian((x ** 3).sum(), x)
    with pytest.raises(gc.DTypeError, match="jacobian: y must be float, got int64"):
        gc.jacobian(gc.argmax(gc.tensor("s", (3,), "float64")), x)


def test_hessian_vector_product_refuses_a_vector_that_would_broadcast():
    x = gc.tensor("x", (3,), "float64")
    with pytest.raises(gc.ShapeError, match=r"hessian_vector_product: vector \(1,\) for variable x \(3,\); shapes must be equal"):
        gc.hessian_vector_product((x ** 3).sum(), x, np.ones(1))
    hv = gc.hessian_vector_product((x ** 3).sum(), x, np.ones(3))  # a numpy vector is a constant
    np.testing.assert_allclose(hv.eval({x: np.array([1.0, 3.0, 2.0])}), [6.0, 18.0, 12.0])
