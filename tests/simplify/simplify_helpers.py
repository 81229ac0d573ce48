"""Helpers for the simplifier tests: random and special input values, and the check that a
graph and its rewrite compute the same values under a rule's policy."""
from __future__ import annotations

from typing import Sequence

import numpy as np

import graphc as gc
from graphc.ir import graph_inputs
from graphc.ops.leaves import Input
from graphc.simplify import ALL, FINITE, STABLE

#: Values every ALL- or STABLE-policy rule must get right.
SPECIALS = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0])
#: Size of each unknown dim in generated inputs.
UNKNOWN = 3
CLASSES = 4


def concrete(shape) -> tuple[int, ...]:
    return tuple(UNKNOWN if d is None else d for d in shape)


def feed(outputs: Sequence[gc.Node], rng: np.random.Generator, special: bool = False,
         positive: bool = False) -> dict:
    """Values for the inputs of `outputs`: int inputs are labels in [0, CLASSES); float
    inputs normal (positive: in [0.2, 3]) or, with `special`, drawn from SPECIALS."""
    values = {}
    for leaf in graph_inputs(outputs):
        if not isinstance(leaf.op, Input):
            continue
        shape = concrete(leaf.type.shape)
        if leaf.dtype.kind in "iu":
            values[leaf] = rng.integers(0, CLASSES, size=shape).astype(leaf.dtype)
        elif special:
            values[leaf] = rng.choice(SPECIALS, size=shape).astype(leaf.dtype)
        elif positive:
            values[leaf] = rng.uniform(0.2, 3.0, size=shape).astype(leaf.dtype)
        else:
            values[leaf] = rng.normal(0, 1.5, size=shape).astype(leaf.dtype)
    return values


def evaluate(outputs: Sequence[gc.Node], values: dict) -> list[np.ndarray]:
    with np.errstate(all="ignore"):
        return gc.evaluate(list(outputs), values)


def assert_same_values(before: Sequence[gc.Node], after: Sequence[gc.Node], values: dict,
                       policy: str = ALL) -> None:
    """`after` computes what `before` does: everywhere for ALL and STABLE (nan where nan, inf
    where inf), and wherever `before` is not nan for FINITE."""
    for b, a in zip(evaluate(before, values), evaluate(after, values)):
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
        tol = 1e-5 if b.dtype == np.float32 else 1e-10
        if policy == FINITE:
            keep = ~np.isnan(b)
            a, b = a[keep], b[keep]
        assert policy in (ALL, FINITE, STABLE)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def check_rewrite(outputs: Sequence[gc.Node], simplified: Sequence[gc.Node], policy: str,
                  rng: np.random.Generator, positive: bool = False) -> None:
    """Compare on random values, and on special values unless the policy is FINITE."""
    for _ in range(3):
        assert_same_values(outputs, simplified, feed(outputs, rng, positive=positive), policy)
    if policy != FINITE:
        for _ in range(3):
            assert_same_values(outputs, simplified, feed(outputs, rng, special=True), policy)
