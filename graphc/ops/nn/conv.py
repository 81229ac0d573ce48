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
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ...ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape, promote
from ...ir.types import Shape
from ...ir.dtypes import is_float
from ..convert import as_node
from ..elementwise import add, cast
from ..shape import broadcast_to, expand_dims
from ..tangents import multilinear
from .windows import (
    Padding, add_windows, check_geometry, check_same_shape, crop_spatial, explicit_padding, int_tuple,
    output_shape, pad_spatial, padded_shape, resolve_padding, shape_template, window_view,
)

_LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_KERNELS = {1: "(Cout, Cin, k)", 2: "(Cout, Cin, kH, kW)", 3: "(Cout, Cin, kD, kH, kW)"}
_TRANSPOSED_KERNELS = {1: "(Cin, Cout/groups, k)", 2: "(Cin, Cout/groups, kH, kW)"}


def _check_layouts(op: str, rank: int, x: TensorType, w: TensorType, kernel: str, groups: Any) -> None:
    """Ranks and dtypes of a convolution's input and weight (laid out as `kernel`), and `groups`."""
    operands = f"input {format_shape(x.shape)}, weight {format_shape(w.shape)}"
    if x.ndim != rank + 2:
        raise ShapeError(f"{op}: the input must be {_LAYOUTS.get(rank, f'(N, C, {rank} spatial axes)')}, got {operands}")
    if w.ndim != rank + 2:
        raise ShapeError(f"{op}: the weight must be {kernel}, got {operands}")
    if not (is_float(x.dtype) and is_float(w.dtype)):
        raise DTypeError(f"{op}: input and weight must be float, got {x.dtype} and {w.dtype}")
    if not isinstance(groups, int) or groups < 1:
        raise ShapeError(f"{op}: groups must be an int >= 1, got {groups!r}")


def check_conv_operands(op: str, rank: int, x: TensorType, w: TensorType, groups: int = 1) -> None:
    """Ranks, dtypes and channel counts of a convolution's input and weight."""
    operands = f"input {format_shape(x.shape)}, weight {format_shape(w.shape)}"
    kernel = _KERNELS.get(rank, f"(Cout, Cin, {rank} kernel axes)")
    if groups > 1:
        kernel = kernel.replace("Cin", "Cin/groups")
    _check_layouts(op, rank, x, w, kernel, groups)
    cin, wcin, cout = x.shape[1], w.shape[1], w.shape[0]
    if cout is not None and cout % groups:
        raise ShapeError(f"{op}: the weight's {cout} output channels do not split into groups={groups} ({operands})")
    if cin is not None and cin % groups:
        raise ShapeError(f"{op}: the input's {cin} channels do not split into groups={groups} ({operands})")
    if cin is not None and wcin is not None and cin != wcin * groups:
        per_group = f" with groups={groups}" if groups > 1 else ""
        raise ShapeError(
            f"{op}: channel mismatch: input {format_shape(x.shape)} has {cin} channels but weight "
            f"{format_shape(w.shape)} expects {wcin * groups} input channels{per_group} (weight is {kernel})"
        )


