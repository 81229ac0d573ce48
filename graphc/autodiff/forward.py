"""Symbol-to-symbol forward mode: `jvp` adds tangent nodes to the graph.

Each op's `jvp` rule (Op.jvp) writes its output's tangent from its inputs' tangents with
other ops, in one sweep from the inputs to the outputs: a true forward mode, not the
transpose of a vjp. Tangents print, simplify, compile and differentiate again like any
graph; `hvp` is forward over reverse (the jvp of a gradient).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ..ir import DTypeError, Node, ancestors, toposort
from ..ir.dtypes import is_float
from ..ops.convert import as_node
from ..ops.shape import zeros_like
from .grad import ONLY_INTEGER_PATHS, Disconnected, check_disconnected, fit_shape, grad, pick


def pushforward(seeds: dict[Node, Node], outputs: Sequence[Node]) -> dict[Node, Optional[Node]]:
    """Propagate the tangents `seeds` (node -> tangent of its shape and dtype) to every float
    node of the outputs' graph they reach; returns the tangents found, seeds included, None
    for a node reached with a zero tangent (through floor, say: connected, as for grad).
    A seeded node's tangent is its seed whatever its inputs' tangents are."""
    tangents: dict[Node, Optional[Node]] = dict(seeds)
    for node in toposort(outputs):
        if node in tangents or not is_float(node.dtype):
            continue
        shape_only = node.op.shape_only_inputs
        reached = [x in tangents and i not in shape_only for i, x in enumerate(node.inputs)]
        if not any(reached):
            continue
        given = [tangents[x] if r else None for x, r in zip(node.inputs, reached)]
        t = None if all(g is None for g in given) else node.op.jvp(node, given)
        if t is not None:
            if t.dtype != node.dtype:
                raise DTypeError(f"{node.op.name}: the forward rule gave a tangent of dtype {t.dtype} "
                                 f"for an output of dtype {node.dtype}")
            t = fit_shape(t, node, f"{node.op.name}: tangent shape", "output shape")
        tangents[node] = t
    return tangents


def jvp(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    tangents: Any | Sequence[Any],
    disconnected: Disconnected = "raise",
) -> Node | list[Node]:
    """The tangents of `outputs` (one node or a list) when `inputs` move along `tangents`:
    J t by forward mode, as nodes. Like `grad` (and PyTensor's Rop) it returns the tangents
    only: the outputs' values are the output nodes themselves.

    `inputs` is one float node or a list; `tangents` one node or array per input, of its
    dtype and shape. `disconnected` says what to do for an output no input reaches:
    "raise" (default), "zero" (a zero tangent) or "none" (None in its place).
    """
    check_disconnected("jvp", disconnected)
    single = isinstance(outputs, Node)
    outs = [as_node(o) for o in ([outputs] if single else outputs)]
    for o in outs:
        if not is_float(o.dtype):
            raise DTypeError(f"jvp: outputs must be float (only float values have tangents), got {o!r}")
    seeds = _seeds(inputs, tangents)
    found = {o: zeros_like(o) if t is None else t for o, t in pushforward(seeds, outs).items() if o in outs}
    results = pick(found, outs, disconnected,
                   lambda o: f"jvp: the output {o!r} does not depend on the inputs"
                   + (ONLY_INTEGER_PATHS.format("tangent") if any(i in ancestors([o]) for i in seeds) else ""))
    return results[0] if single else results


def _seeds(inputs: Node | Sequence[Node], tangents: Any | Sequence[Any]) -> dict[Node, Node]:
    """Each input's tangent, checked: one per input, of its dtype and shape."""
    single = isinstance(inputs, Node)
    ins = [inputs] if single else list(inputs)
    if not single and not isinstance(tangents, (list, tuple)):
        raise TypeError(f"jvp: inputs is a list, so tangents must be a list or tuple (one per input), "
                        f"got {type(tangents).__name__}")
    ts = [tangents] if single else list(tangents)
    if len(ts) != len(ins):
        raise ValueError(f"jvp: {len(ins)} inputs but {len(ts)} tangents")
    seeds: dict[Node, Node] = {}
    for x, t in zip(ins, ts):
        if not isinstance(x, Node):
            raise TypeError(f"jvp: inputs must be nodes, got {type(x).__name__}")
        if not is_float(x.dtype):
            raise DTypeError(f"jvp: input {x!r} has dtype {x.dtype}; only float inputs have tangents")
        if x in seeds:
            raise ValueError(f"jvp: input {x!r} is given twice")
        t = as_node(t)
        if t.dtype != x.dtype:
            raise DTypeError(f"jvp: the tangent of input {x!r} has dtype {t.dtype}; it must have the "
                             f"input's dtype {x.dtype}")
        seeds[x] = fit_shape(t, x, "jvp: tangent", f"input {x.name or x.op.name}")
    return seeds


def hvp(cost: Node, wrt: Node | Sequence[Node], vectors: Any | Sequence[Any]) -> Node | list[Node]:
    """H v by forward over reverse: the jvp of grad(cost, wrt) along `vectors` (one per
    variable, of its dtype and shape). Equals `hessian_vector_product` (reverse over
    reverse) and, unlike it, needs no second reverse sweep."""
    params = [wrt] if isinstance(wrt, Node) else list(wrt)
    grads = grad(cost, params, disconnected="zero")
    return jvp(grads[0] if isinstance(wrt, Node) else grads, wrt, vectors, disconnected="zero")
