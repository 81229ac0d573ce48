"""interpolate: nearest and bilinear resampling with PyTorch's semantics (no
recompute_scale_factor), as constant linear maps per spatial axis (axis_maps.py)."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ...ir import Node, ShapeError, format_shape
from .axis_maps import float_input, map_spatial, spatial_sizes

MODES = {"nearest": (1, 2), "bilinear": (2,)}


def _nearest(size: int, out: int, scale: Optional[float]) -> np.ndarray:
    """PyTorch's nearest source: min(floor(dst * s), size - 1) in float32, s = 1 / scale_factor
    when given, else size / out."""
    s = np.float32(1.0 / scale) if scale is not None else np.float32(size) / np.float32(out)
    src = np.minimum(np.floor(np.arange(out, dtype=np.float32) * s).astype(np.int64), size - 1)
    m = np.zeros((size, out))
    m[src, np.arange(out)] = 1.0
    return m


def _linear(size: int, out: int, scale: Optional[float], align_corners: bool) -> np.ndarray:
    """PyTorch's linear weights: the two neighbours of each output's source coordinate."""
    dst = np.arange(out, dtype=np.float64)
    if align_corners:
        src = dst * ((size - 1) / (out - 1) if out > 1 else 0.0)
    else:
        s = 1.0 / scale if scale is not None else size / out
        src = np.maximum(s * (dst + 0.5) - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    m = np.zeros((size, out))
    np.add.at(m, (lo, np.arange(out)), 1.0 - frac)
    np.add.at(m, (hi, np.arange(out)), frac)
    return m


def _per_axis(name: str, value: Any, rank: int, kinds: tuple[type, ...]) -> tuple:
    """`value` (one, or one per spatial axis) as a tuple of `rank` positive numbers of `kinds`."""
    items = (value,) * rank if isinstance(value, (int, float)) else tuple(value)
    if len(items) != rank or not all(isinstance(v, kinds) and not isinstance(v, bool) and v > 0 for v in items):
        raise ShapeError(f"interpolate: {name} must be a positive {kinds[-1].__name__} or {rank} of them, "
                         f"got {value!r}")
    return items


def interpolate(x: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool = False) -> Node:
    """Resample the spatial axes of x (N, C, L) or (N, C, H, W) to `size`, or by
    `scale_factor` (output size floor(input * factor)), as torch.nn.functional.interpolate:
    "nearest" takes pixel floor(dst * input / output) (floor(dst / scale_factor) when the
    factor is given); "bilinear" (4-D only) weighs the two nearest pixels per axis, at
    half-pixel centres, or corner to corner with `align_corners`. Batch sizes may be unknown."""
    x = float_input(x)
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be 'nearest' or 'bilinear', got {mode!r}")
    rank = x.ndim - 2
    if rank not in MODES[mode]:
        raise ShapeError(f"interpolate: mode {mode!r} takes inputs of {', '.join(str(r + 2) for r in MODES[mode])} "
                         f"axes (N, C and spatial), got {format_shape(x.type.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if align_corners and mode == "nearest":
        raise ValueError("interpolate: align_corners only applies to mode 'bilinear'")
    sizes = spatial_sizes("interpolate", x, rank)
    if scale_factor is not None:
        scales = tuple(float(s) for s in _per_axis("scale_factor", scale_factor, rank, (int, float)))
        outs = tuple(math.floor(n * s) for n, s in zip(sizes, scales))
        if min(outs) < 1:
            raise ShapeError(f"interpolate: scale_factor {scale_factor!r} leaves no pixels of input "
                             f"{format_shape(x.type.shape)}")
    else:
        scales, outs = (None,) * rank, _per_axis("size", size, rank, (int,))
    if mode == "nearest":
        matrices = [_nearest(n, o, s) for n, o, s in zip(sizes, outs, scales)]
    else:
        matrices = [_linear(n, o, None if align_corners else s, align_corners) for n, o, s in zip(sizes, outs, scales)]
    return map_spatial(x, matrices)
