"""Batch normalisation: per-channel statistics over every other axis; the moments and
per-channel parameters the other normalisations (sample_norm.py) share."""
from __future__ import annotations

from typing import Any

from ...ir import DTypeError, Node, ShapeError, format_shape, normalize_axis
from ...ir.dtypes import is_float
from ..convert import as_node
from ..elementwise import sqrt, square
from ..reduce import mean
from ..shape import broadcast_to, expand_dims, squeeze


def batch_moments(x: Any, axis: int = 1) -> tuple[Node, Node]:
    """Per-channel mean and biased variance of x over every axis except the channel `axis`,
    each of shape (C,): what a layer needs to update its running statistics."""
    x, reduced = float_channels("batch_moments", x, axis)
    m, v = keepdim_moments(x, reduced)
    return squeeze(m, reduced), squeeze(v, reduced)


def batch_norm(
    x: Any,
    gamma: Any,
    beta: Any,
    running_mean: Any = None,
    running_var: Any = None,
    training: bool = True,
    eps: float = 1e-5,
    axis: int = 1,
) -> Node:
    """(x - mean) / sqrt(var + eps) * gamma + beta with per-channel statistics.

    Training uses the batch's mean and biased variance over every axis except `axis`
    (as PyTorch normalises); inference uses `running_mean` and `running_var`. `gamma`
    and `beta` (C,) may be None for no affine transform. Updating the running
    statistics is the caller's job (see `batch_moments`).
    """
    x, reduced = float_channels("batch_norm", x, axis)
    if not training:
        return _running_norm(x, gamma, beta, running_mean, running_var, eps, reduced)
    m, v = keepdim_moments(x, reduced)
    y = (x - broadcast_to(m, x)) / sqrt(v + eps)
    if gamma is not None:
        y = y * per_channel("batch_norm", "gamma", gamma, x, reduced)
    if beta is not None:
        y = y + per_channel("batch_norm", "beta", beta, x, reduced)
    return y


def _running_norm(x: Node, gamma: Any, beta: Any, running_mean: Any, running_var: Any, eps: float,
                  reduced: tuple[int, ...]) -> Node:
    """Inference: x * scale + shift with scale = gamma / sqrt(var + eps) and shift = beta -
    mean * scale computed per channel, so each element costs one multiply-add (fused into
    the convolution before it) instead of a subtraction, a square root and a division."""
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: inference (training=False) needs running_mean and running_var")
    m = per_channel("batch_norm", "running_mean", running_mean, x, reduced)
    scale = 1 / sqrt(per_channel("batch_norm", "running_var", running_var, x, reduced) + eps)
    if gamma is not None:
        scale = scale * per_channel("batch_norm", "gamma", gamma, x, reduced)
    shift = -m * scale
    if beta is not None:
        shift = shift + per_channel("batch_norm", "beta", beta, x, reduced)
    return x * scale + shift


def float_channels(op: str, x: Any, axis: int) -> tuple[Node, tuple[int, ...]]:
    """x as a float node and the axes its statistics reduce over."""
    x = as_node(x)
    if not is_float(x.dtype):
        raise DTypeError(f"{op}: the input must be float, got {x.dtype}")
    if x.ndim < 2:
        raise ShapeError(f"{op}: the input needs a batch and a channel axis, got {format_shape(x.type.shape)}")
    channel = normalize_axis(op, axis, x.ndim)
    return x, tuple(a for a in range(x.ndim) if a != channel)


def keepdim_moments(x: Node, reduced: tuple[int, ...]) -> tuple[Node, Node]:
    """Mean and biased variance over `reduced`, keeping those axes (size 1) to broadcast."""
    m = mean(x, reduced, keepdims=True)
    centred = x - broadcast_to(m, x)
    return m, mean(square(centred), reduced, keepdims=True)


def per_channel(op: str, name: str, value: Any, x: Node, reduced: tuple[int, ...]) -> Node:
    """A (C,) vector shaped to broadcast along x's channel axis."""
    value = as_node(value)
    (channel,) = set(range(x.ndim)) - set(reduced)
    size, expected = value.type.shape, x.type.shape[channel]
    if value.ndim != 1 or (None not in (size[0], expected) and size[0] != expected):
        raise ShapeError(
            f"{op}: {name} must have shape ({'?' if expected is None else expected},) "
            f"(one per channel of input {format_shape(x.type.shape)}), got {format_shape(size)}"
        )
    return expand_dims(value, reduced)
