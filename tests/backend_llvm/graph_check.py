"""Compiling graphs with the llvm backend and comparing with the numpy reference."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import graphc as gc

TOL = {np.dtype("float32"): (2e-5, 2e-6), np.dtype("float64"): (1e-11, 1e-13)}


def assert_close(got: np.ndarray, want: np.ndarray, scale: float = 1.0) -> None:
    """Same dtype and shape; floats within a few ulp (`scale` widens for long sums), others equal."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"dtype {got.dtype}, reference {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape}, reference {want.shape}"
    if want.dtype.kind == "f":
        rtol, atol = TOL[want.dtype]
        magnitude = max(1.0, np.abs(want[np.isfinite(want)]).max(initial=0))
        np.testing.assert_allclose(got, want, rtol=rtol * scale, atol=atol * scale * magnitude)
    else:
        np.testing.assert_array_equal(got, want)


def check(inputs: Sequence[gc.Node], outputs: Any, values: Sequence[Any], scale: float = 1.0,
          simplify: bool = True) -> list[np.ndarray]:
    """Run `outputs` on `values` with both backends and compare; returns the llvm results."""
    ref = gc.function(inputs, outputs, backend="numpy", simplify=simplify)(*values)
    got = gc.function(inputs, outputs, backend="llvm", simplify=simplify)(*values)
    if isinstance(outputs, gc.Node):
        ref, got = [ref], [got]
    for g, r in zip(got, ref):
        assert_close(g, r, scale)
    return got


def rand(rng: np.random.Generator, shape: Sequence[int], dtype: Any = "float32", low: float = -2.0,
         high: float = 2.0) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.uniform(low, high, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(size=shape) < 0.5
    return rng.integers(-5, 6, size=shape).astype(dtype)
