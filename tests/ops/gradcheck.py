"""Finite-difference gradient checks shared by the op tests.

`check_grad(fn, arrays)` builds `fn` on symbolic float64 inputs shaped like `arrays`,
differentiates `sum(fn(...) * R)` for a fixed random `R` with `gc.grad`, and compares the
result with central differences of that same sum computed by the numpy reference.
`fn` may itself return gradients, which checks second derivatives. `shapes=` declares
sizes unknown until run (None), to check gradients through partially known shapes.

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
    shapes: Optional[Sequence[Sequence[Optional[int]]]] = None,
) -> list[np.ndarray]:
    """Assert that gc.grad of `fn` matches central differences; return the gradients.

    Float arrays are converted to float64; other arrays (integer labels, bool masks) are
    passed with their dtype and not differentiated. `wrt` picks the positions of the
    inputs to check (default: every float input); an input the output does not reach
    has gradient zero, which the differences then confirm. `shapes` declares the inputs'
    static shapes (None: a size known only when run; default: the arrays' shapes).
    """
    problem = GradProblem(fn, values, wrt, seed, shapes)
    analytic = Program(problem.grads).run(problem.feed)
    cost_program = Program([problem.cost])
    for i, got in zip(problem.targets, analytic):
        expected = _central_differences(cost_program, problem.feed, problem.nodes[i], eps)
        np.testing.assert_allclose(
            got, expected, rtol=rtol, atol=atol, err_msg=f"check_grad: gradient of input {i}"
        )
    return analytic


class GradProblem:
    """`sum(fn(inputs) * R)` for a fixed random R, on symbolic inputs declared with `shapes`,
    and its gradients by gc.grad. With declared shapes R is an input too (the last in
    `feed`), so sizes unknown in fn's output stay unknown through the cost."""

    def __init__(self, fn: Callable[..., gc.Node], values: Sequence[np.ndarray],
                 wrt: Optional[Sequence[int]] = None, seed: int = 0,
                 shapes: Optional[Sequence[Sequence[Optional[int]]]] = None):
        arrays = [_as_input_array(v) for v in values]
        shapes = [a.shape for a in arrays] if shapes is None else shapes
        self.nodes = [gc.tensor(f"in{i}", s, a.dtype) for i, (a, s) in enumerate(zip(arrays, shapes))]
        self.feed = dict(zip(self.nodes, arrays))
        out = fn(*self.nodes)
        if out.dtype != np.float64:
            raise AssertionError(f"check_grad: fn must return float64 on float64 inputs, got {out.dtype}")
        out_value = Program([out]).run(self.feed)[0]
        weights = np.random.default_rng(seed).standard_normal(out_value.shape)
        if out.type.is_static:
            self.cost = gc.sum(out * gc.constant(weights))
        else:
            r = gc.tensor("weights", out.type.shape, "float64")
            self.feed[r] = weights
            self.cost = gc.sum(out * r)
        self.targets = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if wrt is None else list(wrt)
        self.grads = gc.grad(self.cost, [self.nodes[i] for i in self.targets], disconnected="zero")


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
