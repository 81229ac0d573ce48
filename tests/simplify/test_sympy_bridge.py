"""The sympy bridge: scalar algebra on elementwise subgraphs, dtypes and broadcasting kept,
only cheaper results taken, memoised and bounded."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import graphc as gc
from graphc.ir import toposort
from graphc.simplify import FINITE, region, simplify, sympy_bridge
from simplify_helpers import check_rewrite

x, y = gc.tensor("x", (3,)), gc.tensor("y", (3,))
a, b = gc.tensor("a", (3,)), gc.tensor("b", (3,))


def _ops(node):
    return sorted(n.op.name for n in toposort([node]) if n.inputs)


CASES = [
    (lambda: x * y / y, []),
    (lambda: 2.0 * x * 3.0 + x, ["mul"]),
    (lambda: a * x + b * x, ["add", "mul"]),
    (lambda: gc.exp(a) * gc.exp(b), ["add", "exp"]),
    (lambda: gc.exp(a) / gc.exp(b), ["exp", "sub"]),
    (lambda: (x * x - y * y) / (x - y), ["add"]),
    (lambda: gc.log(gc.exp(a) * gc.sigmoid(b)), ["neg", "softplus", "sub"]),  # a - softplus(-b)
    (lambda: gc.sqrt(x * x), ["abs"]),
    (lambda: x / (x * y), ["truediv"]),
    # functions sympy knows by their ScalarFn.sympy form
    (lambda: gc.erf(-x) + gc.erf(x), ["broadcast_to"]),
    (lambda: gc.cos(-x) * y, ["cos", "mul"]),
    (lambda: gc.sin(-x) + gc.sin(x), ["broadcast_to"]),
    (lambda: gc.ceil(gc.floor(x)), ["floor"]),
    (lambda: gc.reciprocal(gc.reciprocal(x)), []),
    (lambda: gc.log10(x) * 2.0 - gc.log10(x), ["log10"]),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_algebra(index, rng):
    build, ops = CASES[index]
    out = build()
    simplified, report = simplify(out, explain=True)
    assert "sympy" in report.fired
    assert _ops(simplified) == ops
    check_rewrite([out], [simplified], FINITE, rng)


def test_kept_when_not_cheaper():
    s = gc.sigmoid(x)
    out, report = simplify(s * (1.0 - s), explain=True)
    assert "sympy" not in report.fired and out is s * (1.0 - s)


def test_opaque_functions_stay():
    out = simplify(gc.log1p(x) * gc.softplus(y) + gc.expm1(x) - gc.expm1(x))
    assert _ops(out) == ["log1p", "mul", "softplus"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_kept_and_constants_take_it(dtype, rng):
    p, q = gc.tensor("p", (2, 3), dtype), gc.tensor("q", (2, 3), dtype)
    out = (p * 3.0 + q * 3.0) / 2.0 - q * 1.5
    simplified, report = simplify(out, explain=True)
    assert "sympy" in report.fired
    assert {n.dtype for n in toposort([simplified])} == {np.dtype(dtype)}
    check_rewrite([out], [simplified], FINITE, rng)


def test_shape_kept_when_a_leaf_drops_out(rng):
    small, big = gc.tensor("small", (4,)), gc.tensor("big", (3, 4))
    out = simplify(small + big - big)
    assert out.type == (small + big).type and out.op.name == "broadcast_to"
    check_rewrite([small + big - big], [out], FINITE, rng)


def test_unknown_dims_use_a_leaf_as_template(rng):
    small, big = gc.tensor("small", (4,)), gc.tensor("big", (None, 4))
    before = gc.exp(small + big - big)
    out = simplify(before)
    assert out.type == before.type
    check_rewrite([before], [out], FINITE, rng)


def test_exp_of_differences_is_not_split():
    m = gc.tensor("m", (3,))
    e = gc.exp(x - m)
    out = simplify(e / (e + 1.0))
    values = {x: np.full(3, 1000.0, np.float32), m: np.full(3, 1000.0, np.float32)}
    np.testing.assert_allclose(out.eval(values), 0.5)


def test_candidates_are_memoised(monkeypatch):
    calls = []
    sp = sympy_bridge._Sympy.get()
    original = sp.factor_terms
    monkeypatch.setattr(sp, "factor_terms", lambda e, *args, **kw: calls.append(e) or original(e, *args, **kw))
    p, q = gc.tensor("p", (5,)), gc.tensor("q", (5,))
    simplify(gc.tanh(p) * q + gc.tanh(p) * 7.0 * q)
    first = len(calls)
    r, s = gc.tensor("r", (2, 2)), gc.tensor("s", (2, 2))
    simplify(gc.tanh(r) * s + gc.tanh(r) * 7.0 * s)
    assert first > 0 and len(calls) == first


def test_large_regions_are_left_alone(monkeypatch, rng):
    monkeypatch.setattr(region, "MAX_REGION", 4)
    out = x
    for _ in range(6):
        out = out * y + x
    before = out - out * 1.0
    simplified, report = simplify(before, explain=True)
    assert "sympy" not in report.fired
    check_rewrite([before], [simplified], FINITE, rng)


def test_region_budget(monkeypatch):
    monkeypatch.setattr(sympy_bridge, "MAX_REGIONS", 0)
    _, report = simplify(a * x + b * x, explain=True)
    assert "sympy" not in report.fired
    assert any("budget of 0 regions" in note for p in report.phases for note in p.notes)


def test_float_constants_are_leaves_and_small_fractions_numbers(rng):
    assert region.exact_number(gc.constant(np.float32(0.9))) is None   # 7549747/8388608: a leaf
    assert region.exact_number(gc.constant(np.float32(0.5))) == Fraction(1, 2)
    assert region.exact_number(gc.constant(np.float32(3.0))) == 3
    p, q = gc.tensor("p", (4,)), gc.tensor("q", (4,))
    before = gc.tanh(p) * q * 0.9 + gc.tanh(p) * q * 0.1
    simplified, report = simplify(before, explain=True)
    assert "sympy" in report.fired                                     # still factored: tanh(p) * q * (0.9 + 0.1)
    check_rewrite([before], [simplified], FINITE, rng)


def _read_once_formula(sp, symbols, rng):
    """A random formula using each symbol once: sums and products of subformulas, 1 + t, and
    functions (tanh, sigmoid, abs, sin, floor, erf) of them; then, at the top, a sum with
    signs of it and products of two more symbols."""
    sigmoid = sympy_bridge._Sympy._opaque["sigmoid"]
    wraps = [lambda t: t, lambda t: 1 + t, sp.tanh, sigmoid, sp.Abs, sp.sin, sp.floor, sp.erf]
    parts = list(symbols[:-4])
    while len(parts) > 1:
        a, b = (parts.pop(int(rng.integers(len(parts)))) for _ in range(2))
        parts.append(wraps[int(rng.integers(len(wraps)))](a + b if rng.integers(2) else a * b))
    signs = rng.choice([-1, 1], size=3)
    return signs[0] * parts[0] + signs[1] * symbols[-4] * symbols[-3] + signs[2] * symbols[-2] * symbols[-1]


def test_transforms_of_read_once_formulas_are_never_cheaper():
    """_read_once's claim, which lets the bridge skip the transforms: on such formulas none of
    them gives fewer operations by the bridge's cost model."""
    sp = sympy_bridge._Sympy.get()
    rng = np.random.default_rng(7)
    symbols = [sp.Symbol(f"x{i}", real=True, positive=i % 3 == 0 or None) for i in range(10)]
    leaves = {s: gc.tensor(f"leaf{i}", (3,)) for i, s in enumerate(symbols)}
    checked = 0
    for _ in range(40):
        expr = _read_once_formula(sp, symbols[10 - int(rng.integers(6, 11)):], rng)
        if not sympy_bridge._read_once(sp, expr):  # sympy made a number of 1 + 1, or floor(x + 1) - 1
            continue
        checked += 1
        costs = _costs(sp, sympy_bridge._transformed(sp, expr), leaves)
        assert min(costs) == costs[0], (expr, sympy_bridge._transformed(sp, expr), costs)
    assert checked >= 25


