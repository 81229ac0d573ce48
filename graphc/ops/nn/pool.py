"""Max and average pooling over the last 1 or 2 (or more) axes, with PyTorch's semantics.

Max pooling pads with -inf; average pooling pads with zeros and divides by the full
kernel size; max pooling's taps may be `dilation` apart. The backward passes are ops of
their own so the backend can lower them as kernels: `MaxPoolGrad` routes each window's
gradient to the window's first maximum (overlapping windows accumulate), `AvgPoolGrad`
spreads it evenly. `MaxPoolGather`, the adjoint of `MaxPoolGrad` in its gradient argument,
reads back the value at each window's maximum, which gives max pooling second derivatives.

The functional API adds PyTorch's ceil_mode (extra high padding, so the last window may
hang over the input's end while starting inside it) and, for average pooling, the
divisors of count_include_pad and ceil_mode (a constant factor per output pixel, fused
into the pooling kernel's store).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape
from ...ir.dtypes import is_float
from ..convert import as_node
from ..elementwise import cast
from ..leaves import constant
from ..shape import zeros_like
from ..tangents import linear, multilinear
from .windows import (
    Padding, add_windows, check_geometry, check_same_shape, crop_spatial, explicit_padding,
    int_tuple, output_shape, pad_spatial, padded_shape, shape_template, window_view,
)


@dataclass(frozen=True)
class _PoolGeometry(Op):
    """Kernel, stride, (lo, hi) padding and dilation per pooled axis; the pooled axes are the
    last ones. A dilation of all ones is stored as () so equal poolings are equal ops."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...] = ()

    #: The pooling this op belongs to ("max_pool" or "avg_pool") and the op's role in it.
    family = ""
    suffix = ""

    def __post_init__(self) -> None:
        if self.dilation and all(d == 1 for d in self.dilation):
            object.__setattr__(self, "dilation", ())

    @property
    def rank(self) -> int:
        return len(self.kernel)

    @property
    def name(self) -> str:
        return f"{self.family}{self.rank}d{self.suffix}"

    @property
    def dilations(self) -> tuple[int, ...]:
        return self.dilation or (1,) * self.rank

    @property
    def extent(self) -> tuple[int, ...]:
        """The span of each window: (kernel - 1) * dilation + 1."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilations))

    def pooled_type(self, x: TensorType) -> TensorType:
        """The type of pooling x, with errors naming this op."""
        op, rank = self.name, self.rank
        check_geometry(op, rank, self.stride, self.padding)
        if not self.kernel or min(self.kernel) < 1:
            raise ShapeError(f"{op}: kernel must hold {rank} ints >= 1, got {self.kernel!r}")
        if len(self.dilations) != rank or min(self.dilations) < 1:
            raise ShapeError(f"{op}: dilation must hold {rank} ints >= 1, got {self.dilation!r}")
        # PyTorch's rule on the padding; the high side may also hold ceil_mode's extension
        for k, s, (lo, hi) in zip(self.kernel, self.stride, self.padding):
            if lo > k // 2 or hi > k // 2 + s - 1:
                raise ShapeError(f"{op}: padding {self.padding} must be at most half the kernel {self.kernel}")
        if x.ndim < rank + 1:
            raise ShapeError(
                f"{op}: the input needs {rank} pooled axes after at least a channel axis, "
                f"got {format_shape(x.shape)}"
            )
        if not is_float(x.dtype):
            raise DTypeError(f"{op}: the input must be float, got {x.dtype}")
        operands = f"input {format_shape(x.shape)}"
        spatial = output_shape(op, x.shape[-rank:], self.extent, self.stride, self.padding, operands)
        return TensorType(x.dtype, x.shape[:-rank] + spatial)

    def check_pooled(self, what: str, got: TensorType, x: TensorType) -> None:
        """`got` must be shaped like the pooling of x."""
        expected = self.pooled_type(x)
        context = f"the {self.family}{self.rank}d output for input {format_shape(x.shape)}"
        check_same_shape(self.name, what, got.shape, expected.shape, context)

    def build(self, op_class: type, *inputs: Node) -> Node:
        """`op_class` with this op's geometry, applied to `inputs`."""
        return Node.make(op_class(self.kernel, self.stride, self.padding, self.dilation), inputs)

    # numpy

    def out_spatial(self, x_shape: Sequence[int]) -> tuple[int, ...]:
        return output_shape(self.name, tuple(x_shape[-self.rank:]), self.extent, self.stride, self.padding, "")

    def windows(self, x: np.ndarray, fill: float) -> np.ndarray:
        """lead + out + kernel view of x's windows (their dilated taps), padded with `fill`."""
        spans = window_view(pad_spatial(x, self.padding, fill), self.extent, self.stride, self.out_spatial(x.shape))
        lead = (slice(None),) * (spans.ndim - self.rank)
        return spans[lead + tuple(slice(None, None, d) for d in self.dilations)]

    def argmax_positions(self, x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
        """For every window, the flat index of its first maximum in x padded and flattened
        (all axes), and the padded shape."""
        out = self.out_spatial(x.shape)
        windows = self.windows(x, -np.inf)
        lead = windows.shape[: x.ndim - self.rank]
        first = windows.reshape(lead + out + (-1,)).argmax(axis=-1)
        offsets = np.unravel_index(first, self.kernel)
        grid = np.indices(out, sparse=True)
        coords = [p * s + k * d for p, s, k, d in zip(grid, self.stride, offsets, self.dilations)]
        padded = padded_shape(x.shape, self.padding)
        plane = int(np.prod(padded[-self.rank:]))
        rows = np.arange(int(np.prod(lead))).reshape(lead + (1,) * self.rank)
        flat = rows * plane + np.ravel_multi_index(tuple(np.broadcast_arrays(*coords)), padded[-self.rank:])
        return flat, padded


@dataclass(frozen=True)
class MaxPool(_PoolGeometry):
    """Maximum over each window (padding counts as -inf)."""

    family = "max_pool"

    def infer_type(self, x: TensorType) -> TensorType:
        return self.pooled_type(x)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return self.windows(x, -np.inf).max(axis=tuple(range(-self.rank, 0)))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [self.build(MaxPoolGrad, node.inputs[0], grad)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        """The tangent at each window's first maximum (where the vjp routes the gradient)."""
        return self.build(MaxPoolGather, node.inputs[0], tangents[0])


@dataclass(frozen=True)
class MaxPoolGrad(_PoolGeometry):
    """(x, gy) -> gx: each window's gradient added at the window's first maximum in x."""

    family = "max_pool"
    suffix = "_grad"

    def infer_type(self, x: TensorType, gy: TensorType) -> TensorType:
        self.check_pooled("the output gradient", gy, x)
        return TensorType(x.dtype, x.shape)

    def reference(self, x: np.ndarray, gy: np.ndarray) -> np.ndarray:
        flat, padded = self.argmax_positions(x)
        summed = np.bincount(flat.ravel(), weights=gy.ravel(), minlength=int(np.prod(padded)))
        return crop_spatial(summed.reshape(padded), self.padding)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, gy = node.inputs
        # the argmax is piecewise constant in x: a zero (not absent) gradient keeps x connected
        return [zeros_like(x), cast(self.build(MaxPoolGather, x, grad), gy.dtype)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, [None, tangents[1]])  # x only picks the positions: piecewise constant


@dataclass(frozen=True)
class MaxPoolGather(_PoolGeometry):
    """(x, g) -> for every window of x, g's value at that window's first maximum.

    The adjoint of MaxPoolGrad in its gradient argument: MaxPoolGrad scatters, this gathers.
    """

    family = "max_pool"
    suffix = "_gather"

    def infer_type(self, x: TensorType, g: TensorType) -> TensorType:
        check_same_shape(self.name, "the gathered tensor", g.shape, x.shape, f"the input {format_shape(x.shape)}")
        return TensorType(g.dtype, self.pooled_type(x).shape)

    def reference(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        flat, _ = self.argmax_positions(x)
        return pad_spatial(g, self.padding).ravel()[flat]

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, g = node.inputs
        return [zeros_like(x), cast(self.build(MaxPoolGrad, x, grad), g.dtype)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, [None, tangents[1]])  # x only picks the positions: piecewise constant


@dataclass(frozen=True)
class AvgPool(_PoolGeometry):
    """Mean over each window, zero padding included in the count (PyTorch's default)."""

    family = "avg_pool"

    def infer_type(self, x: TensorType) -> TensorType:
        return self.pooled_type(x)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return self.windows(x, 0.0).mean(axis=tuple(range(-self.rank, 0)))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [self.build(AvgPoolGrad, grad, node.inputs[0])]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class AvgPoolGrad(_PoolGeometry):
    """(gy, x) -> gx: each window's gradient spread evenly over the window; x is a shape-only template."""

    family = "avg_pool"
    suffix = "_grad"
    shape_only_inputs = (1,)

    def infer_type(self, gy: TensorType, x: TensorType) -> TensorType:
        self.check_pooled("the output gradient", gy, shape_template(x))
        return TensorType(gy.dtype, x.shape)

    def reference(self, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        share = gy / np.prod(self.kernel)
        spread = np.zeros(padded_shape(x.shape, self.padding), gy.dtype)
        add_windows(spread, self.kernel, self.stride, gy.shape[-self.rank:], lambda k: share, self.dilations)
        return crop_spatial(spread, self.padding)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        gy, _ = node.inputs
        return [cast(self.build(AvgPool, grad), gy.dtype), None]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


def _pool(op_class: type, rank: int, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1,
          ceil_mode: bool = False) -> Node:
    x = as_node(x)
    name = f"{op_class.family}{rank}d"
    kernel = int_tuple(name, "kernel_size", kernel_size, rank, 1)
    strides = kernel if stride is None else int_tuple(name, "stride", stride, rank, 1)
    dilations = int_tuple(name, "dilation", dilation, rank, 1)
    pads = explicit_padding(name, padding, rank)
    for k, (lo, hi) in zip(kernel, pads):
        if max(lo, hi) > k // 2:
            raise ShapeError(f"{name}: padding {pads} must be at most half the kernel {kernel}")
    if ceil_mode:
        pads = _ceil_padding(name, x, kernel, strides, pads, dilations)
    return Node.make(op_class(kernel, strides, pads, dilations), [x])


def _ceil_padding(name: str, x: Node, kernel: tuple[int, ...], stride: tuple[int, ...], padding: Padding,
                  dilation: tuple[int, ...]) -> Padding:
    """The padding that gives PyTorch's ceil_mode output sizes: ceil instead of floor, unless
    the last window would start beyond the input and its left padding."""
    if x.ndim <= len(kernel):
        return padding  # the op names the missing axes
    spatial = x.type.shape[-len(kernel):]
    if None in spatial:
        raise ShapeError(f"{name}: ceil_mode needs the pooled sizes known, got input {format_shape(x.type.shape)}")
    pads = []
    for n, k, s, d, (lo, hi) in zip(spatial, kernel, stride, dilation, padding):
        span = (k - 1) * d + 1
        out = -(-(n + lo + hi - span) // s) + 1
        if (out - 1) * s >= n + lo:
            out -= 1
        pads.append((lo, max(hi, (out - 1) * s + span - n - lo)))
    return tuple(pads)


def _avg_divisor_factor(x: Node, pooled: Node, count_include_pad: bool, user_padding: Padding) -> Optional[np.ndarray]:
    """kernel size / PyTorch's divisor per output pixel, or None where that is 1 everywhere.

    PyTorch divides by the window's taps inside the input and its padding (count_include_pad)
    or inside the input alone; taps in ceil_mode's extension never count."""
    op = pooled.op
    spatial = x.type.shape[-op.rank:]
    factors = []
    for n, k, s, (lo, _), (_, hi_user), out in zip(spatial, op.kernel, op.stride, op.padding, user_padding,
                                                   pooled.type.shape[-op.rank:]):
        start = np.arange(out) * s - lo
        if count_include_pad:
            count = np.minimum(start + k, n + hi_user) - start
        else:
            count = np.minimum(start + k, n) - np.maximum(start, 0)
        factors.append(k / count)
    factor = factors[0] if len(factors) == 1 else np.outer(factors[0], factors[1])
    return None if np.all(factor == 1) else factor


def _avg_pool(rank: int, x: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool) -> Node:
    pooled = _pool(AvgPool, rank, x, kernel_size, stride, padding, 1, ceil_mode)
    x = pooled.inputs[0]
    user_padding = explicit_padding(pooled.op.name, padding, rank)
    if pooled.op.padding == user_padding and (count_include_pad or not any(map(any, user_padding))):
        return pooled
    if None in x.type.shape[-rank:]:
        raise ShapeError(f"{pooled.op.name}: count_include_pad=False needs the pooled sizes known, got input "
                         f"{format_shape(x.type.shape)}")
    factor = _avg_divisor_factor(x, pooled, count_include_pad, user_padding)
    return pooled if factor is None else pooled * constant(factor.astype(pooled.dtype))


def max_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Node:
    """Max over windows of the last axis of x (N, C, L); stride defaults to the kernel size.

    `padding` (an int) counts as -inf and may be at most half the kernel, taps are `dilation`
    apart, and `ceil_mode` rounds the output size up, as in PyTorch.
    """
    return _pool(MaxPool, 1, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Node:
    """Max over windows of the last two axes of x (N, C, H, W); stride defaults to the kernel size.

    Each argument is an int or one per axis; padding counts as -inf and may be at most
    half the kernel, taps are `dilation` apart, and `ceil_mode` rounds the output size up
    (the last window starting inside the input or its left padding), as in PyTorch.
    """
    return _pool(MaxPool, 2, x, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Node:
    """Mean over windows of the last axis of x (N, C, L); arguments as avg_pool2d."""
    return _avg_pool(1, x, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Node:
    """Mean over windows of the last two axes of x (N, C, H, W); stride defaults to the kernel
    size. As PyTorch: zero padding counts in the mean unless count_include_pad=False, and
    ceil_mode rounds the output size up (the taps past the padding never count)."""
    return _avg_pool(2, x, kernel_size, stride, padding, ceil_mode, count_include_pad)
