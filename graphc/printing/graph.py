"""Graphs for other tools: a networkx DiGraph, and DOT text for graphviz."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..ir import Node, toposort
from ..ops.leaves import Constant, Input, Shared
from .text import as_outputs, leaf_names, node_label, param_text

if TYPE_CHECKING:
    import networkx as nx

#: How each kind of node is drawn in DOT.
DOT_SHAPES = {"input": "box", "shared": "box3d", "constant": "plaintext", "op": "ellipse"}


def to_networkx(outputs: Node | Sequence[Node]) -> "nx.DiGraph":
    """The graph of `outputs` as a DiGraph keyed by node id.

    Node attributes: `op` (the op's name), `params` (text), `kind` (input, shared,
    constant or op), `dtype` (name), `shape` (ints or None), `type` (`f32[?,10]`) and
    `label` (a leaf's name, a constant's value, or `op{params}`). Edges run from an
    input to its user, with `position`, the first input slot it fills, `positions`, all
    of them (as in `x * x`), and `shape_only`, true when the user reads only the input's
    shape. `graph.graph["outputs"]` lists the output ids.
    """
    import networkx as nx  # imported on use: it adds ~50 ms to `import graphc`

    outs, _ = as_outputs(outputs)
    order = toposort(outs)
    names = leaf_names(order)
    graph = nx.DiGraph(outputs=[o.id for o in outs])
    for node in order:
        graph.add_node(
            node.id, op=node.op.name, params=param_text(node.op), kind=_kind(node),
            dtype=node.dtype.name, shape=node.type.shape, type=str(node.type),
            label=node_label(node, names),
        )
        for position, inp in enumerate(node.inputs):
            shape_only = position in node.op.shape_only_inputs
            if graph.has_edge(inp.id, node.id):
                edge = graph.edges[inp.id, node.id]
                edge["positions"] += (position,)
                edge["shape_only"] = edge["shape_only"] and shape_only
            else:
                graph.add_edge(
                    inp.id, node.id, position=position, positions=(position,), shape_only=shape_only
                )
    return graph


def to_dot(outputs: Node | Sequence[Node], name: str = "graphc") -> str:
    """DOT text for graphviz (`dot -Tsvg`): each node labelled with its text and type.

    Inputs are boxes, shared variables 3-d boxes, constants plain text, ops ellipses;
    outputs have a double border; edges into ops with several inputs name the slot;
    edges that carry only a shape are dashed.
    """
    graph = to_networkx(outputs)
    outs = set(graph.graph["outputs"])
    lines = [f"digraph {_quote(name)} {{", '  node [fontname="monospace"];']
    for key, attrs in graph.nodes(data=True):
        style = ", peripheries=2" if key in outs else ""
        label = f"{attrs['label']}\n{attrs['type']}"
        lines.append(f"  n{key} [label={_quote(label)}, shape={DOT_SHAPES[attrs['kind']]}{style}];")
    for src, dst, attrs in graph.edges(data=True):
        several = graph.in_degree(dst) > 1 or len(attrs["positions"]) > 1
        edge_attrs = [f"label={_quote(','.join(map(str, attrs['positions'])))}"] if several else []
        edge_attrs += ["style=dashed"] if attrs["shape_only"] else []
        suffix = f" [{', '.join(edge_attrs)}]" if edge_attrs else ""
        lines.append(f"  n{src} -> n{dst}{suffix};")
    lines.append("}")
    return "\n".join(lines)


def _kind(node: Node) -> str:
    if isinstance(node.op, Input):
        return "input"
    if isinstance(node.op, Shared):
        return "shared"
    return "constant" if isinstance(node.op, Constant) else "op"


def _quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
