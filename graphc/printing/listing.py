"""`listing`: a typed, first-order listing of equations read top to bottom, as a jaxpr.

    { lambda w:f32[10,3]; x:f32[?,10]. let
        t1:f32[?,3] = matmul x w
        t2:f32[?,3] = mul t1 0.5:f32[]
      in (t2) }

Shared variables come before `;`, inputs after; each other node is one equation
`name:type = op{params} operands`, after the equations of its operands. Scalar
constants are written in place as typed literals (`0.5:f32[]`); other constants get
an equation `t3:f32[2] = [1.0, 2.0]` (large ones abbreviated).
"""
from __future__ import annotations

from typing import Sequence

from ..ir import Node, toposort
from ..ops.leaves import Constant, Input, Shared
from .text import as_outputs, format_constant, fresh_names, leaf_names, node_label


def listing(expr_or_list: Node | Sequence[Node]) -> str:
    """The graph of the outputs as a jaxpr-like listing (see the module docstring)."""
    outputs, _ = as_outputs(expr_or_list)
    order = toposort(outputs)
    names = leaf_names(order)
    temps = fresh_names(names.values())
    equations = []
    for node in order:
        if isinstance(node.op, Constant) and node.ndim == 0:
            names[node] = f"{format_constant(node.op.value)}:{node.type}"
        elif node not in names:
            names[node] = next(temps)
            equations.append(node)

    def declare(kind: type) -> str:
        return " ".join(f"{names[n]}:{n.type}" for n in order if isinstance(n.op, kind))

    lines = [f"{{ lambda {declare(Shared)}; {declare(Input)}. let"]
    for node in equations:
        operands = "".join(f" {names[i]}" for i in node.inputs)
        lines.append(f"    {names[node]}:{node.type} = {node_label(node, {})}{operands}")
    lines.append(f"  in ({', '.join(names[o] for o in outputs)}) }}")
    return "\n".join(lines)
