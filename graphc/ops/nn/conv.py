"""Convolution (cross-correlation, as PyTorch) over 1, 2 or more spatial axes.

`Conv` computes y[n, o, p] = sum over c, k of xpad[n, c, p * stride + k] * w[o, c, k], with
x (N, Cin, *spatial), w (Cout, Cin, *kernel) and xpad x zero-padded by (lo, hi) per
spatial axis. Its two adjoints are ops of their own so the backend can lower each as a
kernel: `ConvInputGrad` (gy, w -> gx) and `ConvWeightGrad` (x, gy -> gw). The three are
bilinear and adjoint to one another, so every one's gradient is written with the others
and derivatives of any order stay within these three ops.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape, promote
from ...ir.dtypes import is_float
from ..convert import as_node
from ..elementwise import add, cast
from ..shape import expand_dims
from ..tangents import multilinear
from .windows import (
    Padding, add_windows, check_geometry, check_same_shape, crop_spatial, int_tuple,
    output_shape, pad_spatial, padded_shape, resolve_padding, shape_template, window_view,
)

_LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_KERNELS = {1: "(Cout, Cin, k)", 2: "(Cout, Cin, kH, kW)", 3: "(Cout, Cin, kD, kH, kW)"}


def check_conv_operands(op: str, rank: int, x: TensorType, w: TensorType) -> None:
    """Ranks, dtypes and channel counts of a convolution's input and weight."""
    operands = f"input {format_shape(x.shape)}, weight {format_shape(w.shape)}"
    layout = _LAYOUTS.get(rank, f"(N, C, {rank} spatial axes)")
    kernel = _KERNELS.get(rank, f"(Cout, Cin, {rank} kernel axes)")
    if x.ndim != rank + 2:
        raise ShapeError(f"{op}: the input must be {layout}, got {operands}")
    if w.ndim != rank + 2:
        raise ShapeError(f"{op}: the weight must be {kernel}, got {operands}")
    if not (is_float(x.dtype) and is_float(w.dtype)):
        raise DTypeError(f"{op}: input and weight must be float, got {x.dtype} and {w.dtype}")
    cin, wcin = x.shape[1], w.shape[1]
    if cin is not None and wcin is not None and cin != wcin:
        raise ShapeError(
            f"{op}: channel mismatch: input {format_shape(x.shape)} has {cin} channels but weight "
            f"{format_shape(w.shape)} expects {wcin} input channels (weight is {kernel})"
        )


@dataclass(frozen=True)
class _ConvGeometry(Op):
    """Parameters shared by Conv and its adjoints: stride and (lo, hi) padding per spatial axis."""

    stride: tuple[int, ...]
    padding: Padding

    @property
    def rank(self) -> int:
        return len(self.stride)

    def conv_type(self, x: TensorType, w: TensorType) -> TensorType:
        """The type of Conv(x, w), with errors naming this op."""
        check_geometry(self.name, self.rank, self.stride, self.padding)
        check_conv_operands(self.name, self.rank, x, w)
        operands = f"input {format_shape(x.shape)}, weight {format_shape(w.shape)}"
        spatial = output_shape(self.name, x.shape[2:], w.shape[2:], self.stride, self.padding, operands)
        return TensorType(promote(x.dtype, w.dtype), (x.shape[0], w.shape[0]) + spatial)

    def check_output_grad(self, gy: TensorType, x: TensorType, w: TensorType) -> None:
        """gy must be shaped like Conv(x, w)'s output."""
        expected = self.conv_type(x, w)
        context = f"the conv{self.rank}d output for input {format_shape(x.shape)} and weight {format_shape(w.shape)}"
        check_same_shape(self.name, "the output gradient", gy.shape, expected.shape, context)
        if not is_float(gy.dtype):
            raise DTypeError(f"{self.name}: the output gradient must be float, got {gy.dtype}")

    def build(self, op_class: type, *inputs: Node) -> Node:
        """`op_class` with this op's stride and padding, applied to `inputs`."""
        return Node.make(op_class(self.stride, self.padding), inputs)

    # numpy

    def out_spatial(self, x_shape: Sequence[int], w_shape: Sequence[int]) -> tuple[int, ...]:
        return output_shape(self.name, tuple(x_shape[2:]), tuple(w_shape[2:]), self.stride, self.padding, "")

    def padded_windows(self, x: np.ndarray, kernel: Sequence[int], out: Sequence[int]) -> np.ndarray:
        """(N, C, *out, *kernel) view of the zero-padded input's windows."""
        return window_view(pad_spatial(x, self.padding), kernel, self.stride, out)

    def spatial_axes(self, start: int) -> list[int]:
        return list(range(start, start + self.rank))


