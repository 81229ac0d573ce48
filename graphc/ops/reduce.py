"""Reductions (sum, prod, max, min, logsumexp, argmax) and the compositions built on them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, format_shape, normalize_axes, normalize_axis
from ..ir.dtypes import as_dtype, float_of, is_bool, is_float
from ..ir.types import Shape
from .convert import as_node
from .indexing import getitem
from .elementwise import cast, eq, exp, ne, neg, sqrt, square, sub, truediv, where
from .leaves import constant
from .shape import broadcast_to, expand_dims, match_shape
from .tangents import linear

AxisArg = Optional[int | Sequence[int]]


def _reduced_shape(shape: Shape, axes: tuple[int, ...], keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _keep(grad: Node, axes: tuple[int, ...], keepdims: bool) -> Node:
    """Re-insert reduced axes into an output-shaped gradient so it broadcasts back."""
    return grad if keepdims or not axes else expand_dims(grad, axes)


@dataclass(frozen=True)
class Reduce(Op):
    """Reduce over `axes` with `kind` in sum, prod, max, min."""

    kind: str
    axes: tuple[int, ...]
    keepdims: bool = False

    @property
    def name(self) -> str:
        return self.kind

    def infer_type(self, x: TensorType) -> TensorType:
        if self.kind not in ("sum", "prod", "max", "min"):
            raise ValueError(f"reduce: unknown kind {self.kind!r}")
        for a in self.axes:
            if self.kind in ("max", "min") and x.shape[a] == 0:
                raise ShapeError(f"{self.kind}: zero-size axis {a} has no identity (input {format_shape(x.shape)})")
        dtype = x.dtype
        if self.kind in ("sum", "prod") and not is_float(dtype):
            dtype = np.dtype("int64")  # numpy sums and multiplies ints and bools as int64 on this platform
        return TensorType(dtype, _reduced_shape(x.shape, self.axes, self.keepdims))

    def reference(self, x: np.ndarray) -> np.ndarray:
        fn = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}[self.kind]
        return np.asarray(fn(x, axis=self.axes, keepdims=self.keepdims))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x = node.inputs[0]
        g = broadcast_to(_keep(grad, self.axes, self.keepdims), x)
        if self.kind == "sum":
            return [g]
        return [g * self._partials(node)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        (t,) = tangents
        if self.kind == "sum":
            return linear(node, tangents)
        return reduce_sum(t * self._partials(node), self.axes, self.keepdims)

    def _partials(self, node: Node) -> Node:
        """d out / d x broadcast to x's shape, for prod, max and min. Max and min share it
        equally among the elements that attain the extreme (in both modes)."""
        x = node.inputs[0]
        if self.kind == "prod":
            return _prod_partials(x, self.axes)
        hit = cast(eq(x, broadcast_to(_keep(node, self.axes, self.keepdims), x)), x.dtype)
        return hit / broadcast_to(reduce_sum(hit, self.axes, keepdims=True), x)


def _prod_partials(x: Node, axes: tuple[int, ...]) -> Node:
    """d prod(x) / d x_i, the product of the other elements, exact where x holds zeros:
    without zeros prod / x_i; at the only zero the product of the rest; else 0."""
    is_zero = eq(x, 0)
    zeros = broadcast_to(reduce_sum(is_zero, axes, keepdims=True), x)
    nonzero = where(is_zero, constant(np.ones((), x.dtype)), x)
    rest = broadcast_to(reduce_prod(nonzero, axes, keepdims=True), x)
    zero = constant(np.zeros((), x.dtype))
    return where(eq(zeros, 0), rest / nonzero, where(is_zero & eq(zeros, 1), rest, zero))


@dataclass(frozen=True)
class Argmax(Op):
    """Index of the maximum along `axis` (None: of the flattened tensor). No gradient."""

    axis: Optional[int]
    keepdims: bool = False

    def infer_type(self, x: TensorType) -> TensorType:
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        return TensorType(np.dtype("int64"), _reduced_shape(x.shape, axes, self.keepdims))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.argmax(x, axis=self.axis, keepdims=self.keepdims), dtype=np.int64)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [None]


@dataclass(frozen=True)
class LogSumExp(Op):
    """log(sum(exp(x))) over `axes`, computed without overflow."""

    axes: tuple[int, ...]
    keepdims: bool = False
    name = "logsumexp"

    def infer_type(self, x: TensorType) -> TensorType:
        return TensorType(float_of(x.dtype), _reduced_shape(x.shape, self.axes, self.keepdims))

    def reference(self, x: np.ndarray) -> np.ndarray:
        m = np.max(x, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        return out if self.keepdims else np.squeeze(out, self.axes)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        g = broadcast_to(_keep(grad, self.axes, self.keepdims), node.inputs[0])
        return [g * self._weights(node)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return reduce_sum(tangents[0] * self._weights(node), self.axes, self.keepdims)

    def _weights(self, node: Node) -> Node:
        """d out / d x: the softmax of x over the axes, exp(x - out)."""
        x = node.inputs[0]
        return exp(x - broadcast_to(_keep(node, self.axes, self.keepdims), x))


@dataclass(frozen=True)
class CountOf(Op):
    """The number of elements of the template input over `axes`, as a scalar of `dtype`.

    Needed where that count is unknown until run time (the mean over a batch of unknown
    size); the simplifier folds it to a constant once shapes are known.
    """

    axes: tuple[int, ...]
    dtype: np.dtype
    shape_only_inputs = (0,)
    name = "count"

    def infer_type(self, x: TensorType) -> TensorType:
        return TensorType(self.dtype, ())

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.prod([x.shape[a] for a in self.axes]), dtype=self.dtype)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [None]


def _reduce(kind: str, x: Any, axis: AxisArg, keepdims: bool) -> Node:
    x = as_node(x)
    axes = normalize_axes(kind, axis, x.ndim)
    if not axes and not (kind in ("sum", "prod") and not is_float(x.dtype)):
        return x
    return Node.make(Reduce(kind, axes, keepdims), [x])


def reduce_sum(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Sum over `axis` (int, tuple, or None for all), as numpy."""
    return _reduce("sum", x, axis, keepdims)


