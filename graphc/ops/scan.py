"""Scans along one axis: cumsum and cumprod (numpy's names and dtype rules).

One op, `Scan`, runs a running sum or product forward or backward along an axis; the
backward scan is what the gradient of a forward one needs (and the reverse), so
derivatives of any order stay within this op.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import Node, Op, TensorType, normalize_axis
from ..ir.dtypes import is_float
from .convert import as_node
from .elementwise import cast, eq, logical_and, where
from .leaves import constant
from .shape import flatten
from .tangents import linear


@dataclass(frozen=True)
class Scan(Op):
    """Running `kind` (sum or prod) along `axis`; `reverse` runs from the last element."""

    kind: str
    axis: int
    reverse: bool = False

    @property
    def name(self) -> str:
        return ("reverse_" if self.reverse else "") + {"sum": "cumsum", "prod": "cumprod"}[self.kind]

    def params_str(self) -> str:
        return f"axis={self.axis}"  # the name says the kind and the direction

    def infer_type(self, x: TensorType) -> TensorType:
        if self.kind not in ("sum", "prod"):
            raise ValueError(f"scan: unknown kind {self.kind!r}")
        return TensorType(_accumulator(x.dtype), x.shape)

    def reference(self, x: np.ndarray) -> np.ndarray:
        fn = {"sum": np.cumsum, "prod": np.cumprod}[self.kind]
        ordered = np.flip(x, self.axis) if self.reverse else x
        out = fn(ordered, axis=self.axis, dtype=_accumulator(x.dtype))
        return np.ascontiguousarray(np.flip(out, self.axis) if self.reverse else out)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x = node.inputs[0]
        back = Scan("sum", self.axis, not self.reverse)
        if self.kind == "sum":
            return [Node.make(back, [grad])]
        return [_cumprod_vjp(x, node, grad, self.axis, self.reverse)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        if self.kind == "sum":
            return linear(node, tangents)
        return _cumprod_jvp(node.inputs[0], node, tangents[0], self.axis, self.reverse)


def _accumulator(dtype: np.dtype) -> np.dtype:
    """numpy accumulates ints and bools as int64 on this platform, floats in their own dtype."""
    return dtype if is_float(dtype) else np.dtype("int64")


def _zero_marks(x: Node, axis: int, reverse: bool) -> tuple[Node, Node, Node]:
    """Where x is 0, the running count of zeros in scan order, and where the first zero is."""
    is_zero = eq(x, 0)
    zeros_so_far = Node.make(Scan("sum", axis, reverse), [is_zero])
    return is_zero, zeros_so_far, logical_and(is_zero, eq(zeros_so_far, 1))


def _cumprod_vjp(x: Node, y: Node, grad: Node, axis: int, reverse: bool) -> Node:
    """The gradient of y = cumprod(x), exact where x holds zeros.

    Before the first zero (in scan order) it is revcumsum(g * y) / x; at the first zero,
    revcumsum(g * y') with y' the scan of x with that zero read as 1; after it, 0.
    """
    back = Scan("sum", axis, not reverse)
    is_zero, zeros_so_far, first_zero = _zero_marks(x, axis, reverse)
    one, zero = constant(np.ones((), x.dtype)), constant(np.zeros((), x.dtype))
    before = Node.make(back, [grad * y]) / where(is_zero, one, x)
    at = Node.make(back, [grad * Node.make(Scan("prod", axis, reverse), [where(first_zero, one, x)])])
    return where(eq(zeros_so_far, 0), before, where(first_zero, at, zero))


def _cumprod_jvp(x: Node, y: Node, t: Node, axis: int, reverse: bool) -> Node:
    """The tangent of y = cumprod(x), exact where x holds zeros.

    Before the first zero (in scan order) it is y * cumsum(t / x); from the first zero on,
    while it is the only one, that zero's tangent times the scan of x with it read as 1;
    after a second zero, 0.
    """
    scan_sum = Scan("sum", axis, reverse)
    is_zero, zeros_so_far, first_zero = _zero_marks(x, axis, reverse)
    one, zero = constant(np.ones((), x.dtype)), constant(np.zeros((), x.dtype))
    before = y * Node.make(scan_sum, [t / where(is_zero, one, x)])
    carried = Node.make(scan_sum, [where(first_zero, t, zero)])  # the first zero's tangent, from it on
    after = carried * Node.make(Scan("prod", axis, reverse), [where(first_zero, one, x)])
    return where(eq(zeros_so_far, 0), before, where(eq(zeros_so_far, 1), after, zero))


def _scan(kind: str, x: Any, axis: Optional[int], dtype: Any) -> Node:
    x = as_node(x) if dtype is None else cast(x, dtype)  # numpy accumulates in `dtype`
    if axis is None:
        x, axis = flatten(x), 0
    node = Node.make(Scan(kind, normalize_axis(f"cum{kind}", axis, x.ndim)), [x])
    return node if dtype is None else cast(node, dtype)


def cumsum(x: Any, axis: Optional[int] = None, dtype: Any = None) -> Node:
    """Running sum along `axis` (None: of the flattened tensor), as numpy."""
    return _scan("sum", x, axis, dtype)


def cumprod(x: Any, axis: Optional[int] = None, dtype: Any = None) -> Node:
    """Running product along `axis` (None: of the flattened tensor), as numpy; the gradient
    is exact where x holds zeros."""
    return _scan("prod", x, axis, dtype)


__all__ = ["Scan", "cumsum", "cumprod"]
