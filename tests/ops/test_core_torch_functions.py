"""The elementwise functions graphc shares with PyTorch: values and gradients against
torch (float64, autograd), and gradients by finite differences."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad

torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")

#: graphc function, torch function, sampler of the function's domain (kept off jumps and poles)
SMOOTH = {
    "sin": (gc.sin, torch.sin, lambda rng, n: rng.uniform(-20, 20, n)),
    "cos": (gc.cos, torch.cos, lambda rng, n: rng.uniform(-20, 20, n)),
    "tan": (gc.tan, torch.tan, lambda rng, n: rng.uniform(-1.4, 1.4, n)),
    "erf": (gc.erf, torch.erf, lambda rng, n: rng.uniform(-4, 4, n)),
    "reciprocal": (gc.reciprocal, torch.reciprocal,
                   lambda rng, n: rng.uniform(0.2, 3, n) * rng.choice([-1, 1], n)),
    "rsqrt": (gc.rsqrt, torch.rsqrt, lambda rng, n: rng.uniform(0.2, 5, n)),
    "log2": (gc.log2, torch.log2, lambda rng, n: rng.uniform(0.2, 5, n)),
    "log10": (gc.log10, torch.log10, lambda rng, n: rng.uniform(0.2, 5, n)),
}
STEPS = {"floor": (gc.floor, torch.floor), "ceil": (gc.ceil, torch.ceil), "round": (gc.round, torch.round)}


def _torch_value_and_grad(torch_fn, xv, weights):
    x = torch.tensor(xv, requires_grad=True)
    out = torch_fn(x)
    (out * torch.tensor(weights)).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def _graphc_value_and_grad(fn, xv, weights):
    x = gc.tensor("x", xv.shape, "float64")
    out = fn(x)
    grad = gc.grad(gc.sum(out * gc.constant(weights)), x)
    return out.eval({x: xv}), grad.eval({x: xv})


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_value_and_gradient_match_torch(name):
    fn, torch_fn, sample = SMOOTH[name]
    rng = np.random.default_rng(len(name))
    xv, weights = sample(rng, 64), rng.normal(size=64)
    value, grad = _graphc_value_and_grad(fn, xv, weights)
    want_value, want_grad = _torch_value_and_grad(torch_fn, xv, weights)
    np.testing.assert_allclose(value, want_value, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_gradient_matches_finite_differences(name):
    fn, _, sample = SMOOTH[name]
    check_grad(fn, [sample(np.random.default_rng(1), 12)])


@pytest.mark.parametrize("name", sorted(STEPS))
def test_rounding_values_and_zero_gradients_match_torch(name):
    fn, torch_fn = STEPS[name]
    xv = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.3, -0.7, 3.0])
    weights = np.linspace(1, 2, xv.size)
    value, grad = _graphc_value_and_grad(fn, xv, weights)
    want_value, want_grad = _torch_value_and_grad(torch_fn, xv, weights)
    np.testing.assert_array_equal(value, want_value)
    np.testing.assert_array_equal(grad, want_grad)


def test_predicates_and_xor_match_torch():
    xv = np.array([np.nan, np.inf, -np.inf, 0.0, 1.5])
    x, y = gc.tensor("x", (5,), "float64"), gc.tensor("y", (5,), "float64")
    yv = np.array([0.0, 0.0, 2.0, 0.0, -1.0])
    tx, ty = torch.tensor(xv), torch.tensor(yv)
    np.testing.assert_array_equal(gc.isnan(x).eval({x: xv}), torch.isnan(tx).numpy())
    np.testing.assert_array_equal(gc.isfinite(x).eval({x: xv}), torch.isfinite(tx).numpy())
    np.testing.assert_array_equal(gc.logical_xor(x, y).eval({x: xv, y: yv}), torch.logical_xor(tx, ty).numpy())
