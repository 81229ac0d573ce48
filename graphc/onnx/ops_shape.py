"""Converters of ONNX's shape and layout operators, constants, Shape and Gather.

Shapes, axes and bounds given as inputs (opset 13 and later for most) must be known when
importing; the importer folds the shape computations that produce them.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import ops
from ..ir import Node
from ..ir.types import format_shape
from ..ops.indexing import slice_axis
from ..ops.nn import one_hot
from .dtypes import to_numpy
from .registry import NodeView, StaticValueError, converter

#: ONNX's "to the end" bounds (INT64_MAX / INT64_MIN or anything this large) mean no bound.
HUGE = 2 ** 31


@converter("Identity")
def identity(v: NodeView) -> Node:
    return v.input(0)


@converter("Constant", attributes=("value", "value_float", "value_floats", "value_int", "value_ints"))
def constant(v: NodeView) -> Node:
    from onnx import numpy_helper

    if len(v.attributes) != 1:
        v.fail(f"exactly one value attribute is expected, got {sorted(v.attributes)}")
    (name, value), = v.attributes.items()
    if name == "value":
        to_numpy(value.data_type, v.description, v.fail)
        return ops.constant(np.array(numpy_helper.to_array(value)))
    dtype = np.float32 if name.startswith("value_float") else np.int64
    return ops.constant(np.asarray(value, dtype=dtype))


@converter("ConstantOfShape", since=9, attributes=("value",))
def constant_of_shape(v: NodeView) -> Node:
    from onnx import numpy_helper

    shape = v.static_ints(0, "shape")
    value = v.attr("value")
    fill = np.zeros(1, np.float32) if value is None else np.array(numpy_helper.to_array(value)).reshape(-1)
    if value is not None:
        to_numpy(value.data_type, v.description, v.fail)
    return ops.constant(np.full(shape, fill[0], dtype=fill.dtype))


@converter("Shape", attributes=("start", "end"))
def shape(v: NodeView) -> Node:
    """The shape (or its [start:end] part, opset 15) as an int64 constant: those sizes must be known."""
    x = v.input(0)
    dims = x.type.shape[slice(v.attr("start", 0), v.attr("end"))]
    if None in dims:
        raise StaticValueError(f"{v.description}: the sizes {format_shape(dims)} of input {format_shape(x.type.shape)} "
                               "must be known when importing (graphc folds shape computations); give the inputs static "
                               "sizes: gc.onnx.load(..., shapes={name: sizes})")
    return ops.constant(np.array(dims, dtype=np.int64))


@converter("Size")
def size(v: NodeView) -> Node:
    dims = v.input(0).type.shape
    if None in dims:
        v.fail(f"the input's shape {format_shape(dims)} must be known when importing")
    return ops.constant(np.int64(np.prod(dims, dtype=np.int64)))


@converter("Reshape", since=5, attributes=("allowzero",))
def reshape(v: NodeView) -> Node:
    x, target = v.input(0), v.static_ints(1, "shape")
    out: list[Optional[int]] = []
    copied = set()
    for i, d in enumerate(target):
        if d == 0 and not v.attr("allowzero", 0):
            if i >= x.ndim:
                v.fail(f"shape entry {i} is 0 (copy the input's size) but the input {format_shape(x.shape)} "
                       f"has {x.ndim} axes")
            d = x.type.shape[i]
            copied.add(i)
        out.append(d)
    if -1 in out and None in out:
        out[out.index(-1)] = _inferred_size(v, x, target, out, copied)
    unknown = [i for i, d in enumerate(out) if d is None]
    if len(unknown) > 1:
        v.fail(f"cannot reshape {format_shape(x.shape)} to {target}: more than one size is unknown when importing")
    return ops.reshape(x, tuple(-1 if d is None else d for d in out))


def _inferred_size(v: NodeView, x: Node, target: list[int], out: list[Optional[int]], copied: set[int]) -> int:
    """The size of Reshape's -1 entry when other entries copy unknown sizes (a zoo file's
    flatten, [0, -1], on a symbolic batch): the unknown sizes cancel when every one is copied,
    leaving the input's other sizes over the target's fixed ones."""
    if any(d is None and i not in copied for i, d in enumerate(x.type.shape)):
        v.fail(f"cannot reshape {format_shape(x.shape)} to {target}: the size of its -1 entry depends on sizes "
               "unknown when importing")
    rest = int(np.prod([d for i, d in enumerate(x.type.shape) if i not in copied], dtype=np.int64))
    fixed = int(np.prod([d for i, d in enumerate(out) if i not in copied and d != -1], dtype=np.int64))
    if fixed == 0 or rest % fixed:
        v.fail(f"cannot reshape {format_shape(x.shape)} to {target}: {rest} elements per copied index do not "
               f"divide into {fixed}")
    return rest // fixed


@converter("Flatten", attributes=("axis",))
def flatten(v: NodeView) -> Node:
    """(product of the sizes before axis, product of the rest)."""
    x = v.input(0)
    axis = v.attr("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    lead, rest = x.type.shape[:axis], x.type.shape[axis:]
    sizes = [None if None in part else int(np.prod(part, dtype=np.int64)) for part in (lead, rest)]
    if sizes.count(None) > 1:
        v.fail(f"cannot flatten {format_shape(x.shape)} at axis {axis}: sizes on both sides are unknown")
    return ops.reshape(x, tuple(-1 if s is None else s for s in sizes))


@converter("Transpose", attributes=("perm",))
def transpose(v: NodeView) -> Node:
    perm = v.attr("perm")
    return ops.transpose(v.input(0), None if perm is None else list(perm))


@converter("Squeeze", attributes=("axes",))
def squeeze(v: NodeView) -> Node:
    x = v.input(0)
    axes = v.ints_from("axes", 1, 13, "axes")
    if axes is None:
        return ops.squeeze(x)
    return ops.squeeze(x, [v.axis(a, x.ndim) for a in axes])


@converter("Unsqueeze", attributes=("axes",))
def unsqueeze(v: NodeView) -> Node:
    x = v.input(0)
    axes = v.ints_from("axes", 1, 13, "axes")
    if not axes:
        v.fail("the axes to insert are required")
    out_ndim = x.ndim + len(axes)
    return ops.expand_dims(x, sorted(v.axis(a, out_ndim) for a in axes))


@converter("Concat", since=4, attributes=("axis",))
def concat(v: NodeView) -> Node:
    parts = [x for x in v.inputs if x is not None]
    return ops.concatenate(parts, v.axis(v.attr("axis"), parts[0].ndim))


@converter("Split", attributes=("axis", "split", "num_outputs"))
def split(v: NodeView) -> list[Node]:
    """Pieces of the sizes `split` (an attribute before opset 13, an input from it on), or equal
    pieces, one per output (the last smaller when num_outputs does not divide, opset 18)."""
    x = v.input(0)
    axis = v.axis(v.attr("axis", 0), x.ndim)
    total = x.type.shape[axis]
    sizes = v.ints_from("split", 1, 13, "split sizes")
    if sizes is None:
        count = v.attr("num_outputs", len(v.proto.output))
        if total is None:
            v.fail(f"axis {axis} of {format_shape(x.shape)} must have a known size to split it")
        step = -(-total // count)
        sizes = [min(step, total - k * step) for k in range(count)]
    cuts = np.cumsum(sizes)[:-1].tolist()
    return ops.split(x, cuts, axis)


@converter("Slice", attributes=("starts", "ends", "axes"))
def slice_(v: NodeView) -> Node:
    """x[start:end:step] on the given axes (attributes before opset 10, inputs from it on)."""
    x = v.input(0)
    starts = v.ints_from("starts", 1, 10, "starts")
    ends = v.ints_from("ends", 2, 10, "ends")
    axes = v.ints_from("axes", 3, 10, "axes", list(range(len(starts))))
    steps = v.static_ints(4, "steps") if v.opset >= 10 and v.has_input(4) else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step == 0:
            v.fail("a step of 0 is not allowed")
        index[v.axis(axis, x.ndim)] = _python_slice(start, end, step, x.type.shape[v.axis(axis, x.ndim)])
    return x[tuple(index)]


def _python_slice(start: int, end: int, step: int, size: Optional[int]) -> slice:
    """ONNX's clamped bounds as a Python slice (negative steps may run to before index 0)."""
    if size is not None:
        start, end, step = slice(start, end, step).indices(size)
        return slice(start, None if end < 0 else end, step)
    return slice(None if abs(start) >= HUGE else start, None if abs(end) >= HUGE else end, step)


