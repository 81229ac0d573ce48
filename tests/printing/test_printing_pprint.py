"""pprint: exact text for small expressions, and text that parses back to the same graph."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.ir import Node, Op, TensorType
from printing_helpers import chain, mlp_loss

a, b, c = gc.scalar("a"), gc.scalar("b"), gc.scalar("c")
x = gc.tensor("x", (3, 4))
w = gc.tensor("w", (4, 5))
q = gc.tensor("q", (2, 3, 4))
i = gc.tensor("i", (3,), dtype="int64")

#: What the printed names mean when the text is read back as Python.
NAMESPACE = {
    "a": a, "b": b, "c": c, "x": x, "w": w, "q": q, "i": i,
    "exp": gc.exp, "tanh": gc.tanh, "maximum": gc.maximum, "where": gc.where,
    "cast": gc.cast, "float64": "float64", "sum": gc.sum, "max": gc.max,
    "logsumexp": gc.logsumexp, "reshape": gc.reshape, "transpose": gc.transpose,
    "expand_dims": gc.expand_dims, "squeeze": gc.squeeze, "concatenate": gc.concatenate,
    "broadcast_to": gc.broadcast_to,
}


def read_back(text: str, namespace: dict = NAMESPACE) -> Node:
    """Evaluate pprint's text as Python: the `where` bindings first, then the expression."""
    main, *bindings = text.split("\n")
    scope = dict(namespace)
    for line in bindings:
        name, expr = line.removeprefix("where").strip().split(" = ", 1)
        scope[name] = eval(expr, {}, scope)  # noqa: S307 - our own printer's output
    return eval(main, {}, scope)  # noqa: S307


CASES = [
    # associativity: only the parentheses the tree needs
    (lambda: a - (b - c), "a - (b - c)"),
    (lambda: (a - b) - c, "a - b - c"),
    (lambda: (a * b) * c, "a * b * c"),
    (lambda: a * (b * c), "a * (b * c)"),
    (lambda: a / (b * c), "a / (b * c)"),
    (lambda: (a + b) * c, "(a + b) * c"),
    (lambda: a + b * c, "a + b * c"),
    (lambda: a ** b ** c, "a ** b ** c"),
    (lambda: (a ** b) ** c, "(a ** b) ** c"),
    # unary minus
    (lambda: -a, "-a"),
    (lambda: -(a + b), "-(a + b)"),
    (lambda: -(a ** 2), "-a ** 2.0"),
    (lambda: (-a) ** 2, "(-a) ** 2.0"),
    (lambda: -(-a), "-(-a)"),
    (lambda: a - (-b), "a - (-b)"),
    (lambda: -a * b, "-a * b"),
    (lambda: a * -1.5, "a * (-1.5)"),
    (lambda: a ** -b, "a ** (-b)"),
    # comparisons and logic (Python's precedence: & binds tighter than <)
    (lambda: (a < b) & (b <= c), "(a < b) & (b <= c)"),
    (lambda: ~(a > b) | (a > c), "~(a > b) | (a > c)"),
    # calls
    (lambda: gc.exp(a + b) * 0.5, "exp(a + b) * 0.5"),
    (lambda: gc.where(a > 0, a, 0.0), "where(a > 0.0, a, 0.0)"),
    (lambda: gc.maximum(a, b), "maximum(a, b)"),
    (lambda: gc.cast(a, "float64"), "cast(a, float64)"),
    # matmul, transpose
    (lambda: x @ w, "x @ w"),
    (lambda: (x @ w).T, "(x @ w).T"),
    (lambda: x.T * 2, "x.T * 2.0"),
    (lambda: gc.transpose(q, (0, 2, 1)), "transpose(q, (0, 2, 1))"),
    # reductions with their params
    (lambda: x.sum(), "sum(x)"),
    (lambda: x.sum(axis=1), "sum(x, axis=1)"),
    (lambda: q.max(axis=(0, 2), keepdims=True), "max(q, axis=(0, 2), keepdims=True)"),
    (lambda: gc.logsumexp(x, axis=-1), "logsumexp(x, axis=1)"),
    (lambda: x.mean(axis=0), "sum(x, axis=0) / 3.0"),
    # indexing
    (lambda: x[0], "x[0]"),
    (lambda: x[:, 1:3], "x[:, 1:3]"),
    (lambda: x[::2, -1], "x[::2, -1]"),
    (lambda: x[None], "x[None]"),
    (lambda: (x + 1)[1], "(x + 1.0)[1]"),
    # shapes
    (lambda: x.reshape(-1), "reshape(x, (-1,))"),
    (lambda: gc.expand_dims(x, 1), "expand_dims(x, 1)"),
    (lambda: gc.squeeze(gc.expand_dims(x, (0, 2)), (0, 2)), "squeeze(expand_dims(x, (0, 2)), (0, 2))"),
    (lambda: gc.concatenate([x, -x], axis=1), "concatenate([x, -x], axis=1)"),
    (lambda: gc.broadcast_to(a, (3, 4)), "broadcast_to(a, (3, 4))"),
    # constants by value
    (lambda: i + 2, "i + 2"),
    (lambda: x + np.float32(1e-8), "x + 1e-08"),
    (lambda: x * np.array([1, 2, 3, 4], "float32"), "x * [1.0, 2.0, 3.0, 4.0]"),
]


