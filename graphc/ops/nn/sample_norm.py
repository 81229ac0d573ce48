"""Normalisations with per-sample statistics (PyTorch's layer_norm, group_norm,
instance_norm, local_response_norm), as compositions of reductions and elementwise ops.

Statistics are the training-mode ones: mean and biased variance, computed in two passes
(the variance is a mean of squares of centred values, never negative), so a constant
input gives finite values and gradients: (x - mean) / sqrt(var + eps) with var = 0.
Inputs are (N, C, *spatial) with the channel axis second, as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Optional

from ...ir import DTypeError, Node, ShapeError, format_shape
from ...ir.dtypes import is_float
from ..convert import as_node
from ..elementwise import power, sqrt, square
from ..indexing import slice_axis
from ..reduce import mean
from ..padding import pad
from ..shape import broadcast_to, reshape
from .normalization import float_channels, keepdim_moments, per_channel


def _normalise(x: Node, m: Node, v: Node, eps: float) -> Node:
    return (x - broadcast_to(m, x)) / broadcast_to(sqrt(v + eps), x)


def _affine(op: str, y: Node, x: Node, weight: Any, bias: Any, reduced: tuple[int, ...]) -> Node:
    """y * weight + bias with (C,) parameters along x's channel axis (either may be None)."""
    if weight is not None:
        y = y * per_channel(op, "weight", weight, x, reduced)
    if bias is not None:
        y = y + per_channel(op, "bias", bias, x, reduced)
    return y


def _known_channels(op: str, x: Node, what: str) -> int:
    channels = x.type.shape[1]
    if channels is None:
        raise ShapeError(f"{op}: the channel count must be known to {what}, got input {format_shape(x.type.shape)}")
    return channels


def layer_norm(x: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Node:
    """Normalise over the last len(normalized_shape) axes of x (which must have that shape),
    then scale by `weight` and shift by `bias`, both of shape `normalized_shape`."""
    x = as_node(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    trailing = x.type.shape[x.ndim - len(shape):] if len(shape) <= x.ndim else None
    if not shape or trailing is None or any(t is not None and t != s for t, s in zip(trailing, shape)):
        raise ShapeError(f"layer_norm: input {format_shape(x.type.shape)} must end with the normalized shape "
                         f"{format_shape(shape)}")
    if not is_float(x.dtype):
        raise DTypeError(f"layer_norm: the input must be float, got {x.dtype}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = _normalise(x, *keepdim_moments(x, axes), eps)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is None:
            continue
        value = as_node(value)
        if value.type.shape != shape:
            raise ShapeError(f"layer_norm: {name} must have the normalized shape {format_shape(shape)}, "
                             f"got {format_shape(value.type.shape)}")
        y = y * value if name == "weight" else y + value
    return y


def instance_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Node:
    """Normalise each channel of each sample of x (N, C, *spatial) over its spatial axes,
    then scale and shift per channel by `weight` and `bias` (C,)."""
    x, _ = float_channels("instance_norm", x, 1)
    spatial = tuple(range(2, x.ndim))
    if not spatial:
        raise ShapeError(f"instance_norm: the input needs spatial axes after (N, C), got {format_shape(x.type.shape)}")
    y = _normalise(x, *keepdim_moments(x, spatial), eps)
    return _affine("instance_norm", y, x, weight, bias, (0,) + spatial)


def group_norm(x: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Node:
    """Normalise each group of C / num_groups consecutive channels of each sample of x
    (N, C, *spatial), then scale and shift per channel by `weight` and `bias` (C,)."""
    x, _ = float_channels("group_norm", x, 1)
    channels = _known_channels("group_norm", x, "form groups")
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ShapeError(f"group_norm: num_groups must be a positive int dividing the {channels} channels of "
                         f"input {format_shape(x.type.shape)}, got {num_groups!r}")
    spatial = tuple(range(2, x.ndim))

    def group_mean(t: Node) -> Node:
        """The mean of t over each sample's group, shaped (N, C, 1, ...) (equal group sizes,
        so the mean of the channels' means)."""
        by_channel = mean(t, spatial, keepdims=True) if spatial else t
        grouped = reshape(by_channel, (-1, num_groups, channels // num_groups))
        spread = broadcast_to(mean(grouped, 2, keepdims=True), grouped)
        return reshape(spread, (-1, channels) + (1,) * len(spatial))

    m = group_mean(x)
    v = group_mean(square(x - broadcast_to(m, x)))
    return _affine("group_norm", _normalise(x, m, v, eps), x, weight, bias, (0,) + spatial)


def local_response_norm(x: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Node:
    """x / (k + alpha / size * sum of x^2 over `size` neighbouring channels) ** beta, the
    neighbourhood centred (size // 2 before, (size - 1) // 2 after) and zero beyond the edges."""
    x, _ = float_channels("local_response_norm", x, 1)
    if x.ndim < 3:
        raise ShapeError(f"local_response_norm: the input needs (N, C) and at least one more axis, "
                         f"got {format_shape(x.type.shape)}")
    if not isinstance(size, int) or size < 1:
        raise ShapeError(f"local_response_norm: size must be an int >= 1, got {size!r}")
    channels = _known_channels("local_response_norm", x, "sum over neighbours")
    widths = [(0, 0)] * x.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    padded = pad(square(x), widths)
    total: Optional[Node] = None
    for start in range(size):
        window = slice_axis(padded, 1, start, start + channels)
        total = window if total is None else total + window
    return x / power(total * (alpha / size) + k, beta)
