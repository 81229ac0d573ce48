"""gc.pad: numpy.pad's constant, reflect and edge modes.

Constant padding is the `Pad` op (shape.py); reflect and edge padding are slices of x,
flipped or repeated, concatenated around it, so their gradients and compiled code come
from those ops (the edge pixel's gradient sums the copies). Their padded axes need known
sizes (the other axes, a batch axis say, may be unknown).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Node, ShapeError, format_shape
from .convert import as_node
from .indexing import slice_axis
from .shape import Pad, concatenate, flip

Widths = tuple[tuple[int, int], ...]
MODES = ("constant", "reflect", "edge")


def pad(x: Any, pad_width: Any, mode: Any = "constant", constant_values: float = 0.0) -> Node:
    """numpy.pad with `mode` "constant" (filled with `constant_values`), "reflect" (mirrored
    without repeating the edge) or "edge" (the edge repeated). `pad_width` takes numpy's
    forms: an int, a (before, after) pair, or one pair per axis. A number as `mode` is
    constant padding with that value (graphc's earlier form, gc.pad(x, 1, 0.5))."""
    x = as_node(x)
    widths = _widths(x, pad_width)
    if not isinstance(mode, str):
        mode, constant_values = "constant", mode
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if all(b == 0 and a == 0 for b, a in widths):
        return x
    if mode == "constant":
        return Node.make(Pad(widths, float(constant_values)), [x])
    for axis, (before, after) in enumerate(widths):
        if before or after:
            x = _pad_axis(x, axis, before, after, mode)
    return x


def _widths(x: Node, pad_width: Any) -> Widths:
    """numpy's pad_width forms as one (before, after) pair per axis of x."""
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    except (TypeError, ValueError):
        raise ShapeError(
            f"pad: pad_width must be an int, a (before, after) pair or one pair per axis of "
            f"{format_shape(x.type.shape)}, got {pad_width!r}"
        ) from None
    pairs = tuple((int(b), int(a)) for b, a in widths)
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ShapeError(f"pad: widths {pairs} do not fit {format_shape(x.type.shape)}: they must be >= 0")
    return pairs


def _pad_axis(x: Node, axis: int, before: int, after: int, mode: str) -> Node:
    size = x.type.shape[axis]
    if size is None:
        raise ShapeError(f"pad: mode {mode!r} needs the size of padded axis {axis} known, "
                         f"got {format_shape(x.type.shape)}")
    # reflect mirrors x[1:before + 1]; edge repeats x[0]: each needs that many pixels
    needed = max(before, after) + 1 if mode == "reflect" else 1
    if size < needed:
        raise ShapeError(f"pad: mode {mode!r} needs axis {axis} of {format_shape(x.type.shape)} to hold at least "
                         f"{needed} elements for widths ({before}, {after})")
    if mode == "reflect":
        head = flip(slice_axis(x, axis, 1, before + 1), axis) if before else None
        tail = flip(slice_axis(x, axis, -after - 1, -1), axis) if after else None
    else:
        head = concatenate([slice_axis(x, axis, 0, 1)] * before, axis) if before else None
        tail = concatenate([slice_axis(x, axis, -1, None)] * after, axis) if after else None
    return concatenate([part for part in (head, x, tail) if part is not None], axis)
