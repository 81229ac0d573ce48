"""Forward mode: gc.jvp against the double-vjp form and finite differences for every op family,
the llvm backend against the reference, torch.func.jvp on a small CNN, and gc.hvp."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pytest

import graphc as gc
from graphc.ir import Node, Op, TensorType, ancestors, toposort
from graphc.ops import SCALAR_FNS, Argmax, Argsort, Constant, CountOf, Input, RandomUniform, Scan, Shared
from graphc.ops.nn import AvgPoolGrad, ConvInputGrad, ConvWeightGrad, MaxPoolGather, MaxPoolGrad, OneHot
from graphc.ops.indexing import ScatterInto
from graphc.ops.shape import BroadcastTo, MatchShape, Reshape


@dataclass
class Case:
    """fn of float inputs with these shapes, drawn uniformly from [low, high] unless `values`
    are given; `declared` are the inputs' static shapes (None: known only when run)."""

    fn: Callable[..., Node]
    shapes: Sequence[tuple[int, ...]]
    low: float = -1.0
    high: float = 1.0
    values: Optional[Sequence[np.ndarray]] = None
    declared: Optional[Sequence[tuple[Optional[int], ...]]] = None

    def arrays(self, rng: np.random.Generator, dtype: str) -> list[np.ndarray]:
        values = self.values or [rng.uniform(self.low, self.high, s) for s in self.shapes]
        return [np.asarray(v, dtype) for v in values]

    def build(self, dtype: str) -> tuple[list[Node], list[Node], Node]:
        """Inputs, tangent inputs and the output."""
        declared = self.declared or self.shapes
        xs = [gc.tensor(f"x{i}", s, dtype) for i, s in enumerate(declared)]
        ts = [gc.tensor(f"t{i}", s, dtype) for i, s in enumerate(declared)]
        return xs, ts, self.fn(*xs)


def _labels() -> Node:
    return gc.constant(np.array([2, 0, 3, 1, 3]))


def _draws(mean: Node, std: Node) -> Node:
    """A normal and a uniform draw from a constant key (so that no call advances it)."""
    key, op = gc.constant(np.int64(5)), gc.ops.random.RandomDraw
    normal = Node.make(op("normal", 1, mean.dtype), [key, mean, mean, std])
    return normal * Node.make(op("uniform", 2, mean.dtype), [key, mean, std, mean + 2.0])


def _pool(x: Node) -> Node:
    return gc.nn.max_pool2d(x, 3, stride=2, padding=1)  # (2, 3, 7, 8) -> (2, 3, 4, 4), overlapping


def _avg(x: Node) -> Node:
    return gc.nn.avg_pool2d(x, (3, 2), stride=(2, 3), padding=(1, 0))  # (2, 3, 7, 8) -> (2, 3, 4, 3)


def _conv(x: Node, w: Node) -> Node:
    return gc.nn.conv2d(x, w, stride=2, padding=1)  # (1, 3, 7, 6), (4, 3, 3, 2) -> (1, 4, 4, 4)


X4, W4 = (1, 3, 7, 6), (4, 3, 3, 2)
P4 = (2, 3, 7, 8)
ZEROS = np.array([[0.5, 0.0, -1.5, 2.0], [1.5, -0.5, 0.8, 1.2], [0.0, 1.1, 0.0, -0.7]])

