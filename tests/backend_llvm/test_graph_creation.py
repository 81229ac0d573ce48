"""Tensors from zeros, ones, full, arange, eye and linspace compiled by the llvm backend
with inputs of float32 and float64 at odd shapes, against the numpy reference."""
import pytest

import graphc as gc

from .graph_check import check, rand


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_created_tensors_in_compiled_graphs(dtype, rng):
    x = gc.tensor("x", (3, 5), dtype)
    outs = [
        x * gc.arange(5, dtype=dtype) + gc.eye(3, 5, 1, dtype=dtype),
        x - gc.linspace(-1, 2, 5, dtype=dtype) * gc.full((3, 1), 0.5, dtype),
        gc.zeros((3, 5), dtype) + x, gc.ones((2, 3, 5), dtype) * x,
        gc.cumsum(gc.ones((3, 5), dtype), 1) * x,
    ]
    check([x], outs, [rand(rng, (3, 5), dtype)], simplify=False)
    check([x], outs, [rand(rng, (3, 5), dtype)])
