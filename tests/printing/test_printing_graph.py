"""to_networkx and to_dot: the graph for other tools."""
from __future__ import annotations

import re

import networkx as nx
import numpy as np

import graphc as gc
from graphc.ir import toposort
from printing_helpers import mlp_loss

QUOTED = r'"(?:[^"\\]|\\.)*"'
NODE_STMT = re.compile(rf"^  n(\d+) \[label=({QUOTED}), shape=(\w+)(, peripheries=2)?\];$")
EDGE_STMT = re.compile(rf"^  n(\d+) -> n(\d+)(?: \[((?:label={QUOTED}|style=dashed)(?:, (?:label={QUOTED}|style=dashed))*)\])?;$")


def _unquote(text: str) -> str:
    """Read a DOT double-quoted string back (escapes: \\\\, \\", \\n)."""
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text[1:-1])


def test_networkx_nodes_edges_and_attributes():
    x = gc.tensor("x", (None, 3))
    w = gc.shared(np.ones((3, 2), "float32"), name="w")
    h = x @ w
    y = (h * h).sum(axis=1)
    g = gc.to_networkx(y)
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4  # x, w, matmul, mul, sum
    assert g.graph["outputs"] == [y.id]
    assert g.nodes[x.id] == {
        "op": "input", "params": "x", "kind": "input", "dtype": "float32",
        "shape": (None, 3), "type": "f32[?,3]", "label": "x",
    }
    assert g.nodes[w.id]["kind"] == "shared" and g.nodes[w.id]["label"] == "w"
    assert g.nodes[y.id]["op"] == "sum" and g.nodes[y.id]["params"] == "axes=(1,)"
    assert g.nodes[y.id]["label"] == "sum{axes=(1,)}" and g.nodes[y.id]["shape"] == (None,)
    assert g.edges[x.id, h.id]["position"] == 0 and g.edges[w.id, h.id]["position"] == 1
    mul = (h * h)
    assert g.edges[h.id, mul.id]["positions"] == (0, 1)  # x * x: one edge, both slots


def test_networkx_of_a_gradient_has_every_node_and_edge():
    loss, params = mlp_loss()
    grads = gc.grad(loss, params)
    nodes = toposort([loss, *grads])
    g = gc.to_networkx([loss, *grads])
    assert set(g.nodes) == {n.id for n in nodes}
    assert g.number_of_edges() == len({(i.id, n.id) for n in nodes for i in n.inputs})
    assert all(g.nodes[n.id]["type"] == str(n.type) for n in nodes)
    shape_only = [(u, v) for u, v, d in g.edges(data=True) if d["shape_only"]]
    assert shape_only and all(g.nodes[v]["op"] in ("broadcast_to", "reshape", "count") for _, v in shape_only)


def test_dot_is_well_formed_and_matches_the_graph():
    loss, params = mlp_loss()
    grads = gc.grad(loss, params)
    g = gc.to_networkx(grads)
    lines = gc.to_dot(grads).split("\n")
    assert lines[0] == 'digraph "graphc" {' and lines[1] == '  node [fontname="monospace"];'
    assert lines[-1] == "}"
    nodes = [NODE_STMT.match(line) for line in lines[2:-1] if "->" not in line]
    edges = [EDGE_STMT.match(line) for line in lines[2:-1] if "->" in line]
    assert all(nodes) and all(edges)
    assert {int(m[1]) for m in nodes} == set(g.nodes)
    assert {(int(m[1]), int(m[2])) for m in edges} == set(g.edges)
    assert {int(m[1]) for m in nodes if m[4]} == {o.id for o in grads}  # outputs: double border
    for m in nodes:
        attrs = g.nodes[int(m[1])]
        assert _unquote(m[2]) == f"{attrs['label']}\n{attrs['type']}"


def test_dot_quotes_awkward_labels():
    x = gc.tensor('say "hi"\\now', (2,))
    dot = gc.to_dot(gc.exp(x), name="my graph")
    assert dot.startswith('digraph "my graph" {')
    label = next(m[2] for m in map(NODE_STMT.match, dot.split("\n")) if m and m[3] == "box")
    assert label == r'"say \"hi\"\\now\nf32[2]"'
    assert _unquote(label) == 'say "hi"\\now\nf32[2]'
