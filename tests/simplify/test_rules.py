"""Every rule, alone: it fires on its pattern, keeps the static type, and the graph computes
the same values before and after on random inputs (and special values, inf and nan,
where its policy covers all inputs)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import graphc as gc
from graphc.ir import Node
from graphc.ops import BroadcastTo, CountOf, ExpandDims, Reshape
from graphc.ops.shape import MatchShape
from graphc.ops.nn import Softmax
from graphc.simplify import ALL_RULES, Phase, RuleSet, simplify
from simplify_helpers import check_rewrite

RULES = {r.name: r for r in ALL_RULES}

x = gc.tensor("x", (3, 4))
v = gc.tensor("v", (4,))
d = gc.tensor("d", (None, 4))
x64 = gc.tensor("x64", (3, 4), "float64")
y = gc.tensor("y", (None,), "int64")


def _c(value, dtype="float32"):
    return gc.constant(np.asarray(value, dtype=dtype))


# rule name -> (builder of the graph it fires on, whether the inputs must be positive)
CASES: dict[str, tuple[Callable[[], Node], bool]] = {
    "fold_constants": (lambda: x * (_c(2.0) + _c(3.0)), False),
    "fold_count": (lambda: x * Node.make(CountOf((1,), np.dtype("float32")), [d]).sum(), False),
    "mul_one": (lambda: gc.mul(x, gc.broadcast_to(_c(1.0), (3, 4))), False),
    "add_zero": (lambda: gc.add(v, gc.broadcast_to(_c(0.0), (3, 4))), False),
    "sub_zero": (lambda: gc.sub(_c(0.0), x) + gc.sub(x, _c(0.0)), False),
    "div_one": (lambda: gc.truediv(x, _c(1.0)), False),
    "pow_one": (lambda: gc.power(x, _c(1.0)), False),
    "pow_zero": (lambda: gc.power(d, _c(0.0)), False),
    "where_known_condition": (lambda: gc.where(gc.eq(_c(2.0), 0.0), x, v) + gc.where(gc.constant(True), v, x), False),
    "logical_known_operand": (lambda: gc.where(gc.logical_and(gc.gt(x, 0.0), gc.constant(True))
                                               | gc.logical_or(gc.lt(v, 1.0), gc.constant(False)), x, v)
                                      + gc.where(gc.logical_and(gc.constant(False), gc.gt(x, 0.0)), x, v), False),
    "neg_neg": (lambda: -(-x), False),
    "mul_minus_one": (lambda: gc.mul(_c(-1.0), x), False),
    "mul_neg": (lambda: (-x) * v, False),
    "neg_scaled": (lambda: gc.neg(gc.mul(_c(3.0), x)), False),
    "mul_reciprocal": (lambda: v * (1.0 / x) + gc.truediv(1.0, d) * v, False),
    "add_neg": (lambda: x + (-v), False),
    "sub_neg": (lambda: x - (-v), False),
    "commute": (lambda: gc.add(_c(2.0), x) * gc.add(x, _c(2.0)), False),
    "merge_constants": (lambda: gc.mul(_c(2.0), gc.mul(_c(3.0), x)), False),
    "div_by_constant": (lambda: x / _c([1.0, 2.0, 0.0, 4.0]), False),
    "lift_broadcast": (lambda: gc.exp(gc.broadcast_to(v, (3, 4))) + gc.broadcast_to(gc.expand_dims(v, 0), (3, 4)), False),
    "log_one_plus": (lambda: gc.log(1.0 + x), False),
    "exp_minus_one": (lambda: gc.exp(x) - 1.0, False),
    "log_exp": (lambda: gc.log(gc.exp(x)), False),
    "log1p_exp": (lambda: gc.log1p(gc.exp(x)), False),
    "log_sigmoid": (lambda: gc.log(gc.sigmoid(x)), False),
    "log_one_minus_sigmoid": (lambda: gc.log(1.0 - gc.sigmoid(x)), False),
    "log_softmax": (lambda: gc.log(gc.nn.softmax(x, axis=1)), False),
    "exp_log_softmax": (lambda: gc.exp(gc.nn.log_softmax(d, axis=0)), False),
    "sub_self": (lambda: gc.exp(x) - gc.exp(x), False),
    "mul_zero": (lambda: x * gc.broadcast_to(_c(0.0), (3, 4)), False),
    "matmul_zero": (lambda: gc.matmul(_c(np.zeros((3, 3))), x) + gc.matmul(x, gc.zeros((4, 4), "float32")), False),
    "div_self": (lambda: x / x, False),
    "exp_log": (lambda: gc.exp(gc.log(x)), True),
    "match_known_shape": (lambda: Node.make(MatchShape(), [gc.exp(x), x]), False),
    "transpose_transpose": (lambda: gc.transpose(gc.transpose(gc.reshape(x, (3, 2, 2)), (1, 2, 0)), (2, 0, 1))
                            + gc.transpose(gc.transpose(gc.reshape(x, (3, 2, 2)), (1, 2, 0)), (1, 0, 2)).sum(), False),
    "reshape_reshape": (lambda: gc.reshape(gc.reshape(x, (2, 6)), (4, 3)), False),
    "reshape_identity": (lambda: Node.make(Reshape((3, 4)), [x]), False),
    "broadcast_broadcast": (lambda: gc.broadcast_to(gc.broadcast_to(v, (3, 4)), (2, 3, 4)), False),
    "broadcast_identity": (lambda: Node.make(BroadcastTo((3, 4)), [x]), False),
    "squeeze_expand": (lambda: gc.squeeze(gc.expand_dims(d, 1), 1), False),
    "expand_squeeze": (lambda: Node.make(ExpandDims((1,)), [gc.squeeze(gc.reshape(x, (3, 1, 4)), 1)]), False),
    "squeeze_reduce": (lambda: gc.squeeze(gc.max(d, axis=0, keepdims=True), 0), False),
    "reduce_unit_axes": (lambda: gc.sum(gc.reshape(x, (3, 1, 4)), axis=(1, 2)) + gc.max(gc.reshape(x, (1, 12)), axis=0, keepdims=True).sum(), False),
    "sum_broadcast": (lambda: gc.sum(gc.broadcast_to(gc.exp(v), (3, 4)), axis=0) + gc.sum(gc.broadcast_to(gc.expand_dims(v, 0), d), axis=(0, 1)), False),
    "add_adjacent_scatters": (lambda: gc.grad(gc.sum(gc.exp(gc.split(x, [1, 3], 1)[0])) + gc.sum(gc.sin(gc.split(x, [1, 3], 1)[1])), [x])[0], False),
    "scatter_everywhere": (lambda: gc.grad(gc.sum(gc.exp(x[:, 0:4])), [x])[0], False),
    "take_progression": (lambda: gc.take(x, np.array([3, 2, -3]), 1) * 2.0 + gc.take(x, np.array(-1), 0).sum()
                         + gc.take(x, np.array([0, 1, 2]), 0).sum(), False),
    "scatter_add_progression": (lambda: gc.grad(gc.sum(gc.exp(gc.take(x64, np.array([2, 0]), 0))), [x64])[0]
                                + gc.index_add(x64, 1, np.array([-4, -3]), x64[:, :2]), False),
    "reduce_uniform_constant": (lambda: gc.sum(x, 1) * gc.prod(gc.ones((3, 4), "float32"), 1) + gc.min(gc.full((3,), 2.5, "float32")), False),
    "sum_scaled": (lambda: gc.sum(gc.mul(x64.sum(), gc.exp(x64)), axis=1) + gc.sum(gc.exp(x64) / x64[0:1, 0:1]), False),
    "sum_neg": (lambda: gc.sum(-x, axis=0), False),
    "sum_sum": (lambda: gc.sum(gc.sum(gc.reshape(x, (3, 2, 2)), axis=1), axis=1) + gc.sum(gc.sum(x, 0, keepdims=True), 1, keepdims=True).sum(), False),
    "sum_one_hot": (lambda: gc.sum(gc.nn.one_hot(y, 4), axis=1) + gc.sum(gc.nn.one_hot(y, 4), axis=(0, 1), keepdims=True).sum(), False),
    "cheaper_template": (lambda: Node.make(CountOf((0,), np.dtype("float32")), [Node.make(Softmax(1), [gc.exp(d)])]) * d, False),
    "pow_two": (lambda: x ** 2.0, False),
    "pow_half": (lambda: x ** 0.5, True),
    "pow_minus_one": (lambda: x ** -1.0, False),
}


def test_every_rule_has_a_case():
    assert sorted(CASES) == sorted(RULES)


def test_every_rule_is_in_the_policy_table():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "simplification.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| `")}
    for r in ALL_RULES:
        module = r.fn.__module__.split(".")[-1]
        assert rows[f"`{r.name}`"].endswith(f"| {r.policy} | {module}.py |"), r.name


def test_rules_have_docstrings_and_policies():
    for r in ALL_RULES:
        assert r.doc, f"{r.name} has no docstring"
        assert r.policy in ("all", "finite", "stable")


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_alone_preserves_values(name, rng):
    build, positive = CASES[name]
    out = build()
    rule = RULES[name]
    simplified, report = simplify(out, explain=True, phases=[Phase(name, RuleSet([rule]))])
    assert name in report.fired, f"{name} did not fire on {gc.pprint(out)}"
    assert simplified.type == out.type
    check_rewrite([out], [simplified], rule.policy, rng, positive)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_case_through_all_phases(name, rng):
    build, positive = CASES[name]
    out = build()
    simplified = simplify(out)
    assert simplified.type == out.type
    check_rewrite([out], [simplified], "finite", rng, positive)


def test_an_op_failing_on_constants_is_left_to_fail_when_run():
    bad = gc.nn.one_hot(gc.constant(np.array([5])), 3) * 2.0
    simplified = simplify(bad)
    with pytest.raises(ValueError, match="outside"):
        simplified.eval()