@dataclass(frozen=True)
class _ConvGeometry(Op):
    """Parameters shared by Conv and its adjoints: stride, (lo, hi) padding, dilation per
    spatial axis and the channel groups. A dilation of all ones is stored as () so equal
    convolutions are equal ops."""

    stride: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...] = ()
    groups: int = 1

    def __post_init__(self) -> None:
        if self.dilation and all(d == 1 for d in self.dilation):
            object.__setattr__(self, "dilation", ())

    @property
    def rank(self) -> int:
        return len(self.stride)

    @property
    def dilations(self) -> tuple[int, ...]:
        return self.dilation or (1,) * self.rank

    def extent(self, kernel: Shape) -> Shape:
        """The span of each window: (kernel - 1) * dilation + 1, None where unknown."""
        return tuple(None if k is None else (k - 1) * d + 1 for k, d in zip(kernel, self.dilations))

    def conv_type(self, x: TensorType, w: TensorType) -> TensorType:
        """The type of Conv(x, w), with errors naming this op."""
        check_geometry(self.name, self.rank, self.stride, self.padding)
        if len(self.dilations) != self.rank or min(self.dilations) < 1:
            raise ShapeError(f"{self.name}: dilation must hold {self.rank} ints >= 1, got {self.dilation!r}")
        check_conv_operands(self.name, self.rank, x, w, self.groups)
        operands = f"input {format_shape(x.shape)}, weight {format_shape(w.shape)}"
        spatial = output_shape(self.name, x.shape[2:], self.extent(w.shape[2:]), self.stride, self.padding, operands)
        return TensorType(promote(x.dtype, w.dtype), (x.shape[0], w.shape[0]) + spatial)

    def check_output_grad(self, gy: TensorType, x: TensorType, w: TensorType) -> None:
        """gy must be shaped like Conv(x, w)'s output."""
        expected = self.conv_type(x, w)
        context = f"the conv{self.rank}d output for input {format_shape(x.shape)} and weight {format_shape(w.shape)}"
        check_same_shape(self.name, "the output gradient", gy.shape, expected.shape, context)
        if not is_float(gy.dtype):
            raise DTypeError(f"{self.name}: the output gradient must be float, got {gy.dtype}")

    def build(self, op_class: type, *inputs: Node) -> Node:
        """`op_class` with this op's geometry, applied to `inputs`."""
        return Node.make(op_class(self.stride, self.padding, self.dilation, self.groups), inputs)

    # numpy: channels are split as (groups, per group) and the groups handled one by one

    def out_spatial(self, x_shape: Sequence[int], w_shape: Sequence[int]) -> tuple[int, ...]:
        return output_shape(self.name, tuple(x_shape[2:]), self.extent(tuple(w_shape[2:])), self.stride,
                            self.padding, "")

    def padded_windows(self, x: np.ndarray, kernel: Sequence[int], out: Sequence[int]) -> np.ndarray:
        """(N, C, *out, *kernel) view of the zero-padded input's windows (their dilated taps)."""
        spans = window_view(pad_spatial(x, self.padding), self.extent(tuple(kernel)), self.stride, out)
        lead = (slice(None),) * (2 + self.rank)
        return spans[lead + tuple(slice(None, None, d) for d in self.dilations)]

    def group(self, a: np.ndarray, g: int, axis: int) -> np.ndarray:
        """Group g's share of `a`'s channels along `axis`."""
        size = a.shape[axis] // self.groups
        return a[(slice(None),) * axis + (slice(g * size, (g + 1) * size),)]

    def per_group(self, axis: int, compute: Callable[[int], np.ndarray]) -> np.ndarray:
        """compute(g) for every group, concatenated along `axis`."""
        return np.concatenate([compute(g) for g in range(self.groups)], axis=axis)

    def spatial_axes(self, start: int) -> list[int]:
        return list(range(start, start + self.rank))


