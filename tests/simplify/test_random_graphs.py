"""Random elementwise expressions (with broadcasting) keep their values through every phase:
wherever the original is finite, the simplified graph gives the same number."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import graphc as gc
from graphc.ops.elementwise import apply
from graphc.simplify import simplify

LEAVES = [gc.tensor("a", (3,), "float64"), gc.tensor("b", (2, 3), "float64"), gc.tensor("c", (), "float64")]
UNARY = ["neg", "exp", "log", "log1p", "expm1", "sqrt", "abs", "tanh", "sigmoid", "softplus"]
BINARY = ["add", "sub", "mul", "truediv", "pow", "maximum"]
CONSTANTS = [0.0, 1.0, 2.0, -1.0, 0.5]

leaf = st.one_of(st.sampled_from(LEAVES), st.sampled_from(CONSTANTS).map(lambda v: gc.constant(v, "float64")))
expressions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda fn, x: apply(fn, x), st.sampled_from(UNARY), inner),
        st.builds(lambda fn, x, y: apply(fn, x, y), st.sampled_from(BINARY), inner, inner),
    ),
    max_leaves=8,
)


@given(expressions, st.integers(0, 2**32 - 1))
def test_random_expression_keeps_its_values(expr, seed):
    rng = np.random.default_rng(seed)
    values = {leaf: rng.normal(0, 1.5, size=leaf.type.shape) for leaf in LEAVES}
    simplified = simplify(expr)
    assert simplified.type == expr.type
    with np.errstate(all="ignore"):
        before, after = gc.evaluate([expr, simplified], values)
    finite = np.isfinite(before)
    np.testing.assert_allclose(after[finite], before[finite], rtol=1e-6, atol=1e-9)