def _costs(sp, found, leaves):
    writer = sympy_bridge._FromSympy(sp, list(leaves), list(leaves.values()), np.dtype("float32"), [])
    return [sympy_bridge._added_cost(writer.build(c), set(), set()) for c in found]


def test_formulas_the_transforms_shorten_are_not_read_once():
    sp = sympy_bridge._Sympy.get()
    symbols = a, b, c, d = sp.symbols("a b c d", real=True)
    leaves = {s: gc.tensor(f"leaf_{s}", (3,)) for s in symbols}
    shorter = [a * b + a * c, -a / 64 + b / 64, a / b - c / b, sp.exp(a) * sp.exp(b), (-a - b) * (-c - d),
               -sp.tanh(c * (-sp.sin(a) - 1)), sp.cos(c * sp.erf(d * (-sp.tan(a) - 1)))]
    for expr in shorter:
        assert not sympy_bridge._read_once(sp, expr), expr
        costs = _costs(sp, sympy_bridge._transformed(sp, expr), leaves)
        assert min(costs) < costs[0], (expr, costs)
    for expr in (sp.log(a) + b, sp.sqrt(a) * b, 2 * a + b):
        assert not sympy_bridge._read_once(sp, expr), expr
    assert sympy_bridge._read_once(sp, a - sp.tanh(b + c) * d + 1)