def reduce_prod(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Product over `axis`, as numpy (ints and bools give int64); the gradient is exact at zeros."""
    return _reduce("prod", x, axis, keepdims)


def reduce_any(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Whether any element over `axis` is nonzero (numpy's `any`; bool, no gradient)."""
    return ne(reduce_sum(ne(x, 0), axis, keepdims), 0)


def reduce_all(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Whether every element over `axis` is nonzero (numpy's `all`; bool, no gradient)."""
    return eq(reduce_sum(eq(x, 0), axis, keepdims), 0)


def reduce_max(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Maximum over `axis`; the gradient is shared among tied maxima."""
    return _reduce("max", x, axis, keepdims)


def reduce_min(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Minimum over `axis`; the gradient is shared among tied minima."""
    return _reduce("min", x, axis, keepdims)


def _statistic_dtype(dtype: np.dtype) -> np.dtype:
    """numpy's dtype for mean and var: floats keep theirs, ints and bools give float64."""
    return dtype if is_float(dtype) else np.dtype("float64")


def count(x: Node, axes: tuple[int, ...], dtype: Any) -> Node:
    """Number of elements of `x` over `axes`: a constant when known, else computed when run."""
    dims = [x.type.shape[a] for a in axes]
    if None not in dims:
        return constant(np.asarray(np.prod(dims), dtype=as_dtype(dtype)))
    return Node.make(CountOf(axes, as_dtype(dtype)), [x])


def mean(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """Arithmetic mean over `axis` (ints and bools give float64, as numpy)."""
    x = as_node(x)
    axes = normalize_axes("mean", axis, x.ndim)
    dtype = _statistic_dtype(x.dtype)
    return truediv(reduce_sum(cast(x, dtype), axes, keepdims), count(x, axes, dtype))


def var(x: Any, axis: AxisArg = None, keepdims: bool = False, ddof: int = 0) -> Node:
    """Variance over `axis` (numpy's `ddof`), centred on the mean computed as
    first + mean(x - first) (first: the first element along the axes; shifted data): equal
    values give exactly 0 in every backend, whatever its summation order (their plain mean
    need not round back to the value), and a mean far from 0 cancels less."""
    x = as_node(x)
    axes = normalize_axes("var", axis, x.ndim)
    dtype = _statistic_dtype(x.dtype)
    xf = cast(x, dtype)
    first = getitem(xf, tuple(slice(0, 1) if d in axes else slice(None) for d in range(xf.ndim)))
    first = broadcast_to(reduce_sum(first, axes, keepdims=True), xf)     # known size 1 on the axes
    centre = first + broadcast_to(mean(sub(xf, first), axes, keepdims=True), xf)
    total = reduce_sum(square(sub(xf, centre)), axes, keepdims)
    return truediv(total, sub(count(x, axes, dtype), ddof) if ddof else count(x, axes, dtype))


def std(x: Any, axis: AxisArg = None, keepdims: bool = False, ddof: int = 0) -> Node:
    """Standard deviation over `axis` (numpy's `ddof`). Its gradient is 0 where the variance
    is 0 (as torch's), rather than 0 / 0: sqrt's derivative is not taken there."""
    v = var(x, axis, keepdims, ddof)
    zero = eq(v, 0)
    return where(zero, constant(np.zeros((), v.dtype)), sqrt(where(zero, constant(np.ones((), v.dtype)), v)))


def logsumexp(x: Any, axis: AxisArg = None, keepdims: bool = False) -> Node:
    """log(sum(exp(x))) over `axis`, stable for large values."""
    x = as_node(x)
    if not is_float(x.dtype):
        x = cast(x, float_of(x.dtype))
    return Node.make(LogSumExp(normalize_axes("logsumexp", axis, x.ndim), keepdims), [x])


def argmax(x: Any, axis: Optional[int] = None, keepdims: bool = False) -> Node:
    """Index of the maximum, as numpy (int64, no gradient)."""
    x = as_node(x)
    ax = None if axis is None else normalize_axis("argmax", axis, x.ndim)
    return Node.make(Argmax(ax, keepdims), [x])


def argmin(x: Any, axis: Optional[int] = None, keepdims: bool = False) -> Node:
    """Index of the minimum, as numpy (int64, no gradient): the argmax of an order-reversing
    map, -x for floats and -1 - x for ints (which, unlike -x, cannot overflow at the minimum int)."""
    x = as_node(x)
    if is_bool(x.dtype):
        raise DTypeError("argmin: bool input is not supported; cast it to an int dtype first")
    return argmax(neg(x) if is_float(x.dtype) else sub(-1, x), axis, keepdims)


def sum_to(grad: Node, x: Node) -> Node:
    """Sum a broadcast gradient back to the shape of `x` (the adjoint of broadcasting)."""
    from .shape import squeeze

    lead = grad.ndim - x.ndim
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(x.type.shape) if d == 1 and grad.type.shape[lead + i] != 1
    )
    if axes:
        grad = reduce_sum(grad, axes, keepdims=True)
        grad = squeeze(grad, tuple(range(lead))) if lead else grad
    # x's known sizes where the gradient's are unknown; where x's are unknown, the check
    # when run that they did not broadcast
    return match_shape(grad, x)


__all__ = [
    "Reduce", "Argmax", "LogSumExp", "CountOf", "reduce_sum", "reduce_prod", "reduce_max", "reduce_min",
    "reduce_any", "reduce_all",
    "mean", "var", "std", "logsumexp", "argmax", "argmin", "sum_to", "count",
]
