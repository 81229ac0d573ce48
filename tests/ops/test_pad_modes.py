"""gc.pad's modes against numpy.pad and torch's F.pad, gradients, compiled code and errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad

WIDTHS = [1, (2, 0), ((0, 1), (3, 2)), ((0, 0), (4, 4))]


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_matches_numpy_pad(rng, mode, width):
    xv = rng.standard_normal((4, 5))
    x = gc.tensor("x", (4, 5), "float64")
    y = gc.pad(x, width, mode)
    np.testing.assert_array_equal(y.eval({x: xv}), np.pad(xv, width, mode))


def test_constant_values_and_the_earlier_positional_form():
    x = gc.tensor("x", (2, 3))
    xv = np.ones((2, 3), "float32")
    want = np.pad(xv, 1, constant_values=2.5)
    np.testing.assert_array_equal(gc.pad(x, 1, constant_values=2.5).eval({x: xv}), want)
    np.testing.assert_array_equal(gc.pad(x, 1, 2.5).eval({x: xv}), want)


@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_gradients_match_finite_differences(rng, mode):
    check_grad(lambda x: gc.pad(x, ((1, 2), (3, 1)), mode), [rng.standard_normal((4, 5))])
    check_grad(lambda x: gc.pad(x, ((0, 0), (2, 1)), mode), [rng.standard_normal((2, 4))], shapes=[(None, 4)])


@pytest.mark.parametrize("mode, torch_mode", [("reflect", "reflect"), ("edge", "replicate")])
def test_values_and_gradients_match_torch(rng, mode, torch_mode):
    torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")
    from torch_match import match_torch

    match_torch(lambda x: gc.pad(x, ((0, 0), (0, 0), (2, 1), (1, 3)), mode),
                lambda x: torch.nn.functional.pad(x, (1, 3, 2, 1), mode=torch_mode), [rng.standard_normal((1, 2, 5, 4))])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_compiled_matches_numpy(rng, mode, dtype):
    x = gc.tensor("x", (None, 3, 6), dtype)
    y = gc.pad(x, ((0, 0), (2, 1), (1, 4)), mode)
    (g,) = gc.grad(gc.sum(y * y), [x])
    xv = rng.standard_normal((2, 3, 6)).astype(dtype)
    got_y, got_g = gc.function([x], [y, g])(xv)
    want_y, want_g = gc.function([x], [y, g], backend="numpy")(xv)
    np.testing.assert_array_equal(got_y, np.pad(xv, ((0, 0), (2, 1), (1, 4)), mode))
    np.testing.assert_allclose(got_g, want_g, rtol=1e-6)


@pytest.mark.parametrize("build, message", [
    (lambda x: gc.pad(x, 3, "reflect"), r"pad: mode 'reflect' needs axis 0 of \(2, 5\) to hold at least 4 elements"),
    (lambda x: gc.pad(gc.tensor("y", (2, None)), ((0, 0), (1, 1)), "edge"),
     r"pad: mode 'edge' needs the size of padded axis 1 known, got \(2, \?\)"),
    (lambda x: gc.pad(x, 1, "wrap"), r"pad: mode must be one of constant, reflect, edge, got 'wrap'"),
    (lambda x: gc.pad(x, ((-1, 0), (0, 0))), r"pad: widths \(\(-1, 0\), \(0, 0\)\) do not fit \(2, 5\)"),
])
def test_errors_name_the_mode_and_the_shape(build, message):
    with pytest.raises((gc.ShapeError, ValueError), match=message):
        build(gc.tensor("x", (2, 5)))
