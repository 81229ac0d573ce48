"""Gradient graphs after simplify: the forms a person would write, the same values, fewer
nodes, and finite values where the raw forms overflow."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.ir import toposort
from graphc.ops import CountOf
from graphc.ops.nn import OneHot, Softmax
from graphc.ops.reduce import count
from graphc.simplify import node_count, simplify
from simplify_helpers import assert_same_values, feed

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_simplify  # noqa: E402 - the table's graphs, built once for the benchmark and here


def _cross_entropy_grads(batch):
    z = gc.tensor("z", (batch, 10))
    y = gc.tensor("y", (batch,), "int64")
    by_hand = -gc.sum(gc.nn.one_hot(y, 10) * gc.log(gc.nn.softmax(z, axis=1))) / count(z, (0,), "float32")
    return z, y, gc.grad(gc.nn.cross_entropy(z, y), z), gc.grad(by_hand, z)


def test_sigmoid_gradient_is_s_times_one_minus_s_sharing_s():
    x = gc.tensor("x", (3, 4))
    g = simplify(gc.grad(gc.sum(gc.sigmoid(x)), x))
    s = gc.sigmoid(x)
    assert g.op.name == "mul" and s in g.inputs
    (other,) = [i for i in g.inputs if i is not s]
    assert other.op.name == "sub" and other.inputs[1] is s and other.inputs[0].op.value == 1
    assert gc.pprint(g) == "t1 * (1.0 - t1)\nwhere t1 = sigmoid(x)"


def test_tanh_squared_gradient():
    x = gc.tensor("x", (3, 4))
    g = simplify(gc.grad(gc.sum(gc.tanh(x) ** 2), x))
    t = gc.tanh(x)
    ops = sorted(n.op.name for n in toposort([g]) if n.inputs)
    assert ops == ["mul", "mul", "mul", "sub", "tanh"]
    assert t in toposort([g])


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    z, y, grad, _ = _cross_entropy_grads(4)
    g = simplify(grad)
    assert g.op.name == "mul" and g.inputs[0].op.value == 0.25
    diff = g.inputs[1]
    assert diff.op.name == "sub"
    assert isinstance(diff.inputs[0].op, Softmax) and diff.inputs[0].inputs[0] is z
    assert isinstance(diff.inputs[1].op, OneHot) and diff.inputs[1].inputs[0] is y
    assert gc.pprint(g) == "0.25 * (softmax(z, axis=1) - one_hot(y, num_classes=10, dtype=float32))"


def test_cross_entropy_gradient_with_unknown_batch_divides_by_the_count():
    z, y, grad, _ = _cross_entropy_grads(None)
    g = simplify(grad)
    assert g.op.name == "truediv"
    diff, n = g.inputs
    assert isinstance(n.op, CountOf) and n.inputs[0] is z
    assert isinstance(diff.inputs[0].op, Softmax) and isinstance(diff.inputs[1].op, OneHot)
    assert re.fullmatch(r"\(softmax\(z, axis=1\) - one_hot\(y, .*\)\) / count\(z\.shape, .*\)", gc.pprint(g))


@pytest.mark.parametrize("batch", [4, None])
def test_cross_entropy_by_hand_through_log_softmax_gives_the_same_node(batch):
    _, _, library, by_hand = _cross_entropy_grads(batch)
    assert simplify(by_hand) is simplify(library)


@pytest.mark.parametrize("batch", [4, None])
def test_cross_entropy_gradients_are_finite_for_huge_logits(batch, rng):
    z, y, library, by_hand = _cross_entropy_grads(batch)
    logits = (rng.normal(size=(4, 10)) * 1e4).astype(np.float32)
    labels = rng.integers(0, 10, size=4)
    values = {z: logits, y: labels}
    with np.errstate(all="ignore"):
        raw = gc.evaluate([library], values)[0]
        simple, hand = gc.evaluate(simplify([library, by_hand]), values)
    assert np.all(np.isfinite(raw)) and np.all(np.isfinite(simple)) and np.all(np.isfinite(hand))
    np.testing.assert_allclose(simple, raw, atol=1e-6)
    np.testing.assert_allclose(hand, raw, atol=1e-6)


def test_log_softmax_loss_is_finite_for_huge_logits():
    z = gc.tensor("z", (2, 3))
    loss = -gc.sum(gc.log(gc.nn.softmax(z, axis=1))[:, 0])
    logits = np.array([[0, 1e4, -1e4], [5e3, 0, 1]], np.float32)
    with np.errstate(all="ignore"):
        assert not np.isfinite(loss.eval({z: logits}))
    assert np.isfinite(simplify(loss).eval({z: logits}))


@pytest.mark.parametrize("name, build", bench_simplify.CASES)
def test_table_graphs_shrink_and_keep_their_values(name, build, rng):
    outputs = build()
    simplified = simplify(outputs)
    assert node_count(simplified) < node_count(outputs)
    assert [s.type for s in simplified] == [o.type for o in outputs]
    assert_same_values(outputs, simplified, feed(outputs, rng), "finite")


def test_cnn_training_graph_keeps_its_values(rng):
    step = bench_simplify.cnn_training_step()
    simplified = simplify(step)
    assert_same_values(step, simplified, feed(step, rng), "finite")
