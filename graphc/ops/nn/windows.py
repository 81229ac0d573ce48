"""Sliding-window geometry shared by convolution and pooling.

Parameters are normalised here (ints or tuples, padding as (lo, hi) pairs per spatial
axis, "same"/"valid"), output sizes computed, and the numpy helpers the references use
live here: padding the spatial axes, a strided view of every window, and the adjoint
that adds per-window values back into the padded input.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...ir import ShapeError, TensorType
from ...ir.dtypes import DEFAULT_FLOAT, is_float
from ...ir.types import Shape, format_shape

Padding = tuple[tuple[int, int], ...]


def int_tuple(op: str, what: str, value: Any, rank: int, minimum: int) -> tuple[int, ...]:
    """`value` (an int, or a tuple of `rank` ints) as a tuple of `rank` ints >= `minimum`."""
    items = (value,) * rank if isinstance(value, (int, np.integer)) else value
    if not isinstance(items, (tuple, list)) or len(items) != rank or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise ShapeError(f"{op}: {what} must be an int or a tuple of {rank} ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ShapeError(f"{op}: {what} entries must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def explicit_padding(op: str, padding: Any, rank: int) -> Padding:
    """An int, `rank` ints (symmetric) or `rank` (lo, hi) pairs, as (lo, hi) pairs."""
    if isinstance(padding, (int, np.integer)):
        padding = (padding,) * rank
    if not isinstance(padding, (tuple, list)):
        extra = "; 'same' and 'valid' are for convolutions" if isinstance(padding, str) else ""
        raise ShapeError(f"{op}: padding must be an int, {rank} ints or {rank} (lo, hi) pairs, got {padding!r}{extra}")
    items = tuple(padding)
    if len(items) == rank and all(isinstance(p, (tuple, list)) for p in items):
        pairs = tuple(tuple(p) for p in items)
        if all(len(p) == 2 for p in pairs):
            flat = int_tuple(op, "padding", [v for p in pairs for v in p], 2 * rank, 0)
            return tuple(zip(flat[::2], flat[1::2]))
        raise ShapeError(f"{op}: padding pairs must be (lo, hi), got {padding!r}")
    sym = int_tuple(op, "padding", items, rank, 0)
    return tuple((p, p) for p in sym)


def same_padding(size: Optional[int], kernel: int, stride: int) -> tuple[int, int]:
    """Padding that makes the output size ceil(size / stride), the extra pixel on the high side.

    With stride 1 this is PyTorch's padding="same" (total kernel - 1); with larger strides
    it is TensorFlow's rule, the only common definition there.
    """
    if stride == 1:
        total = kernel - 1
    else:
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def resolve_padding(op: str, padding: Any, kernel: Shape, stride: tuple[int, ...], spatial: Shape) -> Padding:
    """Padding argument of the functional API as (lo, hi) pairs per spatial axis."""
    rank = len(stride)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * rank
        if padding != "same":
            raise ShapeError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
        for k, s, size in zip(kernel, stride, spatial):
            if k is None or (s > 1 and size is None):
                raise ShapeError(
                    f"{op}: padding='same' needs the kernel size{' and input size' if s > 1 else ''} known "
                    f"before running, got kernel {format_shape(kernel)} and input {format_shape(spatial)}"
                )
        return tuple(same_padding(size, k, s) for k, s, size in zip(kernel, stride, spatial))
    return explicit_padding(op, padding, rank)


def check_geometry(op: str, rank: int, stride: tuple[int, ...], padding: Padding) -> None:
    """Validate an op's own parameters (ops can be built without the functional API)."""
    if len(stride) != rank or any(s < 1 for s in stride):
        raise ShapeError(f"{op}: stride must hold {rank} ints >= 1, got {stride!r}")
    if len(padding) != rank or any(len(p) != 2 or min(p) < 0 for p in padding):
        raise ShapeError(f"{op}: padding must hold {rank} (lo, hi) pairs of ints >= 0, got {padding!r}")


