"""Graphs the printing tests share."""
from __future__ import annotations

import numpy as np

import graphc as gc


def chain(x: gc.Node, depth: int) -> gc.Node:
    """h <- h * h + tanh(h), `depth` times: every level is used three times by the next,
    so printing without names for shared nodes would be exponential in `depth`."""
    h = x
    for _ in range(depth):
        h = h * h + gc.tanh(h)
    return h


def mlp_loss():
    """A small MLP's mean squared error, with its inputs and parameters."""
    rng = np.random.default_rng(0)
    x = gc.tensor("x", (None, 4))
    y = gc.tensor("y", (None, 2))
    w1 = gc.shared(rng.standard_normal((4, 3)).astype("float32"), name="w1")
    b1 = gc.shared(np.zeros(3, "float32"), name="b1")
    w2 = gc.shared(rng.standard_normal((3, 2)).astype("float32"), name="w2")
    hidden = gc.tanh(x @ w1 + b1)
    loss = gc.mean((hidden @ w2 - y) ** 2)
    return loss, [w1, b1, w2]
