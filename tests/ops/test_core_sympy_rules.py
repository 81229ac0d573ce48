"""Each derivative rule in SCALAR_FNS against sympy.diff of the scalar function.

For every differentiable scalar function and argument, sympy differentiates the
function's formula; the graph gradient of sum(f(a, b)) (elementwise, so its gradient is
the partial derivative at each point) is compared with that derivative evaluated on
random points of the function's domain, away from kinks.
"""
import numpy as np
import pytest
import sympy as sp

import graphc as gc
from graphc.ops import SCALAR_FNS, Elemwise

a, b, c = sp.symbols("a b c", real=True)

# (formula, sampler per argument); samplers keep away from kinks and domain edges
_real = lambda rng, n: rng.uniform(-3, 3, n) + np.where(rng.random(n) < 0.5, -0.1, 0.1)  # noqa: E731
_pos = lambda rng, n: rng.uniform(0.2, 3, n)  # noqa: E731
_above_minus_one = lambda rng, n: rng.uniform(-0.8, 3, n)  # noqa: E731
_cond = lambda rng, n: rng.random(n) < 0.5  # noqa: E731
_inside_poles = lambda rng, n: rng.uniform(-1.4, 1.4, n)  # noqa: E731

FORMULAS = {
    "add": (a + b, [_real, _real]),
    "sub": (a - b, [_real, _real]),
    "mul": (a * b, [_real, _real]),
    "truediv": (a / b, [_real, _pos]),
    "pow": (a ** b, [_pos, _real]),
    "maximum": (sp.Max(a, b), [_real, _real]),
    "minimum": (sp.Min(a, b), [_real, _real]),
    "neg": (-a, [_real]),
    "exp": (sp.exp(a), [_real]),
    "log": (sp.log(a), [_pos]),
    "log1p": (sp.log(1 + a), [_above_minus_one]),
    "expm1": (sp.exp(a) - 1, [_real]),
    "sqrt": (sp.sqrt(a), [_pos]),
    "abs": (sp.Abs(a), [_real]),
    "sign": (sp.sign(a), [_real]),
    "relu": (sp.Max(a, 0), [_real]),
    "sigmoid": (1 / (1 + sp.exp(-a)), [_real]),
    "tanh": (sp.tanh(a), [_real]),
    "softplus": (sp.log(1 + sp.exp(a)), [_real]),
    "where": (sp.Piecewise((b, sp.Eq(a, 1)), (c, True)), [_cond, _real, _real]),
    "sin": (sp.sin(a), [_real]),
    "cos": (sp.cos(a), [_real]),
    "tan": (sp.tan(a), [_inside_poles]),
    "erf": (sp.erf(a), [_real]),
    "reciprocal": (1 / a, [_real]),
    "rsqrt": (1 / sp.sqrt(a), [_pos]),
    "log2": (sp.log(a, 2), [_pos]),
    "log10": (sp.log(a, 10), [_pos]),
}
#: Piecewise constant: a zero gradient everywhere, as PyTorch.
ZERO_GRADIENT = {"floor", "ceil", "round"}
NOT_DIFFERENTIABLE = {"lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or", "logical_not",
                      "logical_xor", "isnan", "isfinite"}


def test_every_scalar_function_has_a_formula_or_no_gradient():
    assert set(SCALAR_FNS) == set(FORMULAS) | ZERO_GRADIENT | NOT_DIFFERENTIABLE


def _cases():
    for name, (formula, samplers) in sorted(FORMULAS.items()):
        for k, sampler in enumerate(samplers):
            if sampler is not _cond:
                yield pytest.param(name, k, id=f"{name}-arg{k}")


@pytest.mark.parametrize("name,position", _cases())
def test_derivative_rule_matches_sympy(name, position):
    formula, samplers = FORMULAS[name]
    symbols = [a, b, c][: len(samplers)]
    rng = np.random.default_rng(len(name) * 10 + position)
    n = 50
    values = [s(rng, n) for s in samplers]
    inputs = [gc.tensor(f"x{k}", (n,), "bool" if s is _cond else "float64") for k, s in enumerate(samplers)]
    sympy_args = [v.astype(np.float64) for v in values]  # where's condition: 1.0 for True
    out = gc.Node.make(Elemwise(name), inputs)
    got = gc.grad(gc.sum(out), inputs[position]).eval(dict(zip(inputs, values)))
    symbolic = sp.diff(formula, symbols[position]).replace(sp.DiracDelta, lambda *_: sp.S.Zero)  # off the kinks
    derivative = sp.lambdify(symbols, symbolic, modules="numpy")
    expected = np.broadcast_to(np.asarray(derivative(*sympy_args), dtype=np.float64), (n,))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE))
def test_comparisons_and_logic_carry_no_gradient(name):
    dtype = "bool" if name.startswith("logical") else "float64"
    x = gc.tensor("x", (3,), dtype)
    out = gc.Node.make(Elemwise(name), [x] * SCALAR_FNS[name].arity)
    assert out.dtype == np.bool_
    y = gc.tensor("y", (3,), "float64")
    cost = gc.sum(gc.where(out, y, 0.0))
    xv = np.array([True, False, True]) if dtype == "bool" else np.array([-1.0, 0.0, 2.0])
    feed = {x: xv, y: np.ones(3)}
    np.testing.assert_array_equal(gc.grad(cost, y).eval(feed), out.eval(feed).astype(np.float64))
    if dtype == "float64":
        with pytest.raises(gc.DisconnectedGradientError, match="the cost does not depend on"):
            gc.grad(cost, x)


@pytest.mark.parametrize("name", sorted(ZERO_GRADIENT))
def test_rounding_has_a_zero_gradient(name):
    x = gc.tensor("x", (4,), "float64")
    out = gc.Node.make(Elemwise(name), [x])
    got = gc.grad(gc.sum(out * 3.0), x).eval({x: np.array([-1.5, 0.5, 0.2, 2.0])})
    np.testing.assert_array_equal(got, np.zeros(4))
