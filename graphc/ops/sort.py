"""Sorting along one axis: sort and argsort (numpy's), topk (PyTorch's).

One order serves all three: ascending or descending along `axis`, a NaN larger than any
number (numpy puts NaNs last, torch.topk takes them first), ties kept in their original
order (stable). `Sort` gives the first `k` values in that order, `Argsort` their
positions. A value's gradient goes back to the position it came from (a scatter-add
along the axis, the adjoint of take_along_axis; graphc.ops.gather), and its tangent is
read from there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape, normalize_axis
from ..ir.dtypes import is_bool
from .convert import as_node
from .gather import Gather, GatherAdd, IndexMap

INDEX = np.dtype("int64")


@dataclass(frozen=True)
class SortOrder(Op):
    """The order shared by Sort and Argsort: the first `k` (None: all) along `axis`."""

    axis: int
    k: Optional[int] = None
    descending: bool = False

    def params_str(self) -> str:
        parts = [f"axis={self.axis}"] + ([f"k={self.k}"] if self.k is not None else [])
        return ", ".join(parts + (["descending"] if self.descending else []))

    def _shape(self, x: TensorType) -> tuple:
        if is_bool(x.dtype):
            raise DTypeError(f"{self.name}: cannot order a bool tensor ({x}); cast it to int32 first")
        n = x.shape[self.axis]
        if self.k is not None and n is not None and self.k > n:
            raise ShapeError(f"{self.name}: k={self.k} is larger than axis {self.axis} of size {n} "
                             f"(input {format_shape(x.shape)})")
        return x.shape[:self.axis] + (n if self.k is None else self.k,) + x.shape[self.axis + 1:]

    def check_run_time(self, node: Node, input_shapes: Sequence[tuple[int, ...]]) -> None:
        self._shape(TensorType(node.inputs[0].dtype, input_shapes[0]))

    def order(self, x: np.ndarray) -> np.ndarray:
        """The positions of the first k elements along the axis in this order (int64)."""
        if self.descending:   # a stable ascending sort of the reversed axis, reversed back
            n = x.shape[self.axis]
            positions = n - 1 - np.flip(np.argsort(np.flip(x, self.axis), axis=self.axis, kind="stable"), self.axis)
        else:
            positions = np.argsort(x, axis=self.axis, kind="stable")
        taken = np.take(positions, np.arange(x.shape[self.axis] if self.k is None else self.k), axis=self.axis)
        return np.ascontiguousarray(taken, dtype=INDEX)


class Sort(SortOrder):
    """The first k values along the axis in sorted order."""

    @property
    def name(self) -> str:
        return "sort" if self.k is None else "topk"

    def infer_type(self, x: TensorType) -> TensorType:
        return TensorType(x.dtype, self._shape(x))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.take_along_axis(x, self.order(x), self.axis))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x = node.inputs[0]
        return [Node.make(GatherAdd(self._along()), [grad, x, self._positions(x)])]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        """The tangent at the positions the values came from (where the vjp sends them back)."""
        return Node.make(Gather(self._along()), [tangents[0], self._positions(node.inputs[0])])

    def _positions(self, x: Node) -> Node:
        return Node.make(Argsort(self.axis, self.k, self.descending), [x])

    def _along(self) -> IndexMap:
        """take_along_axis's map: the gradient's scatter-add and the tangent's gather."""
        return IndexMap("take_along_axis", (self.axis,), 0, along=True)


class Argsort(SortOrder):
    """The positions (int64) of the first k values along the axis in sorted order. No gradient."""

    @property
    def name(self) -> str:
        return "argsort" if self.k is None else "topk_indices"

    def infer_type(self, x: TensorType) -> TensorType:
        return TensorType(INDEX, self._shape(x))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return self.order(x)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [None]


def _ordered(cls: type, opname: str, x: Any, axis: Any, k: Optional[int], descending: bool) -> Node:
    x = as_node(x)
    if x.ndim == 0:
        raise ShapeError(f"{opname}: cannot order a 0-d tensor (give it an axis, e.g. reshape to (1,))")
    return Node.make(cls(normalize_axis(opname, axis, x.ndim), k, descending), [x])


def sort(x: Any, axis: int = -1) -> Node:
    """x sorted along `axis`, as numpy.sort (NaNs last; stable)."""
    return _ordered(Sort, "sort", x, axis, None, False)


def argsort(x: Any, axis: int = -1) -> Node:
    """The positions (int64) that sort x along `axis`, as numpy.argsort(kind="stable")."""
    return _ordered(Argsort, "argsort", x, axis, None, False)


def topk(x: Any, k: int, axis: int = -1, largest: bool = True) -> tuple[Node, Node]:
    """(values, indices) of the k largest (or smallest) elements along `axis`, as torch.topk
    (sorted; ties in their original order; a NaN counts as the largest)."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {k!r}")
    if k < 1:
        raise ShapeError(f"topk: k must be at least 1, got {k}")
    if not isinstance(largest, (bool, np.bool_)):
        raise TypeError(f"topk: largest must be a bool, got {largest!r}")
    values = _ordered(Sort, "topk", x, axis, int(k), bool(largest))
    op = values.op
    return values, Node.make(Argsort(op.axis, op.k, op.descending), values.inputs)


__all__ = ["Argsort", "Sort", "SortOrder", "argsort", "sort", "topk"]
