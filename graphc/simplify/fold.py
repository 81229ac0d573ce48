"""Constant folding: ops whose value inputs are constants become constants.

Folding never grows the graph's data: a result larger than its largest constant input
(a broadcast of a scalar, say) stays symbolic, so the backend keeps broadcasting it.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import Node
from ..ops.collective import AllReduceSum
from ..ops.leaves import Constant, constant
from ..ops.random import RandomUniform
from ..ops.reduce import CountOf
from .rule import Rule, rule

RULES: list[Rule] = []


def _arguments(node: Node) -> Optional[list[np.ndarray]]:
    """numpy arguments for the reference, or None unless every value input is constant
    and every shape-only input has a static shape."""
    args = []
    for position, x in enumerate(node.inputs):
        if isinstance(x.op, Constant):
            args.append(x.op.value)
        elif position in node.op.shape_only_inputs and x.type.is_static:
            args.append(np.broadcast_to(np.zeros((), x.dtype), x.type.shape))
        else:
            return None
    return args


@rule(RULES, None)
def fold_constants(node: Node) -> Optional[Node]:
    """An op of constants is the constant it computes (when no larger than its inputs); not a
    random draw, nor a sum over processes (its value is known only when the processes run it)."""
    if not node.inputs or isinstance(node.op, (RandomUniform, AllReduceSum)) or not node.type.is_static:
        return None
    args = _arguments(node)
    if args is None:
        return None
    largest = max((x.type.size for x in node.inputs if isinstance(x.op, Constant)), default=1)
    if node.type.size > largest:
        return None
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(node.op.reference(*args), dtype=node.dtype)
    except Exception:  # noqa: BLE001 - an op that fails on these values fails when run instead
        return None
    return constant(value)


@rule(RULES, CountOf)
def fold_count(node: Node) -> Optional[Node]:
    """The number of elements over axes whose sizes are known is a constant."""
    dims = [node.inputs[0].type.shape[a] for a in node.op.axes]
    if None in dims:
        return None
    return constant(np.asarray(np.prod(dims, dtype=np.int64), dtype=node.dtype))
