"""interpolate and adaptive pooling: values and gradients against PyTorch at odd shapes,
finite differences, compiled float32/float64 code with unknown batch sizes, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")
F = torch.nn.functional

#: name -> (graphc fn, torch fn, input shape)
CASES = {
    "nearest_size": (lambda x: gc.nn.interpolate(x, (9, 4)), lambda x: F.interpolate(x, (9, 4)), (2, 3, 5, 7)),
    "nearest_scale": (lambda x: gc.nn.interpolate(x, scale_factor=(0.6, 3)),
                      lambda x: F.interpolate(x, scale_factor=(0.6, 3)), (1, 2, 5, 7)),
    "nearest_1d": (lambda x: gc.nn.interpolate(x, scale_factor=1.7), lambda x: F.interpolate(x, scale_factor=1.7),
                   (2, 2, 7)),
    "nearest_x2": (lambda x: gc.nn.interpolate(x, scale_factor=2), lambda x: F.interpolate(x, scale_factor=2),
                   (1, 1, 3, 4)),
    "bilinear_size": (lambda x: gc.nn.interpolate(x, (8, 3), mode="bilinear"),
                      lambda x: F.interpolate(x, (8, 3), mode="bilinear"), (2, 3, 5, 7)),
    "bilinear_scale": (lambda x: gc.nn.interpolate(x, scale_factor=2.5, mode="bilinear"),
                       lambda x: F.interpolate(x, scale_factor=2.5, mode="bilinear"), (1, 2, 3, 4)),
    "bilinear_corners": (lambda x: gc.nn.interpolate(x, (4, 11), mode="bilinear", align_corners=True),
                         lambda x: F.interpolate(x, (4, 11), mode="bilinear", align_corners=True), (2, 1, 5, 7)),
    "bilinear_to_one": (lambda x: gc.nn.interpolate(x, (1, 3), mode="bilinear", align_corners=True),
                        lambda x: F.interpolate(x, (1, 3), mode="bilinear", align_corners=True), (1, 2, 4, 5)),
    "adaptive_avg_uneven": (lambda x: gc.nn.adaptive_avg_pool2d(x, (3, 4)), lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
                            (2, 3, 5, 7)),
    "adaptive_avg_global": (lambda x: gc.nn.adaptive_avg_pool2d(x, 1), lambda x: F.adaptive_avg_pool2d(x, 1),
                            (2, 3, 5, 7)),
    "adaptive_avg_even": (lambda x: gc.nn.adaptive_avg_pool2d(x, (3, 2)), lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
                          (1, 2, 6, 8)),
    "adaptive_avg_grow": (lambda x: gc.nn.adaptive_avg_pool2d(x, (5, 4)), lambda x: F.adaptive_avg_pool2d(x, (5, 4)),
                          (1, 2, 3, 2)),
    "adaptive_avg_1d": (lambda x: gc.nn.adaptive_avg_pool1d(x, 4), lambda x: F.adaptive_avg_pool1d(x, 4), (2, 3, 9)),
    "adaptive_avg_keep": (lambda x: gc.nn.adaptive_avg_pool2d(x, (None, 3)),
                          lambda x: F.adaptive_avg_pool2d(x, (None, 3)), (1, 2, 5, 7)),
    "adaptive_max_uneven": (lambda x: gc.nn.adaptive_max_pool2d(x, (3, 4)), lambda x: F.adaptive_max_pool2d(x, (3, 4)),
                            (2, 3, 5, 7)),
    "adaptive_max_global": (lambda x: gc.nn.adaptive_max_pool2d(x, 1), lambda x: F.adaptive_max_pool2d(x, 1),
                            (1, 3, 5, 7)),
    "adaptive_max_even": (lambda x: gc.nn.adaptive_max_pool2d(x, (2, 4)), lambda x: F.adaptive_max_pool2d(x, (2, 4)),
                          (2, 2, 6, 8)),
    "adaptive_max_grow": (lambda x: gc.nn.adaptive_max_pool2d(x, (5, 3)), lambda x: F.adaptive_max_pool2d(x, (5, 3)),
                          (1, 2, 3, 2)),
    "adaptive_max_1d": (lambda x: gc.nn.adaptive_max_pool1d(x, 4), lambda x: F.adaptive_max_pool1d(x, 4), (2, 3, 10)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(rng, name):
    fn, torch_fn, shape = CASES[name]
    match_torch(fn, torch_fn, [rng.standard_normal(shape)], shapes=[(None,) + shape[1:]])


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(rng, name):
    fn, _, shape = CASES[name]
    check_grad(fn, [rng.standard_normal(shape)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_the_reference(rng, name, dtype):
    fn, _, shape = CASES[name]
    x = gc.tensor("x", (None,) + shape[1:], dtype)
    y = fn(x)
    (g,) = gc.grad(gc.sum(y * y), [x])
    xv = rng.standard_normal(shape).astype(dtype)
    got = gc.function([x], [y, g])(xv)
    want = gc.function([x], [y, g], backend="numpy")(xv)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(got, want):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_even_adaptive_pooling_is_a_regular_pooling():
    x = gc.tensor("x", (None, 3, 6, 8))
    assert type(gc.nn.adaptive_avg_pool2d(x, 1).op).__name__ == "AvgPool"
    assert type(gc.nn.adaptive_max_pool2d(x, (3, 2)).op).__name__ == "MaxPool"


@pytest.mark.parametrize("build, message", [
    (lambda: gc.nn.interpolate(gc.tensor("x", (1, 2, 5)), 4, mode="bilinear"),
     r"interpolate: mode 'bilinear' takes inputs of 4 axes \(N, C and spatial\), got \(1, 2, 5\)"),
    (lambda: gc.nn.interpolate(gc.tensor("x", (1, 2, None, 5)), (3, 3)), r"interpolate: the spatial sizes must be known"),
    (lambda: gc.nn.interpolate(gc.tensor("x", (1, 2, 5, 5))), r"interpolate: give exactly one of size and scale_factor"),
    (lambda: gc.nn.interpolate(gc.tensor("x", (1, 2, 5, 5)), (3, 2.5)), r"interpolate: size must be a positive int"),
    (lambda: gc.nn.interpolate(gc.tensor("x", (1, 2, 5, 5)), scale_factor=0.1),
     r"interpolate: scale_factor 0.1 leaves no pixels of input \(1, 2, 5, 5\)"),
    (lambda: gc.nn.interpolate(gc.tensor("x", (1, 2, 5, 5)), 3, mode="bicubic"), r"interpolate: mode must be"),
    (lambda: gc.nn.adaptive_avg_pool2d(gc.tensor("x", (2, 5)), 3),
     r"adaptive_avg_pool2d: the input needs 2 spatial axes after at least a channel axis, got \(2, 5\)"),
    (lambda: gc.nn.adaptive_max_pool2d(gc.tensor("x", (1, 2, 5, 5)), (3, 0)),
     r"adaptive_max_pool2d: output_size must be an int >= 1 \(or None\) or 2 of them, got \(3, 0\)"),
])
def test_errors_name_the_op_and_the_shapes(build, message):
    with pytest.raises((gc.ShapeError, ValueError), match=message):
        build()
