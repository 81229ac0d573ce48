"""Forward-mode rules shared by ops (`Op.jvp`): ops linear in their inputs apply themselves
to the tangents, and multilinear ones (matmul, convolution) sum one term per input.

A tangent of None is zero; shape-only and non-float inputs never have one (see Op.jvp).
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..ir import Node
from ..ir.dtypes import is_float


def total(terms: Sequence[Optional[Node]]) -> Optional[Node]:
    """The sum of the terms that are not None (None when none is left)."""
    from .elementwise import add  # elementwise builds on the shape ops, which use this module

    present = [t for t in terms if t is not None]
    if not present:
        return None
    result = present[0]
    for t in present[1:]:
        result = add(result, t)
    return result


def linear(node: Node, tangents: Sequence[Optional[Node]], inputs: Optional[Sequence[int]] = None) -> Optional[Node]:
    """The tangent of an op linear in the inputs at `inputs` jointly (default: its float
    inputs that are not shape-only): the op applied to their tangents, zeros standing for
    those without one; the other inputs (shape templates, integer indices) are kept."""
    from .shape import zeros_like

    op = node.op
    if inputs is None:
        inputs = [i for i, x in enumerate(node.inputs) if is_float(x.dtype) and i not in op.shape_only_inputs]
    if all(tangents[i] is None for i in inputs):
        return None
    operands = [
        (zeros_like(x) if tangents[i] is None else tangents[i]) if i in inputs else x
        for i, x in enumerate(node.inputs)
    ]
    return Node.make(op, operands)


def multilinear(node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
    """The tangent of an op linear in each input separately (a @ b, conv(x, w)): the sum over
    inputs with a tangent of the op with that input replaced by its tangent."""
    return total([
        Node.make(node.op, [t if j == i else x for j, x in enumerate(node.inputs)])
        for i, t in enumerate(tangents) if t is not None
    ])
