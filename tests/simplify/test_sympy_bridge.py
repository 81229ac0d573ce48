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
