"""Second-order and vector-valued derivatives built from `grad`."""
from __future__ import annotations

from typing import Sequence

from ..ir import Node, ShapeError
from ..ops.elementwise import mul
from ..ops.indexing import getitem
from ..ops.reduce import reduce_sum
from ..ops.shape import flatten, reshape, stack
from .grad import grad


def jacobian(y: Node, x: Node) -> Node:
    """d y / d x with shape y.shape + x.shape, one reverse pass per element of y.

    Meant for small outputs: the graph grows with y's size.
    """
    if not y.type.is_static:
        raise ShapeError(f"jacobian: y's shape must be known, got {y.type.shape}")
    flat = flatten(y, 0) if y.ndim else reshape(y, (1,))
    rows = [grad(getitem(flat, i), x, disconnected="zero") for i in range(flat.type.shape[0])]
    return reshape(stack(rows), y.type.shape + x.type.shape) if x.type.is_static else stack(rows)


def hessian_vector_product(
    cost: Node, wrt: Node | Sequence[Node], vectors: Node | Sequence[Node]
) -> Node | list[Node]:
    """H v without forming H: the gradient of <grad(cost), v> (Pearlmutter's trick)."""
    single = isinstance(wrt, Node)
    params = [wrt] if single else list(wrt)
    vs = [vectors] if isinstance(vectors, Node) else list(vectors)
    if len(vs) != len(params):
        raise ValueError(f"hessian_vector_product: {len(params)} variables but {len(vs)} vectors")
    grads = grad(cost, params, disconnected="zero")
    inner = reduce_sum(mul(grads[0], vs[0]))
    for g, v in zip(grads[1:], vs[1:]):
        inner = inner + reduce_sum(mul(g, v))
    hv = grad(inner, params, disconnected="zero")
    return hv[0] if single else hv


def hessian(cost: Node, x: Node) -> Node:
    """The full Hessian of a scalar cost with respect to a small `x`: shape x.shape * 2."""
    return jacobian(grad(cost, x), x)
