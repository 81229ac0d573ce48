"""Converters of ONNX's neural-network operators: convolution, pooling, normalisation,
activations, softmax and dropout, onto gc.nn's functions."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .. import ops
from ..ir import Node
from ..ir.types import format_shape
from ..ops import nn
from .registry import NodeView, converter

Pairs = tuple[tuple[int, int], ...]
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
WINDOW_ATTRIBUTES = ("auto_pad", "kernel_shape", "pads", "strides", "dilations")


def spatial_rank(v: NodeView, x: Node, ranks: tuple[int, ...]) -> int:
    """The number of spatial axes of x (N, C, *spatial), which must be one of `ranks`."""
    rank = x.ndim - 2
    if rank not in ranks:
        v.fail(f"inputs with {', '.join(str(r) for r in ranks)} spatial axes are supported, "
               f"got {format_shape(x.shape)}")
    return rank


def window_geometry(v: NodeView, x: Node, kernel: list[int]) -> tuple[tuple[int, ...], Pairs, tuple[int, ...]]:
    """(strides, (lo, hi) padding per spatial axis, dilations) from the window attributes."""
    rank = len(kernel)
    strides = tuple(v.attr("strides", [1] * rank))
    dilations = tuple(v.attr("dilations", [1] * rank))
    auto_pad = v.choice("auto_pad", "NOTSET", AUTO_PADS)
    if auto_pad == "NOTSET":
        pads = list(v.attr("pads", [0] * (2 * rank)))
        return strides, tuple(zip(pads[:rank], pads[rank:])), dilations
    if auto_pad == "VALID":
        return strides, ((0, 0),) * rank, dilations
    spatial = x.type.shape[2:]
    if None in spatial:
        v.fail(f"auto_pad={auto_pad} needs the spatial sizes known, got input {format_shape(x.shape)}")
    pairs = []
    for n, k, s, d in zip(spatial, kernel, strides, dilations):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small, large = total // 2, total - total // 2
        pairs.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
    return strides, tuple(pairs), dilations


def _require_ones(v: NodeView, name: str, values: tuple[int, ...], why: str) -> None:
    if any(d != 1 for d in values):
        v.fail(f"{name}={list(values)} is not supported ({why})")


@converter("Conv", attributes=WINDOW_ATTRIBUTES + ("group",))
def conv(v: NodeView) -> Node:
    x, w, b = v.input(0), v.input(1), v.optional_input(2)
    rank = spatial_rank(v, x, (1, 2))
    kernel = list(v.attr("kernel_shape", w.type.shape[2:]))
    strides, pads, dilations = window_geometry(v, x, kernel)
    fn = nn.conv1d if rank == 1 else nn.conv2d
    return fn(x, w, b, stride=strides, padding=pads, dilation=dilations, groups=v.attr("group", 1))


@converter("ConvTranspose", attributes=WINDOW_ATTRIBUTES + ("group", "output_padding", "output_shape"))
def conv_transpose(v: NodeView) -> Node:
    """Pads from the attribute, or from `output_shape` / auto_pad SAME_* (output size
    input * stride): the total split as the spec says (SAME_UPPER: the extra pixel at the end)."""
    x, w, b = v.input(0), v.input(1), v.optional_input(2)
    rank = spatial_rank(v, x, (1, 2))
    kernel = list(v.attr("kernel_shape", w.type.shape[2:]))
    strides = tuple(v.attr("strides", [1] * rank))
    dilations = tuple(v.attr("dilations", [1] * rank))
    extra = tuple(v.attr("output_padding", [0] * rank))
    auto_pad = v.choice("auto_pad", "NOTSET", AUTO_PADS)
    spatial = x.type.shape[2:]
    wanted = v.attr("output_shape")
    if wanted is None and auto_pad in ("SAME_UPPER", "SAME_LOWER") and None not in spatial:
        wanted = [n * s for n, s in zip(spatial, strides)]
    if wanted is not None:
        wanted = list(wanted)[-rank:]
        if None in spatial:
            v.fail(f"output_shape needs the input's spatial sizes known, got {format_shape(x.shape)}")
        pairs, grown = [], []
        for n, k, s, d, e, out in zip(spatial, kernel, strides, dilations, extra, wanted):
            total = s * (n - 1) + e + (k - 1) * d + 1 - out
            lo, hi = (total // 2, total - total // 2) if auto_pad == "SAME_UPPER" else (total - total // 2, total // 2)
            if lo < 0:
                v.fail(f"output_shape {wanted} would add pixels before the full output of input "
                       f"{format_shape(x.shape)}")
            pairs.append((lo, max(hi, 0)))
            grown.append(e - min(hi, 0))  # a negative end padding adds pixels at the end, as output_padding
        pads, extra = tuple(pairs), tuple(grown)
    elif auto_pad == "VALID" or "pads" not in v.attributes:
        pads = ((0, 0),) * rank
    else:
        pads = tuple(zip(v.attr("pads")[:rank], v.attr("pads")[rank:]))
    fn = nn.conv_transpose1d if rank == 1 else nn.conv_transpose2d
    return fn(x, w, b, stride=strides, padding=pads, output_padding=extra, groups=v.attr("group", 1),
              dilation=dilations)


def _pool_input(v: NodeView, x: Node, pads: Pairs, kernel: list[int], fill: float) -> tuple[Node, Pairs]:
    """x padded beforehand where the padding exceeds half the kernel (which gc.nn's pools refuse)."""
    if all(max(p) <= k // 2 for p, k in zip(pads, kernel)):
        return x, pads
    if v.attr("ceil_mode", 0):
        v.fail(f"pads {list(pads)} larger than half the kernel {kernel} with ceil_mode=1 are not supported")
    padded = ops.pad(x, ((0, 0), (0, 0)) + pads, constant_values=fill)
    return padded, ((0, 0),) * len(kernel)


def _pool_geometry(v: NodeView) -> tuple[Node, int, list[int], tuple[int, ...], Pairs, tuple[int, ...]]:
    """(input, spatial rank, kernel, strides, padding pairs, dilations) of a pooling node."""
    x = v.input(0)
    rank = spatial_rank(v, x, (1, 2, 3))
    kernel = list(v.attr("kernel_shape"))
    return (x, rank, kernel, *window_geometry(v, x, kernel))


def _axis_by_axis(x: Node, pool1d: Callable[..., Node], kernel: list[int], strides: tuple[int, ...], pads: Pairs,
                  dilations: tuple[int, ...], **options) -> Node:
    """A pooling over several spatial axes as 1-D poolings one axis after the other: exact for
    max (a max of maxes) and for averages (the window is a box, so its divisor, with or
    without the padding, is the product of the axes' divisors). Each axis is moved last and
    the others folded into the batch."""
    for axis, k, s, p, d in zip(range(2, x.ndim), kernel, strides, pads, dilations):
        if (k, s, p, d) == (1, 1, (0, 0), 1):
            continue
        order = [a for a in range(x.ndim) if a != axis] + [axis]
        moved = ops.transpose(x, order)
        lead = moved.type.shape[:-1]
        dilation = {"dilation": d} if pool1d is nn.max_pool1d else {}
        pooled = pool1d(ops.reshape(moved, (-1, 1, moved.type.shape[-1])), k, s, [p], **dilation, **options)
        shape = tuple(-1 if n is None else n for n in lead) + (pooled.type.shape[-1],)
        x = ops.transpose(ops.reshape(pooled, shape), list(np.argsort(order)))
    return x


@converter("MaxPool", attributes=WINDOW_ATTRIBUTES + ("ceil_mode", "storage_order"))
def max_pool(v: NodeView) -> Node:
    x, rank, kernel, strides, pads, dilations = _pool_geometry(v)
    if v.attr("storage_order", 0):
        v.fail("storage_order=1 is not supported (it only changes the Indices output)")
    x, pads = _pool_input(v, x, pads, kernel, -np.inf)
    ceil_mode = bool(v.attr("ceil_mode", 0))
    if rank == 3:
        return _axis_by_axis(x, nn.max_pool1d, kernel, strides, pads, dilations, ceil_mode=ceil_mode)
    fn = nn.max_pool1d if rank == 1 else nn.max_pool2d
    return fn(x, kernel, strides, pads, dilations, ceil_mode=ceil_mode)


@converter("AveragePool", attributes=WINDOW_ATTRIBUTES + ("ceil_mode", "count_include_pad"))
def average_pool(v: NodeView) -> Node:
    x, rank, kernel, strides, pads, dilations = _pool_geometry(v)
    _require_ones(v, "dilations", dilations, "gc.nn's average pools have no dilation")
    include_pad = bool(v.attr("count_include_pad", 0))
    if not include_pad and any(max(p) > k // 2 for p, k in zip(pads, kernel)):
        v.fail(f"pads {list(pads)} larger than half the kernel {kernel} need count_include_pad=1")
    x, pads = _pool_input(v, x, pads, kernel, 0.0)
    options = dict(ceil_mode=bool(v.attr("ceil_mode", 0)), count_include_pad=include_pad)
    if rank == 3:
        return _axis_by_axis(x, nn.avg_pool1d, kernel, strides, pads, dilations, **options)
    fn = nn.avg_pool1d if rank == 1 else nn.avg_pool2d
    return fn(x, kernel, strides, pads, **options)


@converter("GlobalAveragePool")
def global_average_pool(v: NodeView) -> Node:
    x = v.input(0)
    return ops.mean(x, tuple(range(2, x.ndim)), keepdims=True)


@converter("GlobalMaxPool")
def global_max_pool(v: NodeView) -> Node:
    x = v.input(0)
    return ops.reduce_max(x, tuple(range(2, x.ndim)), keepdims=True)


@converter("BatchNormalization", since=7, attributes=("epsilon", "momentum", "spatial", "training_mode"))
def batch_normalization(v: NodeView) -> Node:
    """Inference: the running statistics (training_mode=1 is not supported)."""
    if v.attr("training_mode", 0):
        v.fail("training_mode=1 is not supported (import the inference graph)")
    if v.attr("spatial", 1) != 1:
        v.fail("spatial=0 (statistics per position) is not supported")
    x, scale, bias, mean, var = (v.input(i) for i in range(5))
    return nn.batch_norm(x, scale, bias, mean, var, training=False, eps=v.attr("epsilon", 1e-5))


@converter("InstanceNormalization", attributes=("epsilon",))
def instance_normalization(v: NodeView) -> Node:
    return nn.instance_norm(v.input(0), v.input(1), v.input(2), eps=v.attr("epsilon", 1e-5))


@converter("LayerNormalization", since=17, attributes=("axis", "epsilon", "stash_type"))
def layer_normalization(v: NodeView) -> list[Node]:
    """Normalise over the axes from `axis` on; scale and bias broadcast against them. The
    optional outputs are the mean and 1 / standard deviation, keeping the reduced axes."""
    x, scale, bias = v.input(0), v.input(1), v.optional_input(2)
    axis = v.axis(v.attr("axis", -1), x.ndim)
    normalized = x.type.shape[axis:]
    if None in normalized:
        v.fail(f"the normalised sizes of {format_shape(x.shape)} from axis {axis} must be known")
    eps = v.attr("epsilon", 1e-5)
    y = nn.layer_norm(x, normalized, eps=eps) * scale
    axes = tuple(range(axis, x.ndim))
    inverse_std = ops.rsqrt(ops.var(x, axes, keepdims=True) + ops.constant(eps, x.dtype))
    return [y if bias is None else y + bias, ops.mean(x, axes, keepdims=True), inverse_std]


@converter("LRN", attributes=("alpha", "beta", "bias", "size"))
def lrn(v: NodeView) -> Node:
    """ONNX sums over floor((size - 1) / 2) channels before and ceil((size - 1) / 2) after;
    gc.nn.local_response_norm the other way round, so an even size flips the channels."""
    x, size = v.input(0), v.attr("size")
    args = dict(size=size, alpha=v.attr("alpha", 1e-4), beta=v.attr("beta", 0.75), k=v.attr("bias", 1.0))
    if size % 2:
        return nn.local_response_norm(x, **args)
    return ops.flip(nn.local_response_norm(ops.flip(x, 1), **args), 1)


@converter("Dropout", attributes=("ratio", "seed"))
def dropout(v: NodeView) -> list[Node]:
    """The identity of inference, and a mask of all true; training mode is refused."""
    if v.opset >= 12 and v.has_input(2) and bool(v.static(2, "training_mode")):
        v.fail("training_mode=true is not supported (import the inference graph)")
    x = v.input(0)
    return [x, ops.cast(ops.ones_like(x), "bool")]


ACTIVATIONS: dict[str, tuple[tuple[str, ...], Callable[[NodeView, Node], Node]]] = {
    "Relu": ((), lambda v, x: ops.relu(x)),
    "Sigmoid": ((), lambda v, x: ops.sigmoid(x)),
    "Tanh": ((), lambda v, x: ops.tanh(x)),
    "Softplus": ((), lambda v, x: ops.softplus(x)),
    "LeakyRelu": (("alpha",), lambda v, x: nn.leaky_relu(x, v.attr("alpha", 0.01))),
    "Elu": (("alpha",), lambda v, x: nn.elu(x, v.attr("alpha", 1.0))),
    "HardSigmoid": (("alpha", "beta"), lambda v, x: _hard_sigmoid(x, v.attr("alpha", 0.2), v.attr("beta", 0.5))),
    "HardSwish": ((), lambda v, x: nn.hardswish(x)),
}
for _op_type, (_attributes, _fn) in ACTIVATIONS.items():
    converter(_op_type, attributes=_attributes)(lambda v, fn=_fn: fn(v, v.input(0)))


def _hard_sigmoid(x: Node, alpha: float, beta: float) -> Node:
    """max(0, min(1, alpha * x + beta))."""
    return ops.clip(x * ops.constant(alpha, x.dtype) + ops.constant(beta, x.dtype), 0.0, 1.0)


@converter("PRelu")
def prelu(v: NodeView) -> Node:
    x, slope = v.input(0), v.input(1)
    return ops.where(x > 0, x, x * slope)


@converter("Gelu", since=20, attributes=("approximate",))
def gelu(v: NodeView) -> Node:
    return nn.gelu(v.input(0), v.choice("approximate", "none", ("none", "tanh")))


@converter("Clip", attributes=("min", "max"))
def clip(v: NodeView) -> Node:
    """Bounds are attributes before opset 11 and optional inputs from it on."""
    x = v.input(0)
    if v.opset >= 11:
        lo, hi = v.optional_input(1), v.optional_input(2)
    else:
        lo, hi = (None if v.attr(k) is None else ops.constant(v.attr(k), x.dtype) for k in ("min", "max"))
    if lo is not None:
        x = ops.maximum(x, lo)
    return x if hi is None else ops.minimum(x, hi)


def _softmax_family(fn: Callable[[Node, int], Node]) -> Callable[[NodeView], Node]:
    """Before opset 13 the input is seen as 2-D, (sizes before axis, sizes from axis on), and
    normalised along its second axis; from 13 on along `axis` itself."""
    def convert(v: NodeView) -> Node:
        x = v.input(0)
        if v.opset >= 13:
            return fn(x, v.axis(v.attr("axis", -1), x.ndim))
        axis = v.axis(v.attr("axis", 1), x.ndim)
        if axis == x.ndim - 1:
            return fn(x, -1)
        rest = x.type.shape[axis:]
        if None in rest:
            v.fail(f"the sizes from axis {axis} of {format_shape(x.shape)} must be known")
        flat = ops.reshape(x, (-1, math.prod(rest)))
        return ops.reshape(fn(flat, -1), tuple(-1 if d is None else d for d in x.type.shape[:axis]) + rest)
    return convert


converter("Softmax", attributes=("axis",))(_softmax_family(nn.softmax))
converter("LogSoftmax", attributes=("axis",))(_softmax_family(nn.log_softmax))