CASES: dict[str, Case] = {
    # data movement
    "reshape": Case(lambda x: gc.reshape(x, (5, 3, 2)), [(3, 2, 5)]),
    "reshape_template": Case(lambda x, y: Node.make(Reshape(None), [x, y]), [(3, 4), (2, 6)]),
    "transpose": Case(lambda x: gc.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
    "broadcast_to": Case(lambda x: gc.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    "broadcast_template": Case(lambda x, y: Node.make(BroadcastTo(None), [x, y]), [(3, 1), (2, 3, 4)]),
    "match_shape": Case(lambda x, y: Node.make(MatchShape(), [x, y]) * y, [(2, 3), (2, 3)]),
    "getitem": Case(lambda x: x[1:, ::2, None, -1], [(3, 5, 2)]),
    "scatter_into": Case(lambda g, x: Node.make(ScatterInto(x[1:, ::2].op.items), [g, x]), [(2, 3), (3, 5)]),
    "concatenate": Case(lambda a, b: gc.concatenate([a, b, a], axis=1), [(2, 3), (2, 1)]),
    "concatenate_int_part": Case(lambda x: gc.concatenate([x, gc.constant(np.array([[1], [2]]))], axis=1),
                                 [(2, 3)]),
    "stack_squeeze": Case(lambda a, b: gc.squeeze(gc.stack([a, b], axis=1)[:, :1], 1), [(2, 3), (2, 3)]),
    "split": Case(lambda x: gc.concatenate(gc.split(x, [1, 3], axis=1)[::-1], axis=1), [(2, 5)]),
    "pad_value": Case(lambda x: gc.pad(x, ((1, 0), (2, 1)), constant_values=2.5) ** 2, [(2, 3)]),
    "pad_reflect": Case(lambda x: gc.pad(x, 2, mode="reflect"), [(3, 4)]),
    "expand_flip": Case(lambda x: gc.flip(gc.expand_dims(x, (0, 2)), (1, 3)), [(3, 4)]),
    "allreduce_sum": Case(lambda x: gc.ops.allreduce_sum(x * x) * x, [(2, 3)]),  # alone: the identity
    # reductions and scans
    "sum": Case(lambda x: gc.sum(x * x, axis=(0, 2), keepdims=True), [(3, 2, 5)]),
    "mean_var_std": Case(lambda x: gc.mean(x, 1) + gc.var(x, 1, ddof=1) + gc.std(x, 0)[:2], [(2, 5)]),
    "mean_unknown_batch": Case(lambda x: gc.mean(x, 0) * gc.var(x), [(3, 4)], declared=[(None, 4)]),
    "prod": Case(lambda x: gc.prod(x, 1), [(3, 4)], low=0.5, high=1.5),
    "prod_zeros": Case(lambda x: gc.prod(x, 1), [ZEROS.shape], values=[ZEROS]),
    "max_min": Case(lambda x: gc.max(x, 1, keepdims=True) * gc.min(x, 0), [(3, 4)]),
    "max_all": Case(lambda x: gc.max(x), [(3, 4)]),
    "logsumexp": Case(lambda x: gc.logsumexp(x * 30.0, 1), [(3, 4)]),
    "cumsum": Case(lambda x: gc.cumsum(x * x, 1), [(3, 4)]),
    "reverse_scans": Case(lambda x: Node.make(Scan("sum", 1, True), [Node.make(Scan("prod", 0, True), [x])]),
                          [ZEROS.shape], values=[ZEROS]),
    "cumprod": Case(lambda x: gc.cumprod(x, 0), [(3, 4)]),
    "cumprod_zeros": Case(lambda x: gc.cumprod(x, 1), [ZEROS.shape], values=[ZEROS]),
    "integer_paths": Case(lambda x: gc.cast(gc.argmax(x, 1), "float64") * gc.sum(x, 1)
                          + gc.cast(gc.any(x > 0.5, 1), "float64") * gc.sum(x, 1), [(3, 4)]),
    "sort": Case(lambda x: gc.sort(x, 0) ** 2, [(4, 3)]),
    "topk": Case(lambda x: gc.topk(x, 2, axis=1)[0] * gc.topk(x, 3, axis=1, largest=False)[0][:, 1:], [(3, 5)]),
    "gather_scatter_add": Case(lambda x, v: gc.index_add(x, 1, np.array([3, 0, 3]), v) + x[[2, 0, 0], ::-1]
                               * gc.take_along_axis(x, np.array([[1], [3], [-1]]), 1), [(3, 4), (3, 3)]),
    "random_draws": Case(_draws, [(3, 4), (4,)]),
    # linear algebra
    "matmul_batched": Case(lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    "matmul_vector": Case(lambda a, b: gc.tanh(a @ b), [(4,), (4, 3)]),
    "einsum": Case(lambda a, b, c: gc.einsum("bij,bjk->bik", a, b) + gc.einsum("ii->", c),
                   [(2, 3, 4), (2, 4, 5), (3, 3)]),
    # elementwise, with broadcasting
    "where_clip": Case(lambda x, y: gc.where(x > 0, x * y, gc.clip(y, -0.3, 0.3)), [(3, 1), (4,)]),
    # neural-network ops
    "conv2d": Case(lambda x, w, b: gc.nn.conv2d(x, w, b, stride=2, padding=1), [X4, W4, (4,)]),
    "conv1d_same": Case(lambda x, w: gc.nn.conv1d(x, w, stride=3, padding="same"), [(2, 2, 9), (3, 2, 4)]),
    "conv_groups_dilation": Case(lambda x, w: gc.nn.conv2d(x, w, stride=(1, 2), padding=2, dilation=2, groups=2),
                                 [(1, 4, 7, 8), (6, 2, 3, 2)]),
    "conv_transpose2d": Case(lambda x, w, b: gc.nn.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                                                    groups=2), [(2, 4, 3, 4), (4, 3, 3, 3), (6,)]),
    "conv_input_grad": Case(lambda gy, w, x: _conv(x, w).op.build(ConvInputGrad, gy, w, x),
                            [(1, 4, 4, 4), W4, X4]),
    "conv_weight_grad": Case(lambda x, gy, w: _conv(x, w).op.build(ConvWeightGrad, x, gy, w),
                             [X4, (1, 4, 4, 4), W4]),
    "max_pool2d": Case(lambda x: _pool(x), [P4]),
    "max_pool1d_dilated": Case(lambda x: gc.nn.max_pool1d(x, 2, stride=1, dilation=2), [(2, 3, 7)]),
    "max_pool_grad": Case(lambda x, gy: _pool(x).op.build(MaxPoolGrad, x, gy), [P4, (2, 3, 4, 4)]),
    "max_pool_gather": Case(lambda x, g: _pool(x).op.build(MaxPoolGather, x, g), [P4, P4]),
    "avg_pool2d": Case(lambda x: _avg(x), [P4]),
    "avg_pool_options": Case(lambda x: gc.nn.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                             [P4]),
    "avg_pool_grad": Case(lambda gy, x: _avg(x).op.build(AvgPoolGrad, gy, x), [(2, 3, 4, 3), P4]),
    "adaptive_pools": Case(lambda x: gc.nn.adaptive_avg_pool2d(x, (2, 3)) + gc.nn.adaptive_max_pool2d(x, (2, 3)),
                           [P4]),
    "softmax": Case(lambda x: gc.nn.softmax(x, 0), [(3, 4)]),
    "log_softmax": Case(lambda x: gc.nn.log_softmax(x * 10.0), [(3, 4)]),
    "cross_entropy": Case(lambda z: gc.nn.cross_entropy(z, _labels(), label_smoothing=0.1), [(5, 4)]),
    "losses": Case(lambda z, y: gc.nn.binary_cross_entropy_with_logits(z, gc.sigmoid(y)) + gc.nn.mse_loss(z, y),
                   [(5, 4), (5, 4)]),
    "batch_norm": Case(lambda x, g, b: gc.nn.batch_norm(x, g, b), [(4, 3, 2, 3), (3,), (3,)]),
    "layer_group_norm": Case(lambda x: gc.nn.layer_norm(x, (4, 3)) + gc.nn.group_norm(x, 2), [(2, 4, 4, 3)]),
    "activations": Case(lambda x: gc.nn.gelu(x) + gc.nn.silu(x) + gc.nn.elu(x) + gc.nn.hardswish(x * 4.0),
                        [(3, 5)]),
    "interpolate": Case(lambda x: gc.nn.interpolate(x, size=(5, 7), mode="bilinear"), [(1, 2, 3, 4)]),
    "one_hot": Case(lambda x: x * gc.nn.one_hot(_labels(), 4, "float64"), [(5, 4)]),
}
for _name, _fn in SCALAR_FNS.items():  # every elementwise function with a derivative
    if _fn.grad is not None and _fn.dtype_rule in ("same", "float"):
        CASES[f"elementwise_{_name}"] = Case(lambda *xs, name=_name: gc.ops.elementwise.apply(name, *xs),
                                             [(3, 1), (4,)][: _fn.arity], low=0.2, high=1.2)


def _double_vjp(y: Node, xs: Sequence[Node], ts: Sequence[Node]) -> tuple[Node, Node]:
    """J t as the vjp of a vjp, the gradient with respect to u of <J^T u, t>, and u (whose
    value does not matter: J^T u is linear in u)."""
    u = gc.tensor("u", y.shape, y.dtype)
    vs = gc.grad(gc.sum(y * u), xs, disconnected="zero")
    inner = gc.sum(vs[0] * ts[0])
    for v, t in zip(vs[1:], ts[1:]):
        inner = inner + gc.sum(v * t)
    return gc.grad(inner, u, disconnected="zero"), u


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_equals_the_double_vjp_and_finite_differences(name, rng):
    case = CASES[name]
    xs, ts, y = case.build("float64")
    tangent = gc.jvp(y, xs, ts)
    assert tangent.dtype == y.dtype and tangent.shape == y.shape
    values = case.arrays(rng, "float64")
    directions = [rng.standard_normal(v.shape) for v in values]
    feed = {**dict(zip(xs, values)), **dict(zip(ts, directions))}
    got = tangent.eval(feed)

    double, u = _double_vjp(y, xs, ts)
    np.testing.assert_allclose(got, double.eval({**feed, u: rng.standard_normal(got.shape)}),
                               rtol=1e-10, atol=1e-12)
    eps = 1e-6
    up = y.eval({x: v + eps * d for x, v, d in zip(xs, values, directions)})
    down = y.eval({x: v - eps * d for x, v, d in zip(xs, values, directions)})
    np.testing.assert_allclose(got, (up - down) / (2 * eps), rtol=1e-5, atol=1e-6)


def _compiled_and_reference(case: Case, dtype: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    xs, ts, y = case.build(dtype)
    tangent = gc.jvp(y, xs, ts)
    values = case.arrays(rng, dtype) + [rng.standard_normal(s).astype(dtype) for s in case.shapes]
    return gc.function(xs + ts, tangent)(*values), tangent.eval(dict(zip(xs + ts, values)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_llvm_tangents_match_the_reference(name, dtype, rng):
    compiled, reference = _compiled_and_reference(CASES[name], dtype, rng)
    assert compiled.dtype == reference.dtype
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(compiled, reference, rtol=tol, atol=tol)


def test_a_cast_between_floats_carries_the_tangent_in_the_new_dtype():
    x = gc.tensor("x", (3,), "float32")
    y = gc.cast(x, "float64") ** 2 + gc.cast(gc.cast(x, "int32"), "float64")
    tangent = gc.jvp(y, x, np.full(3, 2.0, "float32"))
    assert tangent.dtype == np.float64
    xv = np.array([0.5, -1.25, 3.0], "float32")
    np.testing.assert_allclose(tangent.eval({x: xv}), 4.0 * xv.astype(np.float64))


def test_max_shares_the_tangent_among_ties_as_its_vjp_does():
    x = gc.tensor("x", (2, 3), "float64")
    xv = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    t = gc.tensor("t", (2, 3), "float64")
    tv = np.array([[5.0, 1.0, 2.0], [3.0, 6.0, 0.0]])
    tangent = gc.jvp(gc.max(x, 1), x, t)
    np.testing.assert_allclose(tangent.eval({x: xv, t: tv}), [1.5, 3.0])
    double, u = _double_vjp(gc.max(x, 1), [x], [t])
    np.testing.assert_allclose(double.eval({x: xv, t: tv, u: np.ones(2)}), [1.5, 3.0])


def test_max_pool_takes_the_tangent_at_the_first_maximum_as_its_vjp_routes():
    x = gc.tensor("x", (1, 1, 2, 2), "float64")
    t = gc.tensor("t", (1, 1, 2, 2), "float64")
    tangent = gc.jvp(gc.nn.max_pool2d(x, 2), x, t)
    feed = {x: np.full((1, 1, 2, 2), 7.0), t: np.array([[[[1.0, 2.0], [3.0, 4.0]]]])}
    np.testing.assert_array_equal(tangent.eval(feed), [[[[1.0]]]])


def test_tangents_stay_finite_at_extreme_logits():
    z = gc.tensor("z", (2, 3), "float64")
    zv = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]])
    d = np.array([[0.3, -1.2, 2.0], [0.7, 1.5, -0.4]])
    outs = [gc.nn.cross_entropy(z, gc.constant(np.array([0, 2]))), gc.nn.log_softmax(z), gc.logsumexp(z, 1),
            gc.softplus(z), gc.sigmoid(z)]
    tangents = gc.jvp(outs, z, d)
    for got in [gc.evaluate(tangents, {z: zv}), gc.function([z], tangents)(zv)]:
        assert all(np.all(np.isfinite(t)) for t in got)
        np.testing.assert_allclose(got[0], (d[1, 1] - d[1, 2]) / 2)  # sum((softmax - target) * d) / N
        np.testing.assert_allclose(got[1], d - np.array([[d[0, 0]], [d[1, 1]]]))
        np.testing.assert_allclose(got[2], [d[0, 0], d[1, 1]])


# ---- every op has a forward rule ----------------------------------------------------------

#: Ops that never receive a tangent, so need no forward rule, and why.
NO_FORWARD_RULE = {
    Input: "a leaf: its tangent is given (a jvp input) or zero",
    Constant: "a leaf: its tangent is zero",
    Shared: "a leaf: its tangent is given (a jvp input) or zero",
    Argmax: "its output is int64, which has no tangent",
    Argsort: "its output is int64, which has no tangent",
    CountOf: "reads only its input's shape",
    OneHot: "its input is integer labels, which have no tangent",
    RandomUniform: "reads an integer key and a shape template only",
}


def _op_classes() -> set[type]:
    """The op classes graphc defines (not their abstract bases, nor those other tests define)."""
    import graphc.nn  # noqa: F401 - loads every op module

    found, todo = set(), [Op]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            abstract = sub.__name__.startswith("_") or sub.infer_type is Op.infer_type
            if sub.__module__.startswith("graphc.") and not abstract:
                found.add(sub)
    return found


def test_every_op_has_a_forward_rule_or_a_reason_for_none():
    has_rule = {c for c in _op_classes() if c.jvp is not Op.jvp}
    lacking = {c.__name__ for c in _op_classes() - has_rule - set(NO_FORWARD_RULE)}
    assert lacking == set(), f"ops with no forward rule (Op.jvp) and no reason in NO_FORWARD_RULE: {lacking}"
    stale = {c.__name__ for c in set(NO_FORWARD_RULE) & has_rule}
    assert stale == set(), f"listed in NO_FORWARD_RULE but have a rule: {stale}"


def test_every_forward_rule_is_exercised_by_a_case():
    used = {type(n.op) for case in CASES.values() for n in toposort([case.build("float64")[2]])}
    untested = {c.__name__ for c in _op_classes() if c.jvp is not Op.jvp} - {c.__name__ for c in used}
    assert untested == set(), f"forward rules no case reaches: {untested}"


def test_an_op_without_a_forward_rule_is_named():
    class Opaque(Op):
        def infer_type(self, x: TensorType) -> TensorType:
            return x

    x = gc.tensor("x", (2,), "float64")
    with pytest.raises(NotImplementedError, match=r"opaque has no forward-mode rule \(Op.jvp\)"):
        gc.jvp(gc.exp(Node.make(Opaque(), [x])), x, np.ones(2))


# ---- the call: inputs, tangents, outputs --------------------------------------------------

def test_one_output_gives_a_node_and_a_list_gives_a_list():
    x, w = gc.tensor("x", (2,), "float64"), gc.tensor("w", (2,), "float64")
    single = gc.jvp(gc.sum(x * w), [x, w], [np.ones(2), np.zeros(2)])
    assert isinstance(single, Node)
    both = gc.jvp([x * w, gc.exp(x)], x, np.array([1.0, 2.0]))
    feed = {x: np.array([0.0, 1.0]), w: np.array([3.0, 4.0])}
    np.testing.assert_allclose(single.eval(feed), 7.0)
    np.testing.assert_allclose(both[0].eval(feed), [3.0, 8.0])
    np.testing.assert_allclose(both[1].eval(feed), [1.0, 2 * np.e])


def test_an_intermediate_node_can_be_an_input():
    x = gc.tensor("x", (3,), "float64")
    h = gc.exp(x)
    tangent = gc.jvp(gc.sum(h * h), h, np.ones(3))  # h moves on its own; x stays
    np.testing.assert_allclose(tangent.eval({x: np.zeros(3)}), 6.0)


def test_bad_tangents_are_refused_naming_the_input_and_the_shapes():
    x = gc.tensor("x", (2, 3), "float64")
    y = gc.exp(x)
    with pytest.raises(gc.ShapeError, match=r"jvp: tangent \(3, 2\) does not fit input x \(2, 3\)"):
        gc.jvp(y, x, np.ones((3, 2)))
    with pytest.raises(gc.ShapeError, match=r"jvp: tangent \(3,\) does not fit input x \(2, 3\)"):
        gc.jvp(y, x, np.ones(3))
    with pytest.raises(gc.DTypeError, match=r"jvp: the tangent of input <x: f64\[2,3\] #\d+> has dtype float32"):
        gc.jvp(y, x, np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="jvp: 1 inputs but 2 tangents"):
        gc.jvp(y, [x], [np.ones((2, 3))] * 2)
    with pytest.raises(TypeError, match="jvp: inputs is a list, so tangents must be a list or tuple"):
        gc.jvp(y, [x], np.ones((1, 2, 3)))
    with pytest.raises(gc.DTypeError, match="only float inputs have tangents"):
        gc.jvp(y, gc.tensor("n", (2, 3), "int64"), np.ones((2, 3), "int64"))
    with pytest.raises(gc.DTypeError, match="jvp: outputs must be float"):
        gc.jvp(gc.argmax(x), x, np.ones((2, 3)))


def test_a_tangent_of_unknown_size_is_checked_when_run():
    x = gc.tensor("x", (2, 3), "float64")
    t = gc.tensor("t", (None, 3), "float64")
    tangent = gc.jvp(gc.exp(x), x, t)
    assert tangent.shape == (2, 3)
    np.testing.assert_allclose(tangent.eval({x: np.zeros((2, 3)), t: np.ones((2, 3))}), np.ones((2, 3)))
    with pytest.raises(gc.ShapeError, match="match_shape"):
        tangent.eval({x: np.zeros((2, 3)), t: np.ones((1, 3))})


def test_disconnected_outputs_raise_or_give_zeros_or_none():
    x, u = gc.tensor("x", (2,), "float64"), gc.tensor("u", (2,), "float64")
    with pytest.raises(gc.DisconnectedGradientError, match=r"jvp: the output <exp: .*> does not depend on the inputs;"):
        gc.jvp(gc.exp(u), x, np.ones(2))
    with pytest.raises(gc.DisconnectedGradientError, match="through float values"):
        gc.jvp(gc.cast(gc.cast(x, "int32"), "float64"), x, np.ones(2))
    zero, none = gc.jvp([gc.exp(u), gc.exp(u)], [x], [np.ones(2)], disconnected="zero"), \
        gc.jvp(gc.exp(u), x, np.ones(2), disconnected="none")
    np.testing.assert_array_equal(zero[0].eval({u: np.ones(2)}), [0.0, 0.0])
    assert none is None


def test_a_zero_derivative_gives_a_connected_zero_not_nan():
    x = gc.tensor("x", (3,), "float64")
    xv = np.array([0.5, 0.0, 4.2])  # floor 0 and 0: sqrt's partial 1 / (2 sqrt(0)) is inf there
    for y in [gc.sqrt(gc.floor(x)), gc.nn.log_softmax(gc.ceil(gc.log(x)))]:
        tangent = gc.jvp(y, x, np.ones(3))  # connected through floor / ceil, as for grad: no error
        np.testing.assert_array_equal(tangent.eval({x: xv}), np.zeros(3))
        double, u = _double_vjp(y, [x], [gc.constant(np.ones(3))])
        np.testing.assert_array_equal(double.eval({x: xv, u: np.ones(3)}), np.zeros(3))


def test_jvp_equals_the_double_vjp_on_the_fuzzers_random_graphs():
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from fuzz.generator import SHORT, build_case
    from fuzz.oracle import n_forward

    checked = 0
    for seed in range(120):
        with np.errstate(all="ignore"):
            case = build_case(seed, SHORT)
        outs = [o for o in case.outputs[:n_forward(case)] if o.dtype.kind == "f"]
        xs = [i for i in case.inputs if i.dtype.kind == "f" and i in ancestors(outs)]
        if case.special or not outs or not xs:  # inf and nan inputs: 0 * inf differs between the forms
            continue
        rng = np.random.default_rng(seed)
        ts = [gc.tensor(f"t{i}", x.shape, x.dtype) for i, x in enumerate(xs)]
        feed = {**dict(zip(case.inputs, case.values)),
                **{t: rng.standard_normal(case.values[case.inputs.index(x)].shape).astype(x.dtype)
                   for t, x in zip(ts, xs)}}
        forward = gc.jvp(outs, xs, ts, disconnected="zero")
        us = [gc.tensor(f"u{i}", o.shape, o.dtype) for i, o in enumerate(outs)]
        vs = gc.grad(sum((gc.sum(o * u) for o, u in zip(outs, us)), gc.constant(np.float32(0))), xs,
                     disconnected="zero")
        inner = sum((gc.sum(v * t) for v, t in zip(vs, ts)), gc.constant(np.float32(0)))
        double = gc.grad(inner, us, disconnected="zero")
        with np.errstate(all="ignore"):
            feed.update({u: np.ones(o.shape, o.dtype) for u, o in zip(us, gc.evaluate(outs, feed))})
            for got, want in zip(gc.evaluate(forward, feed), gc.evaluate(double, feed)):
                tol = 1e-3 if case.dtype == "float32" else 1e-8  # the inputs' precision bounds the outputs'
                scale = 1 + np.nanmax(np.abs(want), initial=0)
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale,
                                           err_msg=f"fuzz case {seed}: {', '.join(case.ops)}")
        checked += 1
    assert checked > 80


def test_tangents_print_simplify_and_differentiate_again():
    x = gc.tensor("x", (3,), "float64")
    t = gc.jvp(gc.sum(gc.sin(x) * x), x, np.ones(3))
    assert "cos(x)" in gc.pprint(gc.simplify(t))
    xv = np.array([0.1, 0.7, -1.3])
    second = gc.grad(t, x)  # d/dx sum(cos(x) x + sin(x)) = 2 cos(x) - x sin(x)
    np.testing.assert_allclose(second.eval({x: xv}), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-12)
    np.testing.assert_allclose(gc.function([x], second)(xv), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-12)


# ---- Hessian-vector products, and torch ---------------------------------------------------

def _cnn(x: Node, w1: Node, b1: Node, w2: Node, b2: Node) -> Node:
    h = gc.nn.max_pool2d(gc.relu(gc.nn.conv2d(x, w1, b1, padding=1)), 2)
    return gc.reshape(h, (h.shape[0], -1)) @ w2 + b2


CNN_SHAPES = [(2, 3, 9, 9), (4, 3, 3, 3), (4,), (64, 5), (5,)]
CNN_LABELS = np.array([1, 4])


def _cnn_problem(rng: np.random.Generator):
    params = [gc.tensor(n, s, "float64") for n, s in zip(["x", "w1", "b1", "w2", "b2"], CNN_SHAPES)]
    loss = gc.nn.cross_entropy(_cnn(*params), gc.constant(CNN_LABELS))
    values = [rng.standard_normal(s) * (0.3 if i else 1.0) for i, s in enumerate(CNN_SHAPES)]
    return params, loss, values


def test_hvp_forward_over_reverse_equals_reverse_over_reverse_in_both_backends(rng):
    params, loss, values = _cnn_problem(rng)
    vectors = [gc.tensor(f"v_{p.name}", p.shape, "float64") for p in params]
    forward = gc.hvp(loss, params, vectors)
    reverse = gc.hessian_vector_product(loss, params, vectors)
    feed = {**dict(zip(params, values)), **{v: rng.standard_normal(v.shape) for v in vectors}}
    want = gc.evaluate(reverse, feed)
    for got, expected in zip(gc.evaluate(forward, feed), want):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)
    compiled = gc.function(params + vectors, forward)(*feed.values())
    for got, expected in zip(compiled, want):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def test_hvp_of_one_variable_is_a_node(rng):
    x = gc.tensor("x", (4,), "float64")
    a = rng.standard_normal((4, 4))
    cost = 0.5 * (x * (gc.constant(a) @ x)).sum() + gc.exp(x).sum()
    v, xv = rng.standard_normal(4), rng.standard_normal(4)
    hv = gc.hvp(cost, x, v)
    assert isinstance(hv, Node)
    np.testing.assert_allclose(hv.eval({x: xv}), 0.5 * (a + a.T) @ v + np.exp(xv) * v, rtol=1e-12)