@pytest.mark.parametrize("build, expected", CASES, ids=[e for _, e in CASES])
def test_exact_text_that_reads_back_as_the_same_node(build, expected):
    expr = build()
    assert gc.pprint(expr) == expected
    assert read_back(expected) is expr  # the parentheses are the ones the tree needs


def test_constants_are_compact():
    assert gc.pprint(gc.constant(0.5)) == "0.5"
    assert gc.pprint(gc.constant(np.float64(-2.25))) == "-2.25"
    assert gc.pprint(gc.constant(True)) == "True"
    assert gc.pprint(gc.constant(np.arange(4.0).reshape(2, 2))) == "[[0.0, 1.0], [2.0, 3.0]]"
    assert gc.pprint(gc.constant(np.zeros((30, 40), "float32"))) == "full((30, 40), 0.0)"
    assert gc.pprint(gc.constant(np.arange(12.0).reshape(3, 4))) == "array(f64[3,4])"


def test_shared_variables_print_by_name_and_templates_as_shape():
    v = gc.shared(np.ones((3, 4), "float32"), name="v")
    assert gc.pprint(v * x) == "v * x"
    t = gc.tensor("t", (None, 4))
    s = gc.broadcast_to(gc.constant(np.float32(0)), t)  # target known only at run time
    assert gc.pprint(s) == "broadcast_to(0.0, t.shape)"


def test_same_label_on_different_inputs_is_told_apart():
    other_a = gc.scalar("a")
    assert gc.pprint(a + other_a) == "a + a#2"


@dataclass(frozen=True)
class Softmax(Op):
    """A stand-in for an op the printer has never heard of (a dataclass with params)."""

    axis: int
    log: bool = False

    def infer_type(self, z: TensorType) -> TensorType:
        return z


@dataclass(frozen=True)
class Conv2d(Op):
    """An unknown op that writes its own params text; its second input is shape-only."""

    stride: int
    shape_only_inputs = (1,)

    def params_str(self) -> str:
        return f"stride={self.stride}"

    def infer_type(self, x: TensorType, like: TensorType) -> TensorType:
        return x


def test_unknown_ops_print_as_calls_with_their_params():
    assert gc.pprint(Node.make(Softmax(-1), [x])) == "softmax(x, axis=-1)"  # default omitted
    assert gc.pprint(Node.make(Softmax(1, log=True), [x])) == "softmax(x, axis=1, log=True)"
    assert gc.pprint(Node.make(Conv2d(2), [x, w])) == "conv2d(x, w.shape, stride=2)"


