"""Pooling's PyTorch options: max pooling's dilation and ceil_mode, average pooling's
ceil_mode and count_include_pad. Values and gradients against torch at odd shapes, finite
differences, compiled float32/float64 code, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")
F = torch.nn.functional

#: (input shape, kwargs); 2-D cases run through max_pool2d and avg_pool2d (dilation: max only)
CASES_2D = [
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((1, 2, 8, 5), dict(kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), ceil_mode=True)),
    ((2, 1, 5, 7), dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)),
    ((1, 2, 9, 8), dict(kernel_size=3, stride=1, padding=1)),
    ((1, 1, 6, 6), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
]
DILATED = [
    ((2, 2, 9, 7), dict(kernel_size=3, stride=1, dilation=2)),
    ((1, 3, 10, 9), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(3, 2))),
    ((1, 2, 11, 8), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
]
CASES_1D = [
    ((2, 3, 10), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 9), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
]
DILATED_1D = [((2, 2, 13), dict(kernel_size=3, stride=2, padding=1, dilation=3, ceil_mode=True))]


def _cases():
    for shape, kw in CASES_2D + DILATED:
        yield "max_pool2d", shape, kw
    for shape, kw in CASES_2D:
        for include in (True, False):
            yield "avg_pool2d", shape, dict(kw, count_include_pad=include)
    for shape, kw in CASES_1D + DILATED_1D:
        yield "max_pool1d", shape, kw
    for shape, kw in CASES_1D:
        yield "avg_pool1d", shape, dict(kw, count_include_pad=False)


CASES = list(_cases())
IDS = [f"{name}-{shape}-{kw}" for name, shape, kw in CASES]


@pytest.mark.parametrize("name, shape, kw", CASES, ids=IDS)
def test_values_and_gradients_match_torch(rng, name, shape, kw):
    match_torch(lambda x: getattr(gc.nn, name)(x, **kw), lambda x: getattr(F, name)(x, **kw),
                [rng.standard_normal(shape)], shapes=[(None,) + shape[1:]])


@pytest.mark.parametrize("name, shape, kw", CASES, ids=IDS)
def test_gradients_match_finite_differences(rng, name, shape, kw):
    check_grad(lambda x: getattr(gc.nn, name)(x, **kw), [rng.standard_normal(shape)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, shape, kw", CASES, ids=IDS)
def test_compiled_matches_the_reference(rng, name, shape, kw, dtype):
    x = gc.tensor("x", (None,) + shape[1:], dtype)
    y = getattr(gc.nn, name)(x, **kw)
    (g,) = gc.grad(gc.sum(gc.tanh(y) * 3.0), [x])
    outs = [y, g] + (gc.grad(gc.sum(g * g), [x]) if name.startswith("max") else [])
    xv = rng.standard_normal(shape).astype(dtype)
    got = gc.function([x], outs)(xv)
    want = gc.function([x], outs, backend="numpy")(xv)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(got, want):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_plain_options_build_the_plain_op():
    x = gc.tensor("x", (None, 3, 8, 8))
    assert gc.nn.max_pool2d(x, 2, dilation=1, ceil_mode=True).op == gc.nn.max_pool2d(x, 2).op
    assert gc.nn.avg_pool2d(x, 3, 1, 0, count_include_pad=False).op == gc.nn.avg_pool2d(x, 3, 1).op


@pytest.mark.parametrize("build, message", [
    (lambda: gc.nn.max_pool2d(gc.tensor("x", (1, 1, None, 8)), 3, 2, ceil_mode=True),
     r"max_pool2d: ceil_mode needs the pooled sizes known, got input \(1, 1, \?, 8\)"),
    (lambda: gc.nn.avg_pool2d(gc.tensor("x", (1, 1, None, 8)), 3, 2, 1, count_include_pad=False),
     r"avg_pool2d: count_include_pad=False needs the pooled sizes known"),
    (lambda: gc.nn.max_pool2d(gc.tensor("x", (1, 1, 8, 8)), 3, dilation=0), r"max_pool2d: dilation entries must be >= 1"),
    (lambda: gc.nn.avg_pool2d(gc.tensor("x", (8, 8)), 3, ceil_mode=True),
     r"avg_pool2d: the input needs 2 pooled axes after at least a channel axis, got \(8, 8\)"),
    (lambda: gc.nn.max_pool2d(gc.tensor("x", (1, 1, 8, 8)), 2, padding=2),
     r"max_pool2d: padding \(\(2, 2\), \(2, 2\)\) must be at most half the kernel \(2, 2\)"),
    (lambda: gc.nn.max_pool2d(gc.tensor("x", (1, 1, 4, 8)), 3, dilation=2),
     r"max_pool2d: the kernel \(5, 5\) is larger than the padded input \(4, 8\) \(input \(1, 1, 4, 8\)\)"),
])
def test_errors_name_the_op_and_the_shapes(build, message):
    with pytest.raises(gc.ShapeError, match=message):
        build()
