"""Second-order and vector-valued derivatives built from `grad`."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ir import DTypeError, Node, ShapeError, format_shape
from ..ir.dtypes import is_float
from ..ops.convert import as_node
from ..ops.elementwise import mul
from ..ops.indexing import getitem
from ..ops.leaves import constant
from ..ops.reduce import reduce_sum
from ..ops.shape import reshape, stack
from .forward import jvp
from .grad import grad


def jacobian(y: Node, x: Node) -> Node:
    """d y / d x with shape y.shape + x.shape.

    Reverse mode (one pass per element of y) when y's shape is known; otherwise, when
    only x's is, forward mode (one jvp per element of x, so y's sizes may stay unknown
    until run). Meant for small y or x: the graph grows with the number of passes.
    """
    if not is_float(y.dtype):
        raise DTypeError(f"jacobian: y must be float, got {y.dtype}")
    if not y.type.is_static:
        if not x.type.is_static:
            raise ShapeError(
                f"jacobian: y's shape {format_shape(y.type.shape)} and x's shape {format_shape(x.type.shape)} "
                f"are both known only when run; a jacobian takes one pass per element of y (reverse mode) "
                f"or of x (forward mode), so declare one of them: give x a static shape, or build y from "
                f"inputs of static shape (or for one row, take the gradient of gc.sum(y * v), a "
                f"vector-Jacobian product, or gc.jvp(y, x, t), a Jacobian-vector product)")
        return _forward_jacobian(y, x)
    if y.type.size == 0:
        raise ShapeError(f"jacobian: y has no elements (shape {format_shape(y.type.shape)})")
    flat = reshape(y, (y.type.size,))
    rows = [grad(getitem(flat, i), x, disconnected="zero") for i in range(y.type.size)]
    return _nest(rows, y.type.shape)


def _forward_jacobian(y: Node, x: Node) -> Node:
    """The jacobian by one jvp per element of x (static shape), each along a one-hot tangent;
    the columns are stacked into trailing axes of x's shape (y's leading sizes may be unknown)."""
    if x.type.size == 0:
        raise ShapeError(f"jacobian: x has no elements (shape {format_shape(x.type.shape)})")
    columns = []
    for k in range(x.type.size):
        basis = np.zeros(x.type.size, x.dtype)
        basis[k] = 1
        columns.append(jvp(y, x, constant(basis.reshape(x.type.shape)), disconnected="zero"))
    return _nest_trailing(columns, x.type.shape)


def _nest_trailing(columns: list[Node], shape: tuple[int, ...]) -> Node:
    """Row-major `columns` stacked into trailing axes of `shape`."""
    if not shape:
        return columns[0]
    step = len(columns) // shape[0]
    return stack([_nest_trailing(columns[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])],
                 axis=-len(shape))


def _nest(rows: list[Node], shape: tuple[int, ...]) -> Node:
    """Row-major `rows` stacked into leading axes of `shape` (works for x of unknown shape)."""
    if not shape:
        return rows[0]
    step = len(rows) // shape[0]
    return stack([_nest(rows[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])])


def hessian_vector_product(
    cost: Node, wrt: Node | Sequence[Node], vectors: Node | Sequence[Node]
) -> Node | list[Node]:
    """H v without forming H: the gradient of <grad(cost), v> (Pearlmutter's trick).

    Each vector has the shape of its variable (no broadcasting: a wrong shape would
    silently give H times a different vector).
    """
    single = isinstance(wrt, Node)
    params = [wrt] if single else list(wrt)
    vs = [as_node(v) for v in ([vectors] if single or isinstance(vectors, Node) else vectors)]
    if len(vs) != len(params):
        raise ValueError(f"hessian_vector_product: {len(params)} variables but {len(vs)} vectors")
    for p, v in zip(params, vs):
        if v.ndim != p.ndim or any(a is not None and b is not None and a != b
                                   for a, b in zip(v.type.shape, p.type.shape)):
            raise ShapeError(f"hessian_vector_product: vector {format_shape(v.type.shape)} for variable "
                             f"{p.name or p.op.name} {format_shape(p.type.shape)}; shapes must be equal")
    grads = grad(cost, params, disconnected="zero")
    inner = reduce_sum(mul(grads[0], vs[0]))
    for g, v in zip(grads[1:], vs[1:]):
        inner = inner + reduce_sum(mul(g, v))
    hv = grad(inner, params, disconnected="zero")
    return hv[0] if single else hv


def hessian(cost: Node, x: Node) -> Node:
    """The full Hessian of a scalar cost with respect to a small `x`: shape x.shape * 2."""
    if not x.type.is_static:
        raise ShapeError(f"hessian: x's shape must be known (one reverse pass per element), "
                         f"got {format_shape(x.type.shape)}")
    return jacobian(grad(cost, x), x)
