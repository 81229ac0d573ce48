"""Symbol-to-symbol reverse mode: `grad` adds gradient nodes to the graph.

Nothing is computed here: each op's `vjp` writes its input gradients with other ops,
so gradients print, simplify, compile and differentiate again like any graph.
"""
from __future__ import annotations

from typing import Callable, Literal, Optional, Sequence

import numpy as np

from ..ir import DisconnectedGradientError, DTypeError, Node, ShapeError, ancestors, format_shape, toposort
from ..ir.dtypes import is_float
from ..ops.convert import as_node
from ..ops.elementwise import add
from ..ops.leaves import constant
from ..ops.shape import match_shape, zeros_like

Disconnected = Literal["raise", "zero", "none"]


def _differentiable(node: Node) -> bool:
    return is_float(node.dtype)


def _on_path(wrt: Sequence[Node], order: list[Node]) -> set[Node]:
    """Nodes of `order` (the outputs' ancestors) that a float path from some `wrt` reaches."""
    reaches: set[Node] = set(w for w in wrt if _differentiable(w))
    for node in order:
        if node not in reaches and _differentiable(node) and any(i in reaches for i in node.inputs):
            reaches.add(node)
    return reaches


def backprop(outputs_and_grads: Sequence[tuple[Node, Node]], wrt: Sequence[Node]) -> dict[Node, Node]:
    """Propagate the given output gradients back to `wrt`; returns the gradients found."""
    order = toposort([o for o, _ in outputs_and_grads])
    path = _on_path(wrt, order)
    pending: dict[Node, list[Node]] = {}
    for out, g in outputs_and_grads:
        if out in path:
            pending.setdefault(out, []).append(g)
    grads: dict[Node, Node] = {}
    for node in reversed(order):
        parts = pending.pop(node, None)
        if not parts:
            continue
        g = parts[0]
        for p in parts[1:]:
            g = add(g, p)
        grads[node] = g
        if not any(i in path for i in node.inputs):
            continue
        for inp, ig in zip(node.inputs, node.op.vjp(node, g)):
            if ig is not None and inp in path:
                pending.setdefault(inp, []).append(_shaped_like(node, inp, ig))
    return {w: grads[w] for w in wrt if w in grads}


def _shaped_like(node: Node, inp: Node, g: Node) -> Node:
    """`g`, a gradient of `inp` from `node`'s vjp, given the sizes of `inp` it does not know
    (a vjp may lose one: for x of unknown shape, x @ w gives w (m, n) the gradient (?, n))."""
    return fit_shape(g, inp, f"{node.op.name}: gradient shape", "input shape")


def fit_shape(value: Node, like: Node, what: str, expected: str) -> Node:
    """`value` given the sizes of `like` it does not know (checked when run). Only known
    sizes that differ are an error: "{what} (shape) does not fit {expected} (shape)"."""
    pairs = list(zip(value.type.shape, like.type.shape))
    if value.ndim != like.ndim or any(a is not None and b is not None and a != b for a, b in pairs):
        raise ShapeError(f"{what} {format_shape(value.type.shape)} does not fit "
                         f"{expected} {format_shape(like.type.shape)}")
    return match_shape(value, like) if any(a is None and b is not None for a, b in pairs) else value


def grad(
    cost: Node,
    wrt: Node | Sequence[Node],
    disconnected: Disconnected = "raise",
) -> Node | list[Node]:
    """Gradient of a scalar `cost` with respect to `wrt` (one node or a list), as nodes.

    `disconnected` says what to do for a `wrt` the cost does not depend on: "raise"
    (default), "zero" (a zero gradient) or "none" (None in its place).
    """
    check_disconnected("grad", disconnected)
    cost = as_node(cost)
    if cost.ndim != 0:
        raise ShapeError(f"grad: the cost must be a scalar, got shape {cost.type.shape}; sum or mean it first")
    if not is_float(cost.dtype):
        raise DTypeError(f"grad: the cost must be float, got {cost.dtype}")
    single = isinstance(wrt, Node)
    targets = [wrt] if single else list(wrt)
    for w in targets:
        if not isinstance(w, Node):
            raise TypeError(f"grad: wrt must be nodes, got {type(w).__name__}")
        if not is_float(w.dtype):
            raise DTypeError(f"grad: cannot differentiate with respect to {w!r} of dtype {w.dtype}")
    found = backprop([(cost, constant(np.ones((), cost.dtype)))], targets)
    results = pick(found, targets, disconnected, lambda w: f"grad: the cost does not depend on {w!r}"
                   + (ONLY_INTEGER_PATHS.format("gradient") if w in ancestors([cost]) else ""))
    return results[0] if single else results


#: Why a node that reaches another is disconnected from it.
ONLY_INTEGER_PATHS = " through float values (only through integer or bool ones, which carry no {})"


def check_disconnected(caller: str, disconnected: str) -> None:
    """ValueError unless `disconnected` is one of "raise", "zero" and "none"."""
    if disconnected not in ("raise", "zero", "none"):
        raise ValueError(f"{caller}: disconnected must be 'raise', 'zero' or 'none', got {disconnected!r}")


def pick(found: dict[Node, Node], nodes: Sequence[Node], disconnected: Disconnected,
         unreached: Callable[[Node], str]) -> list[Optional[Node]]:
    """found[n] for each of `nodes`; for one not found, as `disconnected` says: raise
    DisconnectedGradientError (saying `unreached(n)`), zeros of its shape, or None."""
    results: list[Optional[Node]] = []
    for n in nodes:
        if n in found:
            results.append(found[n])
        elif disconnected == "raise":
            raise DisconnectedGradientError(f"{unreached(n)}; pass disconnected='zero' to get zeros")
        else:
            results.append(zeros_like(n) if disconnected == "zero" else None)
    return results