def test_jvp_of_a_small_cnn_matches_torch_func_jvp(rng):
    torch = pytest.importorskip("torch", reason="torch is an optional oracle")
    params, loss, values = _cnn_problem(rng)
    logits = _cnn(*params)
    directions = [rng.standard_normal(s) for s in CNN_SHAPES]
    tangents = gc.jvp([logits, loss], params, directions)
    got = gc.evaluate(tangents, dict(zip(params, values)))
    compiled = gc.function(params, tangents)(*values)

    F = torch.nn.functional

    def model(x, w1, b1, w2, b2):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        z = h.reshape(h.shape[0], -1) @ w2 + b2
        return z, F.cross_entropy(z, torch.from_numpy(CNN_LABELS))

    as_torch = [torch.from_numpy(v) for v in values]
    _, expected = torch.func.jvp(model, tuple(as_torch), tuple(torch.from_numpy(d) for d in directions))
    for g, c, e in zip(got, compiled, expected):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c, e.numpy(), rtol=1e-10, atol=1e-12)


#: (graphc function, torch function, input shapes, values): torch.func.jvp as a second oracle.
TORCH_CASES = {
    "softmax_log_softmax": (lambda x: gc.nn.softmax(x, 0) * gc.nn.log_softmax(x, 1),
                            lambda T, x: T.softmax(x, 0) * T.log_softmax(x, 1), [(3, 4)], None),
    "logsumexp": (lambda x: gc.logsumexp(x * 20.0, 1), lambda T, x: T.logsumexp(x * 20.0, 1), [(3, 4)], None),
    "prod_cumprod_zeros": (lambda x: gc.prod(x, 1)[:, None] * gc.cumprod(x, 1),
                           lambda T, x: T.prod(x, 1)[:, None] * T.cumprod(x, 1), [ZEROS.shape], [ZEROS]),
    "sort_topk": (lambda x: gc.sort(x, 0)[:2] * gc.topk(x, 2, axis=0)[0],
                  lambda T, x: T.sort(x, 0)[0][:2] * T.topk(x, 2, dim=0)[0], [(4, 3)], None),
    "max_avg_pool": (lambda x: gc.nn.max_pool2d(x, 3, 2, 1) + gc.nn.avg_pool2d(x, 3, 2, 1),
                     lambda T, x: T.nn.functional.max_pool2d(x, 3, 2, 1) + T.nn.functional.avg_pool2d(x, 3, 2, 1),
                     [(2, 3, 7, 8)], None),
    "conv_transpose_groups": (lambda x, w: gc.nn.conv_transpose2d(x, w, stride=2, padding=1, groups=2, dilation=2),
                              lambda T, x, w: T.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, groups=2,
                                                                               dilation=2),
                              [(1, 4, 3, 4), (4, 2, 2, 3)], None),
    "conv1d_stride": (lambda x, w: gc.nn.conv1d(x, w, stride=2, padding=1),
                      lambda T, x, w: T.nn.functional.conv1d(x, w, stride=2, padding=1), [(1, 2, 9), (3, 2, 4)], None),
    "layer_norm_gelu": (lambda x: gc.nn.gelu(gc.nn.layer_norm(x, (5,))),
                        lambda T, x: T.nn.functional.gelu(T.nn.functional.layer_norm(x, (5,))), [(3, 5)], None),
    "transcendental": (lambda x: gc.erf(x) * gc.tan(x) + gc.rsqrt(x) * gc.log10(x) + gc.expm1(x) ** x,
                       lambda T, x: T.erf(x) * T.tan(x) + T.rsqrt(x) * T.log10(x) + T.expm1(x) ** x, [(2, 3)], None),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_jvp_matches_torch_func_jvp(name, rng):
    torch = pytest.importorskip("torch", reason="torch is an optional oracle")
    fn, torch_fn, shapes, values = TORCH_CASES[name]
    values = values or [rng.uniform(0.2, 1.2, s) for s in shapes]
    directions = [rng.standard_normal(s) for s in shapes]
    xs = [gc.tensor(f"x{i}", s, "float64") for i, s in enumerate(shapes)]
    got = gc.jvp(fn(*xs), xs, directions).eval(dict(zip(xs, values)))
    _, want = torch.func.jvp(lambda *a: torch_fn(torch, *a), tuple(torch.from_numpy(v) for v in values),
                             tuple(torch.from_numpy(d) for d in directions))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
