"""Converters of ONNX's reductions and ArgMax/ArgMin."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import ops
from ..ir import Node
from .registry import NodeView, converter

#: ONNX reduction -> (graphc reduction, the opset from which its axes are an input).
REDUCTIONS: dict[str, tuple[Callable[..., Node], int]] = {
    "ReduceSum": (ops.reduce_sum, 13), "ReduceMean": (ops.mean, 18), "ReduceMax": (ops.reduce_max, 18),
    "ReduceMin": (ops.reduce_min, 18), "ReduceProd": (ops.reduce_prod, 18),
}


def _reduce(v: NodeView, fn: Callable[..., Node], axes_input_since: int) -> Node:
    """Over `axes` (all when absent, or none with noop_with_empty_axes), keepdims by default."""
    x = v.input(0)
    axes = v.ints_from("axes", 1, axes_input_since, "axes")
    if not axes:
        if v.attr("noop_with_empty_axes", 0):
            return x
        axes = list(range(x.ndim))
    return fn(x, tuple(sorted(v.axis(a, x.ndim) for a in axes)), keepdims=bool(v.attr("keepdims", 1)))


for _op_type, (_fn, _since) in REDUCTIONS.items():
    converter(_op_type, attributes=("axes", "keepdims", "noop_with_empty_axes"))(
        lambda v, fn=_fn, since=_since: _reduce(v, fn, since))


def _arg_reduce(fn: Callable[..., Node]) -> Callable[[NodeView], Node]:
    """Ties pick the first index, or the last with select_last_index (the first of the
    reversed axis, counted from the end)."""
    def convert(v: NodeView) -> Node:
        x = v.input(0)
        axis = v.axis(v.attr("axis", 0), x.ndim)
        keepdims = bool(v.attr("keepdims", 1))
        if not v.attr("select_last_index", 0):
            return fn(x, axis, keepdims=keepdims)
        size = x.type.shape[axis]
        if size is None:
            v.fail(f"select_last_index=1 needs the size of axis {axis} known, got {x.type.shape}")
        return ops.constant(np.int64(size - 1)) - fn(ops.flip(x, axis), axis, keepdims=keepdims)
    return convert


converter("ArgMax", attributes=("axis", "keepdims", "select_last_index"))(_arg_reduce(ops.argmax))
converter("ArgMin", attributes=("axis", "keepdims", "select_last_index"))(_arg_reduce(ops.argmin))