def test_regions_with_one_key_share_the_sympy_work(monkeypatch):
    """A region equal to an earlier one up to its leaves is built from the recorded steps,
    without sympy, into what sympy's way gives."""
    built = []
    original = sympy_bridge._FromSympy.build
    monkeypatch.setattr(sympy_bridge._FromSympy, "build", lambda self, e: built.append(e) or original(self, e))

    def graph(p, q):
        return (p * 3.0 + q * 3.0) / 2.0 - q * 1.5 + gc.tanh(p) * q

    first, report = simplify(graph(gc.tensor("p1", (2, 3)), gc.tensor("q1", (2, 3))), explain=True)
    assert "sympy" in report.fired and built
    written = len(built)
    p2, q2 = gc.tensor("p2", (2, 3)), gc.tensor("q2", (2, 3))
    second, report = simplify(graph(p2, q2), explain=True)
    assert "sympy" in report.fired and len(built) == written
    monkeypatch.setattr(sympy_bridge, "_plans", {})
    assert simplify(graph(p2, q2)) is second and len(built) > written


def _training_graphs():
    """Training-step graphs (loss and SGD updates) of a tanh MLP and of the demo's CNN with Adam."""
    x, y = gc.tensor("x", (None, 8)), gc.tensor("y", (None,), "int64")
    rng = np.random.default_rng(0)
    params = [gc.shared(rng.normal(size=shape).astype(np.float32), f"p{i}")
              for i, shape in enumerate([(8, 16), (16,), (16, 16), (16,), (16, 4), (4,)])]
    h = x
    for w, b in zip(params[0:4:2], params[1:4:2]):
        h = gc.tanh(h @ w + b)
    loss = gc.nn.cross_entropy(h @ params[4] + params[5], y)
    mlp = [loss] + [v for _, v in gc.nn.sgd(params, loss, lr=0.1)]
    model = gc.nn.models.digits_cnn(channels=(2, 3), batch_norm=True, rng=0)
    images, labels = gc.tensor("images", (None, 1, 8, 8)), gc.tensor("labels", (None,), "int64")
    loss = gc.nn.cross_entropy(model(images, training=True), labels)
    cnn = [loss] + [v for _, v in gc.nn.adam(model.parameters(), loss, lr=0.01)]
    return [mlp, cnn]


def test_shared_sympy_work_leaves_the_graphs_as_they_were(monkeypatch):
    """With the plans and memos of earlier regions (replayed steps, passed-over keys, skipped
    transforms of equal expressions) a graph simplifies to the very nodes it does without."""
    for graph in _training_graphs():
        monkeypatch.setattr(sympy_bridge, "_plans", {})
        monkeypatch.setattr(sympy_bridge, "_candidate_memo", {})
        cold = simplify(graph)
        assert simplify(graph) == cold
