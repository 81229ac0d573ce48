"""Second-order and vector-valued derivatives built from `grad`."""
from __future__ import annotations

from typing import Sequence

from ..ir import DTypeError, Node, ShapeError, format_shape
from ..ir.dtypes import is_float
from ..ops.convert import as_node
from ..ops.elementwise import mul
from ..ops.indexing import getitem
from ..ops.reduce import reduce_sum
from ..ops.shape import reshape, stack
from .grad import grad


def jacobian(y: Node, x: Node) -> Node:
    """d y / d x with shape y.shape + x.shape, one reverse pass per element of y.

    Meant for small outputs: the graph grows with y's size, which must be known.
    """
    if not y.type.is_static:
        raise ShapeError(f"jacobian: y's shape must be known, got {y.type.shape} "
                         f"(one reverse pass per element of y)")
    if not is_float(y.dtype):
        raise DTypeError(f"jacobian: y must be float, got {y.dtype}")
    if y.type.size == 0:
        raise ShapeError(f"jacobian: y has no elements (shape {format_shape(y.type.shape)})")
    flat = reshape(y, (y.type.size,))
    rows = [grad(getitem(flat, i), x, disconnected="zero") for i in range(y.type.size)]
    return _nest(rows, y.type.shape)


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
