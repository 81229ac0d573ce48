"""gc.jacobian when y's shape is known only when run: forward mode, one jvp per element of
x, checked by finite differences, against the reverse mode on the same graph with static
shapes and through the llvm backend; a clear error when neither shape is known."""
import numpy as np
import pytest

import graphc as gc


def _model(x, b):
    """y of shape (batch, 3) from a (2, 3) parameter x and a batch b."""
    return gc.tanh(b * x[0]) + (x[1] ** 2) * b + gc.sum(x) * 0.5


def _finite_differences(fn, xv, eps=1e-6):
    out = fn(xv)
    jac = np.zeros(out.shape + xv.shape)
    for k in np.ndindex(xv.shape):
        step = np.zeros_like(xv)
        step[k] = eps
        jac[(Ellipsis,) + k] = (fn(xv + step) - fn(xv - step)) / (2 * eps)
    return jac


@pytest.mark.parametrize("batch", [1, 4])
def test_forward_mode_when_the_batch_is_unknown(batch, rng):
    x, b = gc.tensor("x", (2, 3), "float64"), gc.tensor("b", (None, 3), "float64")
    jac = gc.jacobian(_model(x, b), x)
    assert jac.shape == (None, 3, 2, 3)
    xv, bv = rng.standard_normal((2, 3)), rng.standard_normal((batch, 3))
    got = jac.eval({x: xv, b: bv})
    want = _finite_differences(lambda v: _model(gc.constant(v), gc.constant(bv)).eval({}), xv)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-8)
    static = gc.tensor("bs", (batch, 3), "float64")                    # the reverse mode agrees
    np.testing.assert_allclose(got, gc.jacobian(_model(x, static), x).eval({x: xv, static: bv}), rtol=1e-12)
    compiled = gc.function([x, b], jac)(xv, bv)
    np.testing.assert_allclose(compiled, got, rtol=1e-12, atol=1e-14)


def test_scalar_x_and_a_disconnected_output(rng):
    s, b = gc.scalar("s", "float64"), gc.tensor("b", (None,), "float64")
    jac = gc.jacobian(gc.exp(b * s), s)
    assert jac.shape == (None,)
    bv = rng.standard_normal(5)
    np.testing.assert_allclose(jac.eval({s: np.float64(0.3), b: bv}), bv * np.exp(0.3 * bv), rtol=1e-12)
    none = gc.jacobian(b * 2.0, gc.tensor("w", (2,), "float64"))
    np.testing.assert_array_equal(none.eval({b: bv}), np.zeros((5, 2)))


def test_neither_shape_known_says_how_to_fix_it():
    x, b = gc.tensor("x", (None, 3), "float64"), gc.tensor("b", (None, 3), "float64")
    with pytest.raises(gc.ShapeError, match=r"jacobian: y's shape \(\?, 3\) and x's shape \(\?, 3\) are both known "
                                            r"only when run; .*declare one of them: give x a static shape, or "
                                            r"build y from inputs of static shape"):
        gc.jacobian(x * b, x)
    with pytest.raises(gc.ShapeError, match=r"jacobian: x has no elements"):
        gc.jacobian(b * 2.0, gc.tensor("e", (0,), "float64"))