def test_shared_subexpressions_are_named_once():
    e = gc.exp(a + b)
    assert gc.pprint(e * e + e) == "t1 * t1 + t1\nwhere t1 = exp(a + b)"
    f = e * 2.0
    text = gc.pprint(f + f * e)
    assert text == "t2 + t2 * t1\nwhere t1 = exp(a + b)\n      t2 = t1 * 2.0"
    assert read_back(text) is f + f * e


def test_a_list_prints_numbered_lines_and_one_where_block():
    e = gc.exp(a)
    assert gc.pprint([e + 1, e * 2]) == "[0] t1 + 1.0\n[1] t1 * 2.0\nwhere t1 = exp(a)"
    assert gc.pprint([e, e * 2]) == "[0] t1\n[1] t1 * 2.0\nwhere t1 = exp(a)"


def test_names_for_shared_nodes_avoid_the_users_labels():
    t1 = gc.scalar("t1")
    e = gc.exp(t1)
    assert gc.pprint(e * e) == "t2 * t2\nwhere t2 = exp(t1)"


def test_gradient_graph_prints_and_reads_back():
    loss, params = mlp_loss()
    grads = gc.grad(loss, params)
    text = gc.pprint(grads)
    assert text.startswith("[0] ") and "\nwhere t1 = " in text
    assert "w1.T" not in text and "x.T @ " in text  # d loss / d w1 = x.T @ (...)


def _nodes(expr) -> int:
    return len(gc.ir.toposort(expr if isinstance(expr, list) else [expr]))


@pytest.mark.parametrize("depth", [50, 400])
def test_deep_shared_chains_print_in_linear_size(depth):
    start = gc.scalar("s")
    h = chain(start, depth)
    text = gc.pprint(h)
    assert text.count("\n") == depth - 1  # every level but the last is named once
    assert len(text) < 40 * _nodes(h)
    grad = gc.grad(h, start)
    text = gc.pprint(grad)
    assert len(text) < 40 * _nodes(grad)


def test_deep_chains_without_sharing_do_not_hit_the_recursion_limit():
    h = gc.scalar("x")
    for _ in range(5000):
        h = gc.exp(h)
    assert gc.pprint(h) == "exp(" * 5000 + "x" + ")" * 5000


# ---- random expressions read back as the same node ------------------------------------------

LEAVES = st.sampled_from([a, b, c])
BINARY = [gc.add, gc.sub, gc.mul, gc.truediv, gc.power]


def _extend(children):
    node_pairs = st.tuples(st.sampled_from(BINARY), children, children).map(lambda t: t[0](t[1], t[2]))
    with_constant = st.tuples(
        st.sampled_from(BINARY), children, st.sampled_from([2.0, -1.5, 0.25]), st.booleans()
    ).map(lambda t: t[0](t[1], t[2]) if t[3] else t[0](t[2], t[1]))
    unary = st.tuples(st.sampled_from([gc.neg, gc.exp]), children).map(lambda t: t[0](t[1]))
    return node_pairs | with_constant | unary


@settings(max_examples=60, deadline=None)
@given(st.recursive(LEAVES, _extend, max_leaves=8))
def test_random_arithmetic_reads_back_as_the_same_node(expr):
    assert read_back(gc.pprint(expr)) is expr


@pytest.mark.parametrize("build,text", [
    (lambda: gc.sin(a) * gc.erf(b) - gc.floor(c), "sin(a) * erf(b) - floor(c)"),
    (lambda: gc.logical_xor(a > b, gc.isnan(c)), "logical_xor(a > b, isnan(c))"),
    (lambda: -gc.rsqrt(a) ** 2, "-rsqrt(a) ** 2.0"),
])
def test_functions_print_by_their_record(build, text):
    namespace = {**NAMESPACE, **{f.__name__: f for f in (gc.sin, gc.erf, gc.floor, gc.logical_xor,
                                                           gc.isnan, gc.rsqrt)}}
    node = build()
    assert gc.pprint(node) == text
    assert read_back(text, namespace) is node
