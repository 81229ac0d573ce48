"""prod, any, all, cumsum and cumprod compiled by the llvm backend against the numpy
reference, in float32, float64 and integers, at odd shapes, with fused producers and
consumers and through their gradients (reverse scans)."""
import numpy as np
import pytest

import graphc as gc

from .graph_check import check, rand

FLOATS = ["float32", "float64"]
SHAPE = (3, 7, 5)


def _values(rng, dtype):
    value = rand(rng, SHAPE, dtype, 0.6, 1.4)
    if np.dtype(dtype).kind == "f":
        value[0, 2, 1] = 0
        value[1, 3, :2] = 0
    return value


@pytest.mark.parametrize("dtype", FLOATS + ["int32", "bool"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), 1])
def test_reductions(dtype, axis, rng):
    x = gc.tensor("x", SHAPE, dtype)
    outs = [gc.prod(x, axis), gc.prod(x, axis, keepdims=True), gc.any(x, axis), gc.all(x, axis, keepdims=True)]
    check([x], outs, [_values(rng, dtype)], simplify=False)


@pytest.mark.parametrize("dtype", FLOATS + ["int64", "bool"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_scans(dtype, axis, rng):
    x = gc.tensor("x", SHAPE, dtype)
    check([x], [gc.cumsum(x, axis), gc.cumprod(x, axis)], [_values(rng, dtype)], simplify=False)


@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_producers_and_consumers(dtype, rng):
    x = gc.tensor("x", SHAPE, dtype)
    outs = [gc.cumsum(gc.exp(x) * 0.5, 1) + 1.0, gc.cast(gc.cumprod(x - 1.0, -1), "float64"),
            gc.sqrt(gc.prod(gc.abs(x) + 0.5, 0))]
    check([x], outs, [_values(rng, dtype)], scale=10)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("build", [lambda x: gc.prod(x, 1), lambda x: gc.cumsum(x, 0), lambda x: gc.cumprod(x, -1),
                                   lambda x: gc.cumprod(x, 1)], ids=["prod", "cumsum", "cumprod_last", "cumprod_mid"])
def test_gradients(dtype, build, rng):
    x = gc.tensor("x", SHAPE, dtype)
    w = gc.tensor("w", build(x).type.shape, dtype)
    g = gc.grad(gc.sum(build(x) * w), [x])[0]
    check([x, w], g, [_values(rng, dtype), rand(rng, w.type.shape, dtype)], scale=10)


@pytest.mark.parametrize("shape", [(0, 4), (4, 0), (1, 1), (6, 1)])
def test_scans_of_empty_and_unit_axes(shape, rng):
    x = gc.tensor("x", shape, "float64")
    check([x], [gc.cumsum(x, 1), gc.cumprod(x, 0), gc.prod(x, 0)], [rand(rng, shape, "float64")], simplify=False)