def output_shape(
    op: str, spatial: Shape, kernel: Shape, stride: tuple[int, ...], padding: Padding, operands: str
) -> Shape:
    """Spatial output sizes floor((size + lo + hi - kernel) / stride) + 1, None where unknown."""
    out: list[Optional[int]] = []
    for size, k, s, (lo, hi) in zip(spatial, kernel, stride, padding):
        if size is None or k is None:
            out.append(None)
            continue
        if size + lo + hi < k:
            raise ShapeError(
                f"{op}: the kernel {format_shape(kernel)} is larger than the padded input "
                f"{format_shape(tuple(None if n is None else n + a + b for n, (a, b) in zip(spatial, padding)))} "
                f"({operands})"
            )
        out.append((size + lo + hi - k) // s + 1)
    return tuple(out)


def check_same_shape(op: str, what: str, got: Shape, expected: Shape, context: str) -> None:
    """Raise unless `got` agrees with `expected` wherever both are known."""
    if len(got) != len(expected) or any(
        g is not None and e is not None and g != e for g, e in zip(got, expected)
    ):
        raise ShapeError(f"{op}: {what} has shape {format_shape(got)}, expected {format_shape(expected)} ({context})")


def shape_template(t: TensorType) -> TensorType:
    """A shape-only input's type as the geometry checks take it: only its shape is read, so
    any dtype will do (the simplifier may swap in a bool node of the same shape)."""
    return t if is_float(t.dtype) else TensorType(DEFAULT_FLOAT, t.shape)


# numpy helpers for the references: the spatial axes are the last len(padding) axes.

def pad_spatial(x: np.ndarray, padding: Padding, value: float = 0.0) -> np.ndarray:
    """x with its last len(padding) axes padded by (lo, hi) with `value`."""
    widths = ((0, 0),) * (x.ndim - len(padding)) + tuple(padding)
    return np.pad(x, widths, constant_values=np.asarray(value, x.dtype))


def padded_shape(shape: Sequence[int], padding: Padding) -> tuple[int, ...]:
    """The shape pad_spatial gives an array of `shape`."""
    rank = len(padding)
    return tuple(shape[:-rank]) + tuple(n + lo + hi for n, (lo, hi) in zip(shape[-rank:], padding))


def crop_spatial(xpad: np.ndarray, padding: Padding) -> np.ndarray:
    """Undo pad_spatial."""
    lead = (slice(None),) * (xpad.ndim - len(padding))
    spans = tuple(slice(lo, n - hi) for n, (lo, hi) in zip(xpad.shape[-len(padding):], padding))
    return xpad[lead + spans]


def window_view(xpad: np.ndarray, kernel: Sequence[int], stride: Sequence[int], out: Sequence[int]) -> np.ndarray:
    """A read-only view of shape lead + out + kernel: element (..., p, k) is xpad[..., p * stride + k]."""
    rank = len(kernel)
    axes = tuple(range(xpad.ndim - rank, xpad.ndim))
    view = sliding_window_view(xpad, tuple(kernel), axis=axes)
    lead = (slice(None),) * (xpad.ndim - rank)
    return view[lead + tuple(slice(0, s * (p - 1) + 1, s) for s, p in zip(stride, out))]


def add_windows(
    target: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    out: Sequence[int],
    value_at: Callable[[tuple[int, ...]], np.ndarray],
    dilation: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """The adjoint of window_view: add `value_at(k)` (shape lead + out) to
    target[..., p * stride + k * dilation] for every kernel offset k. Loops over kernel
    offsets only, never over pixels."""
    lead = (slice(None),) * (target.ndim - len(kernel))
    dilation = dilation or (1,) * len(kernel)
    for k in np.ndindex(*kernel):
        spans = tuple(slice(ki * d, ki * d + s * (p - 1) + 1, s) for ki, d, s, p in zip(k, dilation, stride, out))
        target[lead + spans] += value_at(k)
    return target
