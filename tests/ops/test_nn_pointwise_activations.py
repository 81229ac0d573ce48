"""leaky_relu, elu, gelu, silu, hardswish, hardsigmoid, relu6: values and gradients against
PyTorch (kinks included), finite differences, and compiled float32/float64 code."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")
F = torch.nn.functional

ACTIVATIONS = {
    "leaky_relu": (gc.nn.leaky_relu, F.leaky_relu),
    "leaky_relu_0.2": (lambda x: gc.nn.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "elu": (gc.nn.elu, F.elu),
    "elu_alpha": (lambda x: gc.nn.elu(x, 0.7), lambda x: F.elu(x, 0.7)),
    "gelu": (gc.nn.gelu, F.gelu),
    "gelu_tanh": (lambda x: gc.nn.gelu(x, "tanh"), lambda x: F.gelu(x, approximate="tanh")),
    "silu": (gc.nn.silu, F.silu),
    "hardswish": (gc.nn.hardswish, F.hardswish),
    "hardsigmoid": (gc.nn.hardsigmoid, F.hardsigmoid),
    "relu6": (gc.nn.relu6, F.relu6),
}
#: the kinks of every function above, and values far out where exp overflows
#: PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, even in float64
RTOL = {"hardsigmoid": 1e-7}
KINKS = np.array([-3.0, 0.0, 3.0, 6.0, -800.0, 800.0, -1e-300, 1e-300])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_values_and_gradients_match_torch_including_kinks(rng, name):
    fn, torch_fn = ACTIVATIONS[name]
    x = np.concatenate([rng.uniform(-8, 8, 29), KINKS]).reshape(1, 37)
    match_torch(fn, torch_fn, [x], rtol=RTOL.get(name, 1e-9))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradients_match_finite_differences(rng, name):
    fn, _ = ACTIVATIONS[name]
    x = rng.uniform(-8, 8, (3, 5))
    x[np.abs(np.abs(x) - 3) < 0.01] += 0.1  # keep off the kinks, where differences straddle two slopes
    check_grad(fn, [x])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_compiled_matches_the_reference(rng, name, dtype):
    fn, _ = ACTIVATIONS[name]
    x = gc.tensor("x", (None, 7), dtype)
    y = fn(x)
    assert y.dtype == np.dtype(dtype)
    value = rng.uniform(-8, 8, (5, 7)).astype(dtype)
    value[0, :4] = [-3, 0, 3, 6]
    got = gc.function([x], y)(value)
    want = gc.function([x], y, backend="numpy")(value)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_integer_inputs_are_promoted_to_float():
    x = gc.tensor("x", (3,), "int32")
    assert gc.nn.silu(x).dtype.kind == "f"


def test_gelu_names_the_valid_approximations():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        gc.nn.gelu(gc.tensor("x", (3,)), "fast")
