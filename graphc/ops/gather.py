"""Gather and scatter-add through integer index arrays: take, take_along_axis, index_add and
the advanced part of x[idx].

One pair of mutually adjoint ops covers them all. `Gather` reads x where some axes are
given by index arrays and the others pass through; `GatherAdd` adds values into zeros
shaped like x at the same places (duplicates accumulate), so each is the other's
gradient. Where the places are is an `IndexMap`, shared with the compiled backend.
Negative indices wrap once, as numpy's; any other index outside its axis is a run-time
error naming the op, the index and the axis size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape, normalize_axis
from ..ir.dtypes import is_integer
from ..ir.shapes import broadcast_shapes
from ..ir.types import Shape
from .convert import as_node
from .leaves import constant_value
from .shape import reshape
from .tangents import linear


@dataclass(frozen=True)
class IndexMap:
    """Where a gather reads x for each output index.

    `axes` are the axes of x read through the index arrays (one array each, in order).
    Normally the arrays broadcast together to a shape B that sits in the output from axis
    `at`, and x's other axes pass through in order around it (numpy's advanced indexing).
    With `along` (take_along_axis) one array has x's rank: the output is the broadcast of
    the array and x (the indexed axis taking the array's size), and both are read at the
    output index itself.
    """

    label: str
    axes: tuple[int, ...]
    at: int
    along: bool = False

    def out_shape(self, x: Shape, indices: Sequence[Shape]) -> Shape:
        """The output shape, or a ShapeError naming the op and the shapes."""
        if self.along:
            (idx,) = indices
            (axis,) = self.axes
            if len(idx) != len(x):
                raise ShapeError(f"{self.label}: indices {format_shape(idx)} must have the rank of x "
                                 f"{format_shape(x)}")
            out = list(broadcast_shapes(self.label, x[:axis] + (1,) + x[axis + 1:], idx))
            out[axis] = idx[axis]
            return tuple(out)
        if len(self.axes) != len(indices):
            raise ShapeError(f"{self.label}: {len(indices)} index arrays for {len(self.axes)} axes")
        block = broadcast_shapes(self.label, *indices)
        rest = [n for d, n in enumerate(x) if d not in self.axes]
        return tuple(rest[:self.at]) + block + tuple(rest[self.at:])

    def sources(self, o: Sequence[Any], x: Sequence[int], indices: Sequence[Sequence[int]],
                zero: Any) -> tuple[list[Any], list[tuple]]:
        """For output index `o` (any index values: ints, arrays, loop expressions): x's index
        with None on the indexed axes, and the index into each index array (`zero` where
        an array broadcasts)."""
        if self.along:
            (idx,) = indices
            at_x = [zero if n == 1 else i for n, i in zip(x, o)]
            at_x[self.axes[0]] = None
            return at_x, [tuple(zero if n == 1 else i for n, i in zip(idx, o))]
        rank = max((len(s) for s in indices), default=0)
        block = o[self.at:self.at + rank]
        at_idx = [tuple(zero if n == 1 else i for n, i in zip(s, block[rank - len(s):])) for s in indices]
        rest = list(o[:self.at]) + list(o[self.at + rank:])
        at_x: list[Any] = []
        for d in range(len(x)):
            at_x.append(None if d in self.axes else rest.pop(0))
        return at_x, at_idx

    def params_str(self) -> str:
        """The placement as text for listings: `axes=(1,), at=1` or `axes=(2,), along`."""
        return f"axes={self.axes}" + (", along" if self.along else f", at={self.at}")

    def out_of_range(self, index: Any, axis: int, size: int) -> str:
        """The run-time error for an index outside an axis ("{}" stands for the index when
        compiled code fills it in)."""
        return f"{self.label}: index {index} is out of range for axis {axis} of size {size}"

    def positions(self, x: Sequence[int], indices: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """For each output element, its index into x (numpy arrays shaped like the output),
        negative indices wrapped; ValueError for one out of range."""
        out = self.out_shape(tuple(x), [i.shape for i in indices])
        grid = np.indices(out, sparse=True)
        at_x, at_idx = self.sources(tuple(grid), x, [i.shape for i in indices], 0)
        for axis, idx, pos in zip(self.axes, indices, at_idx):
            values = np.asarray(idx[pos], dtype=np.int64)
            n = x[axis]
            bad = (values < -n) | (values >= n)
            if np.any(bad):
                raise ValueError(self.out_of_range(values[bad].flat[0], axis, n))
            at_x[axis] = np.where(values < 0, values + n, values)
        return tuple(np.broadcast_to(p, out) for p in at_x)


def _axes_text(axes: Sequence[int]) -> str:
    return f"axis {axes[0]}" if len(axes) == 1 else f"axes {tuple(axes)}"


def _check_indices(label: str, indices: Sequence[TensorType]) -> None:
    for idx in indices:
        if not is_integer(idx.dtype):
            raise DTypeError(f"{label}: indices must be integers, got {idx.dtype} {format_shape(idx.shape)}"
                             + (" (boolean masks are not supported: use gc.where)" if idx.dtype == bool else ""))


@dataclass(frozen=True)
class Gather(Op):
    """x read at `where`'s positions; inputs (x, *indices)."""

    where: IndexMap

    @property
    def name(self) -> str:
        return self.where.label

    def params_str(self) -> str:
        return self.where.params_str()

    def infer_type(self, x: TensorType, *indices: TensorType) -> TensorType:
        _check_indices(self.where.label, indices)
        return TensorType(x.dtype, self.where.out_shape(x.shape, [i.shape for i in indices]))

    def reference(self, x: np.ndarray, *indices: np.ndarray) -> np.ndarray:
        return np.array(x[self.where.positions(x.shape, indices)])

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x, *indices = node.inputs
        return [Node.make(GatherAdd(self.where), [grad, x, *indices])] + [None] * len(indices)

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class GatherAdd(Op):
    """Zeros shaped like the template with each value added at its `where` position
    (Gather's adjoint); inputs (values, template, *indices)."""

    where: IndexMap
    shape_only_inputs = (1,)

    @property
    def name(self) -> str:
        return "scatter_add"

    def params_str(self) -> str:
        return self.where.params_str()

    def infer_type(self, values: TensorType, template: TensorType, *indices: TensorType) -> TensorType:
        _check_indices(self.where.label, indices)
        if values.dtype == bool:
            raise DTypeError(f"{self.where.label}: cannot add bool values {format_shape(values.shape)}: cast them "
                             f"to a number type first")
        expected = self.where.out_shape(template.shape, [i.shape for i in indices])
        if len(expected) != values.ndim or any(
                e is not None and v is not None and e != v for e, v in zip(expected, values.shape)):
            raise ShapeError(
                f"{self.where.label}: values have shape {format_shape(values.shape)}, but x "
                f"{format_shape(template.shape)} with indices {', '.join(format_shape(i.shape) for i in indices)} "
                f"along {_axes_text(self.where.axes)} needs values of shape {format_shape(expected)}")
        return TensorType(values.dtype, template.shape)

    def reference(self, values: np.ndarray, template: np.ndarray, *indices: np.ndarray) -> np.ndarray:
        out = np.zeros(template.shape, dtype=values.dtype)
        np.add.at(out, self.where.positions(template.shape, indices), values)
        return out

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        _, _, *indices = node.inputs
        return [Node.make(Gather(self.where), [grad, *indices]), None] + [None] * len(indices)

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


def gather(label: str, x: Node, indices: Sequence[Node], axes: Sequence[int], at: int, along: bool = False) -> Node:
    """x read through index arrays on `axes` (see IndexMap); constant indices outside a
    known axis size are refused now rather than when run."""
    where = IndexMap(label, tuple(axes), at, along)
    _refuse_constants_out_of_range(where, x, indices)
    return Node.make(Gather(where), [x, *indices])


def _refuse_constants_out_of_range(where: IndexMap, x: Node, indices: Sequence[Node]) -> None:
    for axis, idx in zip(where.axes, indices):
        values, n = constant_value(idx), x.type.shape[axis]
        if values is not None and n is not None and is_integer(values.dtype):
            bad = (values < -n) | (values >= n)
            if np.any(bad):
                raise ShapeError(where.out_of_range(values[bad].flat[0], axis, n))


def take(x: Any, indices: Any, axis: Optional[int] = None) -> Node:
    """numpy.take: x's elements at `indices` along `axis` (None: of x flattened); the
    indices' shape replaces that axis."""
    x, indices = as_node(x), as_node(indices)
    if axis is None:
        x, axis = reshape(x, -1), 0
    axis = normalize_axis("take", axis, x.ndim)
    return gather("take", x, [indices], (axis,), axis)


def take_along_axis(x: Any, indices: Any, axis: Optional[int]) -> Node:
    """numpy.take_along_axis: out[..., j, ...] = x[..., indices[..., j, ...], ...] along
    `axis` (None: of x flattened, with 1-d indices); indices have x's rank and broadcast
    against x on the other axes."""
    x, indices = as_node(x), as_node(indices)
    if axis is None:
        if indices.ndim != 1:
            raise ShapeError(f"take_along_axis: with axis=None the indices must be 1-d, got {format_shape(indices.shape)}")
        x, axis = reshape(x, -1), 0
    axis = normalize_axis("take_along_axis", axis, x.ndim)
    return gather("take_along_axis", x, [indices], (axis,), 0, along=True)


def index_add(x: Any, axis: int, indices: Any, values: Any, alpha: Any = 1) -> Node:
    """torch.index_add: x with values[..., i, ...] (times alpha) added at x[..., indices[i], ...]
    along `axis`; repeated indices accumulate. indices are 1-d (or a scalar), and values
    have x's shape with that axis of the indices' length. The result's dtype is numpy's
    promotion of x's and values'."""
    x, indices, values = as_node(x), as_node(indices), as_node(values)
    axis = normalize_axis("index_add", axis, x.ndim)
    if indices.ndim > 1:
        raise ShapeError(f"index_add: indices must be 1-d or a scalar, got {format_shape(indices.shape)}")
    if not (isinstance(alpha, (int, float)) and alpha == 1):
        values = values * alpha
    where = IndexMap("index_add", (axis,), axis)
    _refuse_constants_out_of_range(where, x, [indices])
    return x + Node.make(GatherAdd(where), [values, x, indices])
