"""Indexing as numpy: ints, slices with steps, None (new axis) and Ellipsis (basic), and
integer arrays or tensors (advanced: the slices are taken first, then a gather)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape
from .convert import as_node
from .gather import gather
from .shape import expand_dims
from .tangents import linear

# An index item: ("int", i) | ("slice", start, stop, step) | ("new",) | ("array", node)
Item = tuple


def _to_python(items: Sequence[Item]) -> tuple:
    out: list[Any] = []
    for it in items:
        if it[0] == "int":
            out.append(it[1])
        elif it[0] == "slice":
            out.append(slice(*it[1:]))
        else:
            out.append(None)
    return tuple(out)


@dataclass(frozen=True)
class GetItem(Op):
    """x[index] with basic indexing; `items` covers every axis of x."""

    items: tuple[Item, ...]

    @property
    def name(self) -> str:
        return "getitem"

    def params_str(self) -> str:
        return format_index(self.items)

    def infer_type(self, x: TensorType) -> TensorType:
        return TensorType(x.dtype, _indexed_shape(x.shape, self.items))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x[_to_python(self.items)])

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [Node.make(ScatterInto(self.items), [grad, node.inputs[0]])]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class ScatterInto(Op):
    """Zeros shaped like the template input with `g` written at `items` (GetItem's adjoint)."""

    items: tuple[Item, ...]
    shape_only_inputs = (1,)

    @property
    def name(self) -> str:
        return "scatter_into"

    def params_str(self) -> str:
        return format_index(self.items)

    def infer_type(self, g: TensorType, template: TensorType) -> TensorType:
        return TensorType(g.dtype, template.shape)

    def reference(self, g: np.ndarray, template: np.ndarray) -> np.ndarray:
        out = np.zeros(template.shape, dtype=g.dtype)
        out[_to_python(self.items)] = g
        return out

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [Node.make(GetItem(self.items), [grad]), None]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


def format_index(items: Sequence[Item]) -> str:
    """The index as Python writes it inside brackets: `0, 1:, ::2, None`."""
    parts = []
    for it in items:
        if it[0] == "int":
            parts.append(str(it[1]))
        elif it[0] == "new":
            parts.append("None")
        else:
            start, stop, step = it[1:]
            text = f"{'' if start is None else start}:{'' if stop is None else stop}"
            parts.append(text + (f":{step}" if step not in (None, 1) else ""))
    return ", ".join(parts)


def _indexed_shape(shape: Sequence[Optional[int]], items: Sequence[Item]) -> tuple:
    out: list[Optional[int]] = []
    axis = 0
    for it in items:
        if it[0] == "new":
            out.append(1)
            continue
        dim = shape[axis]
        if it[0] == "int":
            if dim is not None and not -dim <= it[1] < dim:
                raise ShapeError(f"getitem: index {it[1]} is out of bounds for axis {axis} of size {dim}")
        else:
            out.append(None if dim is None else len(range(*slice(*it[1:]).indices(dim))))
        axis += 1
    return tuple(out)


def _normalise(index: Any, ndim: int, shape: Sequence[Optional[int]]) -> tuple[Item, ...]:
    if not isinstance(index, tuple):
        index = (index,)
    used = sum(1 for i in index if i is not None and i is not Ellipsis)
    if used > ndim:
        raise ShapeError(f"getitem: too many indices ({used}) for a tensor of shape {format_shape(shape)}")
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise ShapeError("getitem: only one Ellipsis allowed")
    items: list[Item] = []
    for i in index:
        if i is Ellipsis:
            items.extend(("slice", None, None, None) for _ in range(ndim - used))
        elif i is None:
            items.append(("new",))
        elif isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            items.append(("int", int(i)))
        elif isinstance(i, slice):
            if i.step == 0:
                raise ShapeError("getitem: slice step cannot be zero")
            parts = tuple(None if p is None else int(p) for p in (i.start, i.stop, i.step))
            items.append(("slice", *parts))
        else:
            items.append(("array", _index_array(i)))
    present = sum(1 for it in items if it[0] != "new")
    items.extend(("slice", None, None, None) for _ in range(ndim - present))
    return tuple(items)


def _index_array(i: Any) -> Node:
    """An integer index array (a tensor, a numpy array or a list) as a node."""
    if not isinstance(i, (Node, np.ndarray, list)):
        raise TypeError(f"getitem: indices are ints, slices, None, Ellipsis or integer arrays, got {type(i).__name__}")
    if isinstance(i, list) and not i:
        i = np.zeros(0, np.int64)  # numpy reads [] as no indices
    node = as_node(i if isinstance(i, Node) else np.asarray(i))
    if node.dtype.kind not in "iu":
        hint = " (boolean masks are not supported: use gc.where(mask, x, 0))" if node.dtype == bool else ""
        raise DTypeError(f"getitem: index arrays must be integers, got {node.dtype} {format_shape(node.shape)}{hint}")
    return node


def _advanced(x: Node, items: Sequence[Item]) -> Node:
    """x[index] with index arrays: the slices first, then one gather over the indexed axes,
    then the new axes. Ints count as (0-d) index arrays; the arrays' broadcast shape goes
    where the first of them stood when they are adjacent in the index, else first (numpy's rule)."""
    from .leaves import constant

    advanced = [k for k, it in enumerate(items) if it[0] in ("int", "array")]
    sliced = getitem(x, tuple(slice(*it[1:]) if it[0] == "slice" else slice(None) for it in items if it[0] != "new"))
    kept = [it for it in items if it[0] != "new"]
    axes = [d for d, it in enumerate(kept) if it[0] in ("int", "array")]
    indices = [it[1] if it[0] == "array" else constant(np.int64(it[1])) for it in kept if it[0] in ("int", "array")]
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    at = sum(1 for it in kept[:axes[0]] if it[0] == "slice") if adjacent else 0
    out = gather("getitem", sliced, indices, axes, at)
    rank = out.ndim - sum(1 for it in kept if it[0] == "slice")
    first = advanced[0] if adjacent else 0
    basic = [it for it in items if it[0] in ("slice", "new")]
    new_axes = [b if b < first else b + rank for b, it in enumerate(basic) if it[0] == "new"]
    return expand_dims(out, new_axes) if new_axes else out


def getitem(x: Any, index: Any) -> Node:
    """x[index] with numpy's indexing: ints, slices with steps, None, Ellipsis, and integer
    index arrays (tensors, numpy arrays or lists) mixed with them."""
    x = as_node(x)
    items = _normalise(index, x.ndim, x.type.shape)
    if any(it[0] == "array" for it in items):
        return _advanced(x, items)
    if all(it == ("slice", None, None, None) for it in items):
        return x
    return Node.make(GetItem(items), [x])


def slice_axis(x: Node, axis: int, start: int, stop: int) -> Node:
    """x[..., start:stop, ...] along one axis."""
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return getitem(x, tuple(index))
