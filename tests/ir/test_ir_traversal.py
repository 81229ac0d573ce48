"""Traversal: topological order, ancestors, clients, inputs, substitution and rebuilding."""
import numpy as np
import pytest

import graphc as gc
from graphc.ir import ancestors, clients, graph_inputs, rebuild, substitute, toposort
from graphc.ops import Elemwise


def _diamond():
    x, y = gc.tensor("x", (3,)), gc.tensor("y", (3,))
    a = gc.exp(x)
    b = a * y
    c = a + b
    return x, y, a, b, c


def test_toposort_puts_each_node_after_its_inputs_once():
    x, y, a, b, c = _diamond()
    order = toposort([c])
    assert len(order) == len(set(order)) == 5
    assert set(order) == {x, y, a, b, c}
    position = {n: k for k, n in enumerate(order)}
    for node in order:
        assert all(position[i] < position[node] for i in node.inputs)
    assert order[-1] is c


def test_toposort_of_several_outputs_shares_common_nodes():
    x, y, a, b, c = _diamond()
    order = toposort([b, c, a])
    assert len(order) == 5 and set(order) == {x, y, a, b, c}


def test_toposort_handles_deep_graphs_without_recursion():
    x = gc.tensor("x", ())
    node = x
    for k in range(5000):
        node = node + float(k % 7)
    order = toposort([node])
    assert order[-1] is node and x in order
    assert len(order) == 5000 + 1 + 7  # the adds, x, seven distinct constants


def test_ancestors_include_the_outputs():
    x, y, a, b, c = _diamond()
    assert ancestors([b]) == {x, y, a, b}
    assert ancestors([a]) == {x, a}


def test_clients_list_the_users_of_each_node():
    x, y, a, b, c = _diamond()
    users = clients([c])
    assert sorted(n.id for n in users[a]) == sorted([b.id, c.id])
    assert users[x] == [a] and users[c] == []


def test_graph_inputs_are_the_leaves():
    x, y, a, b, c = _diamond()
    assert set(graph_inputs([c])) == {x, y}
    k = gc.constant(2.0)
    assert set(graph_inputs([a * k])) == {x, k}


def test_substitute_replaces_and_rebuilds_the_rest():
    x, y, a, b, c = _diamond()
    z = gc.tensor("z", (3,))
    (c2,) = substitute([c], {y: z})
    assert c2 is not c
    assert c2 is gc.exp(x) + gc.exp(x) * z  # hash-consing: the rebuilt graph is the same node
    assert substitute([a], {y: z}) == [a]  # an untouched subgraph comes back unchanged
    xv, zv = np.array([0.0, 1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    np.testing.assert_allclose(c2.eval({x: xv, z: zv}), np.exp(xv) + np.exp(xv) * zv, rtol=1e-6)


def test_substitute_an_inner_node():
    x, y, a, b, c = _diamond()
    (c2,) = substitute([c], {a: gc.sqrt(x)})
    assert c2 is gc.sqrt(x) + gc.sqrt(x) * y


def test_substitute_reinfers_shapes():
    x = gc.tensor("x", (None, 3))
    y = (gc.exp(x) * gc.constant(np.ones(3, np.float32))).sum(axis=1) + x[:, 0]
    assert y.shape == (None,)
    x4 = gc.tensor("x4", (4, 3))
    (y4,) = substitute([y], {x: x4})
    assert y4.shape == (4,)
    assert all(n.type.is_static for n in toposort([y4]))
    xv = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    np.testing.assert_allclose(y4.eval({x4: xv}), np.exp(xv).sum(1) + xv[:, 0], rtol=1e-5)


def test_substitute_with_an_incompatible_shape_raises():
    x = gc.tensor("x", (None, 3))
    y = x + gc.constant(np.ones(3, np.float32))
    with pytest.raises(gc.ShapeError, match=r"add: shapes \(4, 5\) and \(3,\) do not broadcast"):
        substitute([y], {x: gc.tensor("bad", (4, 5))})


def test_rebuild_with_a_transform():
    x, y, a, b, c = _diamond()

    def mul_to_add(old, inputs):
        op = Elemwise("add") if old.op == Elemwise("mul") else old.op
        return gc.Node.make(op, inputs)

    (c2,) = rebuild([c], transform=mul_to_add)
    assert c2 is gc.exp(x) + (gc.exp(x) + y)


def test_rebuild_without_changes_returns_the_same_nodes():
    x, y, a, b, c = _diamond()
    assert rebuild([c, b]) == [c, b]