@dataclass(frozen=True)
class Conv(_ConvGeometry):
    """Cross-correlation of x (N, Cin, *spatial) with w (Cout, Cin, *kernel)."""

    @property
    def name(self) -> str:
        return f"conv{self.rank}d"

    def infer_type(self, x: TensorType, w: TensorType) -> TensorType:
        return self.conv_type(x, w)

    def reference(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        out = self.out_spatial(x.shape, w.shape)
        windows = self.padded_windows(x, w.shape[2:], out)  # (N, C, *out, *kernel)
        kernel_axes = self.spatial_axes(2 + self.rank)
        y = np.tensordot(windows, w, axes=([1] + kernel_axes, [1] + self.spatial_axes(2)))
        return np.moveaxis(y, -1, 1)  # (N, *out, Cout) -> (N, Cout, *out)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, w = node.inputs
        gx = self.build(ConvInputGrad, grad, w, x)
        gw = self.build(ConvWeightGrad, x, grad, w)
        return [cast(gx, x.dtype), cast(gw, w.dtype)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, tangents)


@dataclass(frozen=True)
class ConvInputGrad(_ConvGeometry):
    """Gradient of Conv with respect to its input: (gy, w, x) -> gx shaped like x.

    x is a shape-only template: the input size cannot be recovered from gy when the
    stride skips trailing pixels.
    """

    shape_only_inputs = (2,)

    @property
    def name(self) -> str:
        return f"conv{self.rank}d_input_grad"

    def infer_type(self, gy: TensorType, w: TensorType, x: TensorType) -> TensorType:
        self.check_output_grad(gy, shape_template(x), w)
        return TensorType(promote(gy.dtype, w.dtype), x.shape)

    def reference(self, gy: np.ndarray, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        out, kernel = gy.shape[2:], w.shape[2:]
        gxpad = np.zeros(padded_shape(x.shape, self.padding), np.result_type(gy, w))

        def contribution(k: tuple[int, ...]) -> np.ndarray:
            taps = w[(slice(None), slice(None)) + k]  # (Cout, Cin)
            return np.moveaxis(np.tensordot(gy, taps, axes=([1], [0])), -1, 1)

        return crop_spatial(add_windows(gxpad, kernel, self.stride, out, contribution), self.padding)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        gy, w, _ = node.inputs
        g_gy = self.build(Conv, grad, w)
        g_w = self.build(ConvWeightGrad, grad, gy, w)
        return [cast(g_gy, gy.dtype), cast(g_w, w.dtype), None]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, tangents)


@dataclass(frozen=True)
class ConvWeightGrad(_ConvGeometry):
    """Gradient of Conv with respect to its weight: (x, gy, w) -> gw shaped like w.

    w is a shape-only template (its kernel size is not recoverable from x and gy alone).
    """

    shape_only_inputs = (2,)

    @property
    def name(self) -> str:
        return f"conv{self.rank}d_weight_grad"

    def infer_type(self, x: TensorType, gy: TensorType, w: TensorType) -> TensorType:
        self.check_output_grad(gy, x, shape_template(w))
        return TensorType(promote(x.dtype, gy.dtype), w.shape)

    def reference(self, x: np.ndarray, gy: np.ndarray, w: np.ndarray) -> np.ndarray:
        windows = self.padded_windows(x, w.shape[2:], gy.shape[2:])  # (N, C, *out, *kernel)
        summed = [0] + self.spatial_axes(2)
        return np.tensordot(gy, windows, axes=(summed, summed))  # (Cout, Cin, *kernel)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, gy, _ = node.inputs
        g_x = self.build(ConvInputGrad, gy, grad, x)
        g_gy = self.build(Conv, x, grad)
        return [cast(g_x, x.dtype), cast(g_gy, gy.dtype), None]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, tangents)


def _conv(rank: int, x: Any, w: Any, b: Any, stride: Any, padding: Any) -> Node:
    """Convolution over the `rank` spatial axes (arguments as conv2d)."""
    x, w = as_node(x), as_node(w)
    op = f"conv{rank}d"
    check_conv_operands(op, rank, x.type, w.type)
    strides = int_tuple(op, "stride", stride, rank, 1)
    pads = resolve_padding(op, padding, w.type.shape[2:], strides, x.type.shape[2:])
    y = Node.make(Conv(strides, pads), [x, w])
    return y if b is None else add(y, _bias(op, as_node(b), y))


def _bias(op: str, b: Node, y: Node) -> Node:
    """b (Cout,) shaped (1, Cout, 1, ...) to broadcast over y."""
    cout = y.type.shape[1]
    if b.ndim != 1 or (b.type.shape[0] is not None and cout is not None and b.type.shape[0] != cout):
        raise ShapeError(
            f"{op}: the bias must have shape {format_shape((cout,))} (one per output channel), "
            f"got {format_shape(b.type.shape)}"
        )
    return expand_dims(b, (0,) + tuple(range(2, y.ndim)))


def conv1d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0) -> Node:
    """1-D convolution of x (N, Cin, L) with w (Cout, Cin, k); arguments as conv2d."""
    return _conv(1, x, w, b, stride, padding)


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0) -> Node:
    """2-D convolution (cross-correlation, as PyTorch) of x (N, Cin, H, W) with w (Cout, Cin, kH, kW).

    `b` (Cout,), if given, is added at every position. `stride`: an int or one per axis.
    `padding`: an int, one int per axis (symmetric), one (lo, hi) pair per axis,
    "valid" (none) or "same". With stride 1, "same" keeps the size (PyTorch's rule: an
    odd total puts the extra pixel on the high side). With stride > 1, which PyTorch
    rejects, "same" follows TensorFlow: output size ceil(size / stride), padding total
    max((out - 1) * stride + kernel - size, 0), the extra pixel again on the high side.
    """
    return _conv(2, x, w, b, stride, padding)
