"""d(x ** p)/dp where x == 0: 0 for p >= 0 (the limit; torch's rule), not 0 * log(0) = nan,
in the numpy reference and in native code, after the simplifier too."""
import numpy as np
import pytest

import graphc as gc

X = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.5]
P = [2.0, 0.5, 1.0, 0.0, -1.0, 2.0, 1.5, -0.5]
BACKENDS = ["numpy", "llvm"]


def _torch_dp(x, p):
    torch = pytest.importorskip("torch")
    tx, tp = torch.tensor(x), torch.tensor(p, requires_grad=True)
    (tx ** tp).sum().backward()
    return tp.grad.numpy()


def _expected_dp(x, p):
    with np.errstate(all="ignore"):
        return np.where((x == 0) & (p >= 0), 0.0, x ** p * np.log(x)).astype(x.dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exponent_gradient_at_a_zero_base(backend, dtype):
    x, p = gc.tensor("x", (None,), dtype), gc.tensor("p", (None,), dtype)
    f = gc.function([x, p], gc.grad(gc.sum(x ** p), p), backend=backend)
    xv, pv = np.array(X, dtype), np.array(P, dtype)
    got = f(xv, pv)
    np.testing.assert_allclose(got, _expected_dp(xv, pv), rtol=1e-6)
    assert np.isfinite(got[:4]).all() and got[4] == -np.inf  # 0 ** -1 is inf: torch gives -inf too


def test_matches_torch():
    xv, pv = np.array(X), np.array(P)
    got = gc.function([x := gc.tensor("x", (8,), "float64"), p := gc.tensor("p", (8,), "float64")],
                      gc.grad(gc.sum(x ** p), p), backend="numpy")(xv, pv)
    np.testing.assert_allclose(got, _torch_dp(xv, pv), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_learned_exponent_of_a_relu(backend):
    x = gc.tensor("x", (None,), "float32")
    p = gc.shared(np.float32(1.5), "p")
    f = gc.function([x], gc.grad(gc.sum(gc.relu(x) ** p), p), backend=backend)
    xv = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], np.float32)
    r = np.maximum(xv[3:], 0)
    np.testing.assert_allclose(f(xv), np.sum(r ** 1.5 * np.log(r)), rtol=1e-5)


def test_no_nan_is_made_even_where_the_guard_hides_it():
    x, p = gc.tensor("x", (None,), "float64"), gc.tensor("p", (None,), "float64")
    for simplify in (False, True):
        f = gc.function([x, p], gc.grad(gc.sum(x ** p), p), backend="numpy", simplify=simplify)
        with np.errstate(divide="raise", invalid="raise"):
            np.testing.assert_array_equal(f(np.zeros(3), np.array([0.0, 1.0, 2.0])), 0.0)


def test_a_constant_base_keeps_the_plain_gradient():
    p = gc.tensor("p", (3,), "float64")
    g = gc.simplify(gc.grad(gc.sum(2.0 ** p), p))
    text = gc.pprint(g)
    assert "where" not in text and "==" not in text, text  # the guard folded away
    pv = np.array([0.0, 1.0, -2.0])
    np.testing.assert_allclose(g.eval({p: pv}), 2.0 ** pv * np.log(2.0))
