"""debugprint: a tree with ids, ops with params, dtypes and shapes; shared subtrees once."""
from __future__ import annotations

import re

import numpy as np
import pytest

import graphc as gc
from graphc.ir import toposort
from printing_helpers import chain, mlp_loss

LINE = re.compile(r"^(?P<prefix>[│├└─ ]*)(?P<label>.+) \[id (?P<id>[A-Z]+)\] (?P<type>\S+)(?P<mark> ···| ↓)?$")


def test_a_shared_subtree_is_printed_once_and_referenced_after():
    x = gc.tensor("x", (3,))
    e = gc.exp(x)
    assert gc.debugprint(e * e + e) == "\n".join([
        "add [id A] f32[3]",
        "├─ mul [id B] f32[3]",
        "│  ├─ exp [id C] f32[3]",
        "│  │  └─ x [id D] f32[3]",
        "│  └─ exp [id C] f32[3] ···",
        "└─ exp [id C] f32[3] ···",
    ])


def test_ops_show_params_dtype_and_unknown_dims():
    x = gc.tensor("x", (None, 10))
    w = gc.shared(np.ones((10, 4)), name="w")
    y = (x.astype("float64") @ w)[:, 1:3].sum(axis=1)
    assert gc.debugprint(y) == "\n".join([
        "sum{axes=(1,)} [id A] f64[?]",
        "└─ getitem{:, 1:3} [id B] f64[?,2]",
        "   └─ matmul [id C] f64[?,4]",
        "      ├─ cast{float64} [id D] f64[?,10]",
        "      │  └─ x [id E] f32[?,10]",
        "      └─ w [id F] f64[10,4]",
    ])


def test_outputs_share_ids_and_constants_show_their_value():
    x = gc.tensor("x", (2,), dtype="int64")
    s = x * 3
    assert gc.debugprint([s, s - x]) == "\n".join([
        "mul [id A] i64[2]",
        "├─ x [id B] i64[2]",
        "└─ 3 [id C] i64[]",
        "sub [id D] i64[2]",
        "├─ mul [id A] i64[2] ···",
        "└─ x [id B] i64[2]",
    ])


def _check_tree(text: str, outputs: list) -> tuple[list[re.Match], dict[str, int]]:
    """Every line parses; every node of the graph has one id; each is expanded once.

    Returns the lines and the line number where each expanded node's subtree starts."""
    lines = [LINE.match(line) for line in text.split("\n")]
    assert all(lines), text
    nodes = toposort(outputs)
    assert len({m["id"] for m in lines}) == len(nodes)
    expanded = {m["id"]: k for k, (m, nxt) in enumerate(zip(lines, lines[1:] + [None]))
                if nxt is not None and len(nxt["prefix"]) > len(m["prefix"])}
    assert len(expanded) == sum(1 for n in nodes if n.inputs)
    assert sum(1 for m in lines if m["mark"] is None) == len(expanded) + sum(
        1 for m in lines if m["id"] not in expanded)  # no node expanded twice
    return lines, expanded


def test_a_gradient_graph_prints_each_node_once():
    loss, params = mlp_loss()
    grads = gc.grad(loss, params)
    text = gc.debugprint(grads, max_depth=None)
    _check_tree(text, grads)
    # one line per output and per input slot of each node: linear in the graph
    assert text.count("\n") + 1 == len(grads) + sum(len(n.inputs) for n in toposort(grads))


def test_deep_trees_are_cut_and_continued_below():
    start = gc.scalar("s")
    h = chain(start, 60)
    grad = gc.grad(h, start)
    text = gc.debugprint(grad, max_depth=8)
    lines, expanded = _check_tree(text, [grad])
    assert max(len(m["prefix"]) for m in lines) <= 3 * 8
    cuts = [(k, m["id"]) for k, m in enumerate(lines) if m["mark"] == " ↓"]
    assert cuts and all(expanded[i] > k for k, i in cuts)  # each cut subtree follows below


def test_max_depth_must_leave_room_for_the_root():
    with pytest.raises(ValueError, match="max_depth must be at least 1"):
        gc.debugprint(gc.exp(gc.scalar("x")), max_depth=0)
