"""`grad`: its contract (scalar float cost, wrt forms, disconnected inputs, integer
paths) and gradients with respect to inputs, intermediates and shared variables."""
import numpy as np
import pytest

import graphc as gc


@pytest.fixture
def x():
    return gc.tensor("x", (3, 2), "float64")


def test_grad_returns_nodes_and_computes_nothing(x):
    g = gc.grad((x * x).sum(), x)
    assert isinstance(g, gc.Node) and g.shape == (3, 2) and g.dtype == np.float64
    xv = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(g.eval({x: xv}), 2 * xv)


def test_wrt_one_node_or_a_list(x):
    y = gc.tensor("y", (2,), "float64")
    cost = (x * y).sum()
    assert isinstance(gc.grad(cost, x), gc.Node)
    gx, gy = gc.grad(cost, [x, y])
    assert isinstance(gc.grad(cost, [x]), list) and len(gc.grad(cost, (x,))) == 1
    xv, yv = np.arange(6.0).reshape(3, 2), np.array([2.0, -1.0])
    np.testing.assert_allclose(gx.eval({x: xv, y: yv}), np.broadcast_to(yv, (3, 2)))
    np.testing.assert_allclose(gy.eval({x: xv, y: yv}), xv.sum(axis=0))


def test_non_scalar_cost_raises(x):
    with pytest.raises(gc.ShapeError, match=r"grad: the cost must be a scalar, got shape \(3, 2\); sum or mean it first"):
        gc.grad(x * 2, x)


def test_integer_cost_raises():
    n = gc.tensor("n", (3,), "int32")
    with pytest.raises(gc.DTypeError, match="grad: the cost must be float, got int64"):
        gc.grad(n.sum(), n)


def test_wrt_must_be_a_float_node(x):
    n = gc.tensor("n", (3,), "int32")
    with pytest.raises(gc.DTypeError, match="grad: cannot differentiate with respect to <n: i32"):
        gc.grad(x.sum() + n.sum(), n)
    with pytest.raises(TypeError, match="grad: wrt must be nodes, got ndarray"):
        gc.grad(x.sum(), [np.zeros(2)])


def test_wrt_not_in_the_graph_raises(x):
    other = gc.tensor("other", (4,), "float64")
    with pytest.raises(gc.DisconnectedGradientError, match="the cost does not depend on <other: f64\\[4\\]"):
        gc.grad(x.sum(), other)
    with pytest.raises(gc.DisconnectedGradientError, match="pass disconnected='zero' to get zeros"):
        gc.grad(x.sum(), [x, other])


def test_disconnected_zero_and_none(x):
    other = gc.tensor("other", (None, 4), "float32")
    gx, go = gc.grad(x.sum(), [x, other], disconnected="zero")
    assert go.shape == (None, 4) and go.dtype == np.float32
    out = go.eval({other: np.ones((2, 4), np.float32)})
    np.testing.assert_array_equal(out, np.zeros((2, 4), np.float32))
    assert gc.grad(x.sum(), [x, other], disconnected="none")[1] is None


def test_integer_paths_carry_no_gradient(x):
    through_int = gc.cast(gc.cast(x, "int32"), "float64").sum()
    with pytest.raises(gc.DisconnectedGradientError):
        gc.grad(through_int, x)
    xv = np.array([[1.5, -2.0], [0.3, 4.0], [-0.1, 0.0]])
    # the comparison's path is bool and contributes nothing: d/dx [x * (x > 0)] = (x > 0)
    g = gc.grad((x * gc.cast(x > 0, "float64")).sum() + through_int, x)
    np.testing.assert_array_equal(g.eval({x: xv}), (xv > 0).astype(np.float64))
    # argmax is an int: only the sum's path counts
    g = gc.grad(gc.cast(gc.argmax(x), "float64") * x.sum(), x)
    np.testing.assert_array_equal(g.eval({x: xv}), np.full((3, 2), float(np.argmax(xv))))


def test_sign_is_connected_with_a_zero_gradient(x):
    g = gc.grad(gc.sign(x).sum(), x)
    np.testing.assert_array_equal(g.eval({x: np.ones((3, 2))}), np.zeros((3, 2)))


def test_gradient_with_respect_to_the_input_of_a_model(rng):
    """Saliency: d loss / d x for a fixed linear-softplus model, against its closed form."""
    x = gc.tensor("x", (4, 3), "float64")
    w = gc.shared(rng.standard_normal((3, 2)), "w")
    loss = gc.softplus(x @ w).sum()
    gx = gc.grad(loss, x)
    xv = rng.standard_normal((4, 3))
    z = xv @ w.get_value()
    expected = (1 / (1 + np.exp(-z))) @ w.get_value().T
    np.testing.assert_allclose(gx.eval({x: xv}), expected, rtol=1e-12)
    gw = gc.grad(loss, w)
    np.testing.assert_allclose(gw.eval({x: xv}), xv.T @ (1 / (1 + np.exp(-z))), rtol=1e-12)


def test_gradient_with_respect_to_an_intermediate_node(rng):
    x = gc.tensor("x", (3,), "float64")
    h = gc.tanh(x)
    cost = (h * h).sum() + h[0]
    xv = rng.standard_normal(3)
    expected = 2 * np.tanh(xv) + np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(gc.grad(cost, h).eval({x: xv}), expected, rtol=1e-12)


def test_the_cost_itself():
    s = gc.scalar("s", "float64")
    assert gc.grad(s, s).eval({s: 3.0}) == 1.0


def test_repeated_uses_accumulate(rng):
    x = gc.tensor("x", (4,), "float64")
    cost = (x * x * x).sum() + x.sum() * x[1]
    xv = rng.standard_normal(4)
    expected = 3 * xv ** 2 + xv[1] + np.eye(4)[1] * xv.sum()
    np.testing.assert_allclose(gc.grad(cost, x).eval({x: xv}), expected, rtol=1e-12)


def test_grad_of_grad():
    x, y = gc.scalar("x", "float64"), gc.scalar("y", "float64")
    gx = gc.grad(x ** 3 * y ** 2, x)
    feed = {x: 1.5, y: -2.0}
    assert gc.grad(gx, x).eval(feed) == pytest.approx(6 * 1.5 * 4.0)  # d2/dx2 = 6 x y^2
    assert gc.grad(gx, y).eval(feed) == pytest.approx(3 * 1.5 ** 2 * 2 * -2.0)  # d2/dxdy = 6 x^2 y
    third = gc.grad(gc.grad(gx, x), x)
    assert third.eval(feed) == pytest.approx(6 * 4.0)


def test_a_wrt_reached_only_through_integers_is_named_so(x):
    through_int = gc.cast(gc.cast(x, "int32"), "float64").sum()
    with pytest.raises(gc.DisconnectedGradientError,
                       match=r"the cost does not depend on <x: f64\[3,2\] #\d+> through float values "
                             r"\(only through integer or bool ones, which carry no gradient\)"):
        gc.grad(through_int, x)


def test_disconnected_must_be_a_known_choice(x):
    with pytest.raises(ValueError, match="grad: disconnected must be 'raise', 'zero' or 'none', got 'zeros'"):
        gc.grad(x.sum(), gc.tensor("other", (2,)), disconnected="zeros")