@converter("Gather", attributes=("axis",))
def gather(v: NodeView) -> Node:
    """Known indices: slices of the data; indices computed at run time (embeddings, axis 0):
    one-hot rows times the data."""
    data = v.input(0)
    axis = v.axis(v.attr("axis", 0), data.ndim)
    size = data.type.shape[axis]
    indices = v.input(1)
    if ops.constant_value(indices) is None:
        return _gather_run_time(v, data, axis, indices)
    idx = v.static(1, "indices").astype(np.int64)
    if (idx < 0).any():
        if size is None:
            v.fail(f"negative indices need the size of axis {axis} known, got data {format_shape(data.shape)}")
        idx = np.where(idx < 0, idx + size, idx)
    if size is not None and ((idx < 0) | (idx >= size)).any():
        v.fail(f"indices {idx.tolist()} are out of range for axis {axis} of size {size}")
    if idx.ndim == 0:
        return data[(slice(None),) * axis + (int(idx),)]
    flat = idx.reshape(-1)
    if flat.size and np.array_equal(flat, np.arange(flat[0], flat[0] + flat.size)):
        picked = slice_axis(data, axis, int(flat[0]), int(flat[0]) + flat.size)
    else:
        picked = ops.concatenate([slice_axis(data, axis, int(i), int(i) + 1) for i in flat], axis)
    shape = data.type.shape[:axis] + idx.shape + data.type.shape[axis + 1:]
    if None in shape and shape.count(None) == 1:
        shape = tuple(-1 if d is None else d for d in shape)
    return picked if picked.type.shape == shape else ops.reshape(picked, shape)


