"""Finite-difference gradient checks shared by the op tests.

`check_grad(fn, arrays)` builds `fn` on symbolic float64 inputs shaped like `arrays`,
differentiates `sum(fn(...) * R)` for a fixed random `R` with `gc.grad`, and compares the
result with central differences of that same sum computed by the numpy reference.
`fn` may itself return gradients, which checks second derivatives.

Usage (tests/conftest.py puts tests/ops on sys.path):

    from gradcheck import check_grad
    check_grad(lambda x, w: gc.nn.conv2d(x, w, stride=2), [x_array, w_array])
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

import graphc as gc
from graphc.backend.reference import Program


def check_grad(
    fn: Callable[..., gc.Node],
    values: Sequence[np.ndarray],
    wrt: Optional[Sequence[int]] = None,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
) -> list[np.ndarray]:
    """Assert that gc.grad of `fn` matches central differences; return the gradients.

    Float arrays are converted to float64; other arrays (integer labels, bool masks) are
    passed with their dtype and not differentiated. `wrt` picks the positions of the
    inputs to check (default: every float input); an input the output does not reach
    has gradient zero, which the differences then confirm.
    """
    arrays = [_as_input_array(v) for v in values]
    nodes = [gc.tensor(f"in{i}", a.shape, a.dtype) for i, a in enumerate(arrays)]
    feed = dict(zip(nodes, arrays))
    out = fn(*nodes)
    if out.dtype != np.float64:
        raise AssertionError(f"check_grad: fn must return float64 on float64 inputs, got {out.dtype}")
    out_value = Program([out]).run(feed)[0]
    weights = np.random.default_rng(seed).standard_normal(out_value.shape)
    cost = gc.sum(out * gc.constant(weights))
    targets = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if wrt is None else list(wrt)
    grads = gc.grad(cost, [nodes[i] for i in targets], disconnected="zero")
    analytic = Program(grads).run(feed)
    cost_program = Program([cost])
    for i, got in zip(targets, analytic):
        expected = _central_differences(cost_program, feed, nodes[i], eps)
        np.testing.assert_allclose(
            got, expected, rtol=rtol, atol=atol, err_msg=f"check_grad: gradient of input {i}"
        )
    return analytic


def _as_input_array(value: np.ndarray) -> np.ndarray:
    arr = np.asarray(value)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def _central_differences(cost: Program, feed: dict, node: gc.Node, eps: float) -> np.ndarray:
    """d cost / d node by (f(x + eps) - f(x - eps)) / 2 eps, one element at a time."""
    base = feed[node]
    result = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        costs = []
        for step in (eps, -eps):
            moved = base.copy()
            moved[index] += step
            costs.append(cost.run({**feed, node: moved})[0])
        result[index] = (costs[0] - costs[1]) / (2 * eps)
    return result
