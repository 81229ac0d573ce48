"""Converters of ONNX's Resize and Upsample (nearest and linear) as constant resampling
matrices along the spatial axes (see graphc/ops/nn/axis_maps.py)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import Node
from ..ir.types import format_shape
from ..ops.nn.axis_maps import map_spatial
from .registry import NodeView, converter

TRANSFORMS = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def source_coordinates(transform: str, size: int, out: int, scale: float) -> np.ndarray:
    """The input coordinate each output pixel samples (ONNX's coordinate_transformation_mode)."""
    dst = np.arange(out, dtype=np.float64)
    if transform == "align_corners":
        return dst * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    if transform == "asymmetric":
        return dst / scale
    if transform == "pytorch_half_pixel" and out == 1:
        return np.zeros(out)
    offset = 0.0
    if transform == "half_pixel_symmetric":  # centred when out is size * scale rounded down
        offset = size / 2 * (1 - out / (size * scale))
    return offset + (dst + 0.5) / scale - 0.5


def resample_matrix(mode: str, nearest_mode: str, transform: str, size: int, out: int, scale: float) -> np.ndarray:
    """(size, out) weights: column j holds the taps output pixel j takes from the input."""
    src = source_coordinates(transform, size, out, scale)
    m = np.zeros((size, out))
    cols = np.arange(out)
    if mode == "nearest":
        frac = src - np.floor(src)
        rounded = {"floor": np.floor(src), "ceil": np.ceil(src),
                   "round_prefer_floor": np.where(frac == 0.5, np.floor(src), np.round(src)),
                   "round_prefer_ceil": np.where(frac == 0.5, np.ceil(src), np.round(src))}[nearest_mode]
        m[np.clip(rounded, 0, size - 1).astype(np.int64), cols] = 1.0
        return m
    src = np.clip(src, 0, size - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, size - 1)
    weight = src - lo
    np.add.at(m, (lo, cols), 1.0 - weight)
    np.add.at(m, (hi, cols), weight)
    return m


def resample(v: NodeView, x: Node, mode: str, nearest_mode: str, transform: str,
             scales: Optional[list[float]], sizes: Optional[list[int]]) -> Node:
    """x resampled to `sizes` (or by `scales`, output floor(size * scale)) on its last two axes."""
    shape = x.type.shape
    if sizes is None and (scales is None or len(scales) != x.ndim):
        v.fail(f"one scale per axis of {format_shape(shape)} is needed, got {scales}")
    if sizes is not None and len(sizes) != x.ndim:
        v.fail(f"one size per axis of {format_shape(shape)} is needed, got {sizes}")
    matrices = []
    for axis, n in enumerate(shape):
        out = sizes[axis] if sizes is not None else None
        scale = scales[axis] if sizes is None else None
        if n is None:
            if (out is None and scale == 1.0) and axis < x.ndim - 2:
                continue
            v.fail(f"the resized sizes of {format_shape(shape)} must be known")
        out = int(np.floor(n * scale)) if out is None else out
        scale = out / n if scale is None else scale
        if axis < x.ndim - 2:
            if out != n:
                v.fail(f"only the last two axes may be resized, got axis {axis}: {n} -> {out}")
            continue
        matrices.append(resample_matrix(mode, nearest_mode, transform, n, out, scale))
    if not matrices:
        v.fail(f"the input {format_shape(shape)} needs spatial axes to resize")
    return map_spatial(x, matrices)


@converter("Resize", since=10, attributes=(
    "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
    "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy"))
def resize(v: NodeView) -> Node:
    """Opset 10: (X, scales), asymmetric coordinates and floor for nearest; from opset 11:
    (X, roi, scales, sizes) and the coordinate and rounding attributes."""
    x = v.input(0)
    mode = v.choice("mode", "nearest", ("nearest", "linear"))
    if v.opset < 11:
        return resample(v, x, mode, "floor", "asymmetric", _floats(v.static(1, "scales")), None)
    transform = v.choice("coordinate_transformation_mode", "half_pixel", TRANSFORMS)
    nearest_mode = v.choice("nearest_mode", "round_prefer_floor", NEAREST_MODES)
    if v.attr("antialias", 0) or v.attr("exclude_outside", 0):
        v.fail("antialias=1 and exclude_outside=1 are not supported")
    v.choice("keep_aspect_ratio_policy", "stretch", ("stretch",))
    scales = _floats(v.static(2, "scales")) if v.has_input(2) else None
    sizes = v.static_ints(3, "sizes") if v.has_input(3) else None
    axes = v.attr("axes")
    if axes is not None:
        full = list(range(x.ndim))
        picked = [v.axis(a, x.ndim) for a in axes]
        scales = None if scales is None else [dict(zip(picked, scales)).get(a, 1.0) for a in full]
        sizes = None if sizes is None else [dict(zip(picked, sizes)).get(a, x.type.shape[a]) for a in full]
    if not scales:
        scales = None
    if scales is None and sizes is None:
        v.fail("one of scales and sizes is needed")
    return resample(v, x, mode, nearest_mode, transform, scales, sizes)


@converter("Upsample", since=7, attributes=("mode", "scales"))
def upsample(v: NodeView) -> Node:
    """Resize's predecessor: scales an attribute (opset 7-8) or an input (9), asymmetric coordinates."""
    x = v.input(0)
    mode = v.choice("mode", "nearest", ("nearest", "linear", "bilinear"))
    scales = v.attr("scales") if v.opset < 9 else _floats(v.static(1, "scales"))
    return resample(v, x, "nearest" if mode == "nearest" else "linear", "floor", "asymmetric", list(scales), None)


def _floats(values: np.ndarray) -> list[float]:
    return [float(s) for s in values.reshape(-1)]