def _gather_run_time(v: NodeView, data: Node, axis: int, indices: Node) -> Node:
    """data's rows at indices known only when run: one-hot rows of the indices times the data
    with `axis` first, the picked rows' axes then moved to `axis`."""
    size, others = data.type.shape[axis], data.type.shape[:axis] + data.type.shape[axis + 1:]
    if size is None or None in others:
        v.fail(f"indices known only when run need the data's shape known, got {format_shape(data.shape)}")
    order = [axis] + [a for a in range(data.ndim) if a != axis]
    rows = ops.reshape(ops.transpose(data, order), (size, int(np.prod(others, dtype=np.int64))))
    indices = ops.where(indices < 0, indices + size, indices)
    picked = ops.reshape(one_hot(indices, size, data.dtype) @ rows, tuple(indices.type.shape) + others)
    k = indices.ndim
    return ops.transpose(picked, list(range(k, k + axis)) + list(range(k)) + list(range(k + axis, picked.ndim)))


@converter("Expand", since=8)
def expand(v: NodeView) -> Node:
    """numpy broadcasting of the input with the target shape (either may be larger per axis)."""
    x, target = v.input(0), v.static_ints(1, "shape")
    ndim = max(x.ndim, len(target))
    have = (1,) * (ndim - x.ndim) + tuple(x.type.shape)
    want = (1,) * (ndim - len(target)) + tuple(target)
    out = []
    for h, w in zip(have, want):
        if w != 1 and h not in (1, None, w):
            v.fail(f"cannot expand {format_shape(x.shape)} to {target}")
        out.append(h if w == 1 else w)
    return ops.broadcast_to(x, tuple(out))


@converter("Tile", since=6)
def tile(v: NodeView) -> Node:
    x, repeats = v.input(0), v.static_ints(1, "repeats")
    if len(repeats) != x.ndim:
        v.fail(f"repeats {repeats} must have one entry per axis of {format_shape(x.shape)}")
    for axis, r in enumerate(repeats):
        if r < 1:
            v.fail(f"repeats must be >= 1, got {repeats}")
        if r > 1:
            x = ops.concatenate([x] * r, axis)
    return x


@converter("Pad", attributes=("mode", "pads", "value"))
def pad(v: NodeView) -> Node:
    """Pads (before..., after...) as attributes before opset 11 and inputs from it on (with
    `axes` from 18); negative pads crop."""
    x = v.input(0)
    mode = v.choice("mode", "constant", ("constant", "reflect", "edge", "wrap"))
    if v.opset < 11:
        pads, value, axes = list(v.attr("pads")), v.attr("value", 0.0), list(range(x.ndim))
    else:
        pads = v.static_ints(1, "pads")
        value = float(v.static(2, "constant_value").reshape(-1)[0]) if v.has_input(2) else 0.0
        axes = [v.axis(a, x.ndim) for a in v.static_ints(3, "axes")] if v.has_input(3) else list(range(x.ndim))
    if len(pads) != 2 * len(axes):
        v.fail(f"pads {pads} must hold a (before, after) count for each of the axes {axes}")
    widths = [(0, 0)] * x.ndim
    for axis, before, after in zip(axes, pads[:len(axes)], pads[len(axes):]):
        widths[axis] = (before, after)
    grown = [(max(b, 0), max(a, 0)) for b, a in widths]
    padded = _wrap(v, x, grown) if mode == "wrap" else ops.pad(x, grown, mode, value)
    crop = tuple(slice(-min(b, 0), None if a >= 0 else a) for b, a in widths)
    return padded[crop] if any(min(w) < 0 for w in widths) else padded


def _wrap(v: NodeView, x: Node, widths: list[tuple[int, int]]) -> Node:
    """Circular padding (opset 19): each axis continued by its other end."""
    for axis, (before, after) in enumerate(widths):
        size = x.type.shape[axis]
        if not (before or after):
            continue
        if size is None or max(before, after) > size:
            v.fail(f"wrap padding {widths} needs axis {axis} of {format_shape(x.shape)} known and at least as long")
        parts = [slice_axis(x, axis, size - before, size)] if before else []
        parts += [x] + ([slice_axis(x, axis, 0, after)] if after else [])
        x = ops.concatenate(parts, axis)
    return x


@converter("If", attributes=("then_branch", "else_branch"))
def if_(v: NodeView) -> list[Node]:
    """A condition known when importing (exporters test ranks and sizes this way) selects the
    branch, whose graph is inlined; a condition known only when run is refused."""
    condition = v.static(0, "condition")
    if condition.size != 1:
        v.fail(f"the condition must hold one value, got shape {condition.shape}")
    return v.subgraph("then_branch" if bool(condition.reshape(-1)[0]) else "else_branch")
