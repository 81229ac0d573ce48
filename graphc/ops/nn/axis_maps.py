"""Linear maps applied along the spatial axes of x, one matrix per axis.

Resampling (interpolate) and adaptive average pooling are separable: each output pixel
is a weighted sum over a rectangle of input pixels whose weights are a product of one
weight per axis. So they are matrix products with constant (input size, output size)
matrices, computed by the matmul kernels, with gradients that are matmuls too.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...ir import Node, ShapeError, format_shape
from ...ir.dtypes import float_of, is_float
from ..convert import as_node
from ..elementwise import cast
from ..leaves import constant


def spatial_sizes(op: str, x: Node, rank: int) -> tuple[int, ...]:
    """The known sizes of x's last `rank` axes, after at least a channel axis; x must be float."""
    if x.ndim < rank + 1:
        raise ShapeError(f"{op}: the input needs {rank} spatial axes after at least a channel axis, "
                         f"got {format_shape(x.type.shape)}")
    sizes = x.type.shape[-rank:]
    if None in sizes:
        raise ShapeError(f"{op}: the spatial sizes must be known, got input {format_shape(x.type.shape)}")
    return tuple(sizes)


def float_input(x: object) -> Node:
    """x as a node, ints and bools cast to float as numpy promotes them."""
    x = as_node(x)
    return x if is_float(x.dtype) else cast(x, float_of(x.dtype))


def map_spatial(x: Node, matrices: Sequence[np.ndarray]) -> Node:
    """x with its last one or two axes mapped by one matrix each (in, out):
    out[..., j] = sum_i x[..., i] * m[i, j] along each axis; identities are skipped."""
    last = x.ndim - 1
    for axis, m in zip(range(x.ndim - len(matrices), x.ndim), matrices):
        if m.shape[0] == m.shape[1] and np.array_equal(m, np.eye(len(m))):
            continue
        if axis == last:
            x = x @ constant(np.asarray(m, x.dtype))
        else:  # the second-to-last axis: m transposed on the left, batched over the leading axes
            x = constant(np.asarray(m.T, x.dtype)) @ x
    return x
