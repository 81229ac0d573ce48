"""Tensors made from static sizes: zeros, ones, full, arange, eye, linspace (numpy's
semantics and dtypes).

zeros, ones and full are a broadcast scalar constant (no storage); arange, eye and
linspace are constants computed by numpy when the graph is built, so every backend and
the simplifier see their values.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, ShapeError
from ..ir.dtypes import as_dtype
from .leaves import constant
from .shape import broadcast_to


def _static_shape(op: str, shape: int | Sequence[int], what: str = "shape") -> tuple[int, ...]:
    """`shape` (an int or a sequence of ints) as a tuple of non-negative ints, or a clear error
    naming `what` it is."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise ShapeError(f"{op}: {what} must be an int or a sequence of ints, got {shape!r}") from None
    for d in dims:
        if not _is_int(d) or d < 0:
            raise ShapeError(f"{op}: {what} {shape!r} must hold non-negative ints (sizes known when built)")
    return tuple(int(d) for d in dims)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _number(op: str, what: str, value: Any) -> Any:
    if isinstance(value, Node) or not isinstance(value, (numbers.Number, np.generic)):
        raise DTypeError(f"{op}: {what} must be a number known when the graph is built, got {value!r}")
    return value


def full(shape: int | Sequence[int], fill_value: Any, dtype: Any = None) -> Node:
    """A tensor of `shape` filled with `fill_value`, as numpy.full (dtype: `fill_value`'s, so a
    Python float gives float64); a broadcast constant, no storage."""
    dims = _static_shape("full", shape)
    value = np.asarray(_number("full", "fill_value", fill_value), dtype=None if dtype is None else as_dtype(dtype))
    return broadcast_to(constant(value, value.dtype), dims)


def zeros(shape: int | Sequence[int], dtype: Any = "float64") -> Node:
    """Zeros of `shape`, as numpy.zeros (float64 by default); a broadcast constant."""
    return full(_static_shape("zeros", shape), 0, dtype)


def ones(shape: int | Sequence[int], dtype: Any = "float64") -> Node:
    """Ones of `shape`, as numpy.ones (float64 by default); a broadcast constant."""
    return full(_static_shape("ones", shape), 1, dtype)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Node:
    """Evenly spaced values in [start, stop), as numpy.arange (ints give int64, floats float64)."""
    if stop is None:
        start, stop = 0, start
    bounds = [_number("arange", name, v) for name, v in (("start", start), ("stop", stop), ("step", step))]
    if step == 0:
        raise ValueError(f"arange: step must not be zero (start={start!r}, stop={stop!r})")
    return constant(np.arange(*bounds, dtype=None if dtype is None else as_dtype(dtype)))


def eye(n: int, m: Optional[int] = None, k: int = 0, dtype: Any = "float64") -> Node:
    """An n x m matrix with ones on diagonal `k` (above the main one for k > 0), as numpy.eye."""
    rows, cols = _static_shape("eye", (n, n if m is None else m), "(n, m)")
    if not _is_int(k):
        raise ShapeError(f"eye: diagonal k must be an int, got {k!r}")
    return constant(np.eye(rows, cols, int(k), dtype=as_dtype(dtype)))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, *, dtype: Any = None) -> Node:
    """`num` evenly spaced values from `start` to `stop` (included when `endpoint`), as
    numpy.linspace (float64 unless `dtype`)."""
    (count,) = _static_shape("linspace", (num,), "num")
    return constant(np.linspace(_number("linspace", "start", start), _number("linspace", "stop", stop), count,
                                endpoint=endpoint, dtype=None if dtype is None else as_dtype(dtype)))


__all__ = ["zeros", "ones", "full", "arange", "eye", "linspace"]