@dataclass(frozen=True)
class Conv(_ConvGeometry):
    """Cross-correlation of x (N, Cin, *spatial) with w (Cout, Cin/groups, *kernel)."""

    @property
    def name(self) -> str:
        return f"conv{self.rank}d"

    def infer_type(self, x: TensorType, w: TensorType) -> TensorType:
        return self.conv_type(x, w)

    def reference(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        out = self.out_spatial(x.shape, w.shape)
        windows = self.padded_windows(x, w.shape[2:], out)  # (N, C, *out, *kernel)
        kernel_axes = self.spatial_axes(2 + self.rank)

        def group(g: int) -> np.ndarray:
            y = np.tensordot(self.group(windows, g, 1), self.group(w, g, 0),
                             axes=([1] + kernel_axes, [1] + self.spatial_axes(2)))
            return np.moveaxis(y, -1, 1)  # (N, *out, Cout/groups) -> (N, Cout/groups, *out)

        return self.per_group(1, group)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, w = node.inputs
        gx = self.build(ConvInputGrad, grad, w, x)
        gw = self.build(ConvWeightGrad, x, grad, w)
        return [cast(gx, x.dtype), cast(gw, w.dtype)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, tangents)


@dataclass(frozen=True)
class ConvInputGrad(_ConvGeometry):
    """Gradient of Conv with respect to its input: (gy, w, x) -> gx shaped like x; also
    the transposed convolution of gy.

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
        dtype = np.result_type(gy, w)

        def group(g: int) -> np.ndarray:
            gy_g, w_g = self.group(gy, g, 1), self.group(w, g, 0)
            gxpad = np.zeros(padded_shape(self.group(x, g, 1).shape, self.padding), dtype)

            def contribution(k: tuple[int, ...]) -> np.ndarray:
                taps = w_g[(slice(None), slice(None)) + k]  # (Cout/groups, Cin/groups)
                return np.moveaxis(np.tensordot(gy_g, taps, axes=([1], [0])), -1, 1)

            return add_windows(gxpad, kernel, self.stride, out, contribution, self.dilations)

        return crop_spatial(self.per_group(1, group), self.padding)

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
        return self.per_group(0, lambda g: np.tensordot(self.group(gy, g, 1), self.group(windows, g, 1),
                                                         axes=(summed, summed)))  # (Cout/groups, Cin/groups, *k)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, gy, _ = node.inputs
        g_x = self.build(ConvInputGrad, gy, grad, x)
        g_gy = self.build(Conv, x, grad)
        return [cast(g_x, x.dtype), cast(g_gy, gy.dtype), None]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, tangents)


def _conv(rank: int, x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any, groups: Any) -> Node:
    """Convolution over the `rank` spatial axes (arguments as conv2d)."""
    x, w = as_node(x), as_node(w)
    op = f"conv{rank}d"
    check_conv_operands(op, rank, x.type, w.type, groups)
    strides = int_tuple(op, "stride", stride, rank, 1)
    dilations = int_tuple(op, "dilation", dilation, rank, 1)
    extent = tuple(None if k is None else (k - 1) * d + 1 for k, d in zip(w.type.shape[2:], dilations))
    pads = resolve_padding(op, padding, extent, strides, x.type.shape[2:])
    y = Node.make(Conv(strides, pads, dilations, groups), [x, w])
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


def conv1d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Node:
    """1-D convolution of x (N, Cin, L) with w (Cout, Cin/groups, k); arguments as conv2d."""
    return _conv(1, x, w, b, stride, padding, dilation, groups)


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Node:
    """2-D convolution (cross-correlation, as PyTorch) of x (N, Cin, H, W) with w (Cout, Cin/groups, kH, kW).

    `b` (Cout,), if given, is added at every position. `stride` and `dilation` (the
    spacing of the kernel's taps): an int or one per axis. `padding`: an int, one int per
    axis (symmetric), one (lo, hi) pair per axis, "valid" (none) or "same". With stride
    1, "same" keeps the size (PyTorch's rule: an odd total puts the extra pixel on the
    high side). With stride > 1, which PyTorch rejects, "same" follows TensorFlow: output
    size ceil(size / stride), padding total max((out - 1) * stride + span - size, 0)
    with span the dilated kernel's extent, the extra pixel again on the high side.
    `groups` splits the channels into that many independent convolutions (groups = Cin
    is a depthwise convolution); Cin and Cout must both divide by it.
    """
    return _conv(2, x, w, b, stride, padding, dilation, groups)


def _conv_transpose(rank: int, x: Any, w: Any, b: Any, stride: Any, padding: Any, output_padding: Any,
                    groups: int, dilation: Any) -> Node:
    """Transposed convolution over the `rank` spatial axes (arguments as conv_transpose2d):
    the input gradient of the convolution it transposes, at that convolution's input size."""
    x, w = as_node(x), as_node(w)
    op = f"conv_transpose{rank}d"
    operands = f"input {format_shape(x.shape)}, weight {format_shape(w.shape)}"
    _check_layouts(op, rank, x.type, w.type, _TRANSPOSED_KERNELS[rank], groups)
    cin, wcin = x.shape[1], w.shape[0]
    if cin is not None and wcin is not None and cin != wcin:
        raise ShapeError(f"{op}: channel mismatch: input {format_shape(x.shape)} has {cin} channels but weight "
                         f"{format_shape(w.shape)} expects {wcin} (weight is (Cin, Cout/groups, *kernel))")
    if wcin is not None and wcin % groups:
        raise ShapeError(f"{op}: the {wcin} input channels do not split into groups={groups} ({operands})")
    strides = int_tuple(op, "stride", stride, rank, 1)
    dilations = int_tuple(op, "dilation", dilation, rank, 1)
    extras = int_tuple(op, "output_padding", output_padding, rank, 0)
    pads = explicit_padding(op, padding, rank)
    if any(e >= s for e, s in zip(extras, strides)):
        raise ShapeError(f"{op}: output_padding {extras} must be smaller than the stride {strides}")
    size: list[Optional[int]] = []
    for n, k, s, d, (lo, hi), e in zip(x.shape[2:], w.shape[2:], strides, dilations, pads, extras):
        size.append(None if n is None or k is None else (n - 1) * s - lo - hi + (k - 1) * d + e + 1)
    if any(n is not None and n < 1 for n in size):
        raise ShapeError(f"{op}: the padding {pads} leaves no output for {operands}")
    if None in size:
        raise ShapeError(f"{op}: the input's spatial sizes and the kernel size must be known before running, "
                         f"got {operands}")
    cout = None if w.shape[1] is None else w.shape[1] * groups
    if cout is None:
        raise ShapeError(f"{op}: the weight's channel count must be known before running, got {operands}")
    corner = x[(slice(None), slice(0, 1)) + (slice(0, 1),) * rank]    # (N, 1, 1, ...): the batch size
    template = broadcast_to(corner, (None, cout) + tuple(size))
    y = Node.make(ConvInputGrad(strides, pads, dilations, groups), [x, w, template])
    return y if b is None else add(y, _bias(op, as_node(b), y))


def conv_transpose1d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Node:
    """1-D transposed convolution of x (N, Cin, L) with w (Cin, Cout/groups, k); arguments as conv_transpose2d."""
    return _conv_transpose(1, x, w, b, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Node:
    """2-D transposed convolution (PyTorch's ConvTranspose2d) of x (N, Cin, H, W) with w
    (Cin, Cout/groups, kH, kW): the gradient of conv2d with respect to its input, so
    conv2d(y, w, stride, padding, dilation, groups) maps the output back to x's shape.

    Output size per axis: (size - 1) * stride - lo - hi + dilation * (kernel - 1) +
    output_padding + 1. `padding`: an int, one per axis or (lo, hi) pairs, cropped from
    the full output. `output_padding` (< stride) adds pixels at the high end, to reach
    the sizes a strided convolution maps to the same output size.
    """
    return _conv_transpose(2, x, w, b, stride, padding, output_padding, groups, dilation)
