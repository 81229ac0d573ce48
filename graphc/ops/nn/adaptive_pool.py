"""Adaptive average and max pooling with PyTorch's windows: output i of an axis of
size L pools [floor(i * L / out), ceil((i + 1) * L / out)).

When every pooled size is a multiple of its output size the windows are a regular
pooling (kernel = stride = L / out; output size 1 is global pooling) and run on the
pooling kernels. Otherwise average pooling is a constant linear map per axis
(axis_maps.py, matmul kernels) and max pooling the max over each axis's windows in
turn (a rectangle's max is the max over its rows of the max over its columns).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...ir import Node, ShapeError, format_shape
from ..indexing import slice_axis
from ..reduce import reduce_max
from ..shape import concatenate
from .axis_maps import float_input, map_spatial, spatial_sizes
from .pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d

REGULAR = {("avg", 1): avg_pool1d, ("avg", 2): avg_pool2d, ("max", 1): max_pool1d, ("max", 2): max_pool2d}


def windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows [start, end) of an axis of `size` pooled to `out`."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _output_sizes(op: str, output_size: Any, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """output_size as one int per axis; None keeps the input's size, as PyTorch."""
    rank = len(sizes)
    items = (output_size,) * rank if output_size is None or isinstance(output_size, int) else tuple(output_size)
    if len(items) != rank or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)
                                     for v in items):
        raise ShapeError(f"{op}: output_size must be an int >= 1 (or None) or {rank} of them, got {output_size!r}")
    return tuple(n if v is None else v for n, v in zip(sizes, items))


def _adaptive(kind: str, rank: int, x: Any, output_size: Any) -> Node:
    op = f"adaptive_{kind}_pool{rank}d"
    x = float_input(x)
    sizes = spatial_sizes(op, x, rank)
    outs = _output_sizes(op, output_size, sizes)
    if all(n % o == 0 for n, o in zip(sizes, outs)):
        kernel = tuple(n // o for n, o in zip(sizes, outs))
        return REGULAR[kind, rank](x, kernel) if max(kernel) > 1 else x
    if kind == "avg":
        return map_spatial(x, [_mean_matrix(n, o) for n, o in zip(sizes, outs)])
    for axis, n, o in zip(range(x.ndim - rank, x.ndim), sizes, outs):
        x = concatenate([reduce_max(slice_axis(x, axis, a, b), axis, keepdims=True) for a, b in windows(n, o)], axis)
    return x


def _mean_matrix(size: int, out: int) -> np.ndarray:
    m = np.zeros((size, out))
    for i, (a, b) in enumerate(windows(size, out)):
        m[a:b, i] = 1.0 / (b - a)
    return m


def adaptive_avg_pool1d(x: Any, output_size: Any) -> Node:
    """Mean over PyTorch's adaptive windows of the last axis of x (N, C, L)."""
    return _adaptive("avg", 1, x, output_size)


def adaptive_avg_pool2d(x: Any, output_size: Any) -> Node:
    """Mean over PyTorch's adaptive windows of the last two axes of x (N, C, H, W);
    output_size 1 is global average pooling."""
    return _adaptive("avg", 2, x, output_size)


def adaptive_max_pool1d(x: Any, output_size: Any) -> Node:
    """Max over PyTorch's adaptive windows of the last axis of x (N, C, L)."""
    return _adaptive("max", 1, x, output_size)


def adaptive_max_pool2d(x: Any, output_size: Any) -> Node:
    """Max over PyTorch's adaptive windows of the last two axes of x (N, C, H, W);
    output_size 1 is global max pooling."""
    return _adaptive("max", 2, x, output_size)
