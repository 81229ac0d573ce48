"""Node counts before and after `gc.simplify` for typical gradient graphs, and the time it
takes to simplify the training graph of a small CNN.

Run: python benchmarks/bench_simplify.py (after `pip install -e .`, or with PYTHONPATH=.)
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

import graphc as gc
from graphc.simplify import node_count

BATCH, FEATURES, HIDDEN, CLASSES = 32, 20, 16, 10


def sigmoid_sum() -> list[gc.Node]:
    x = gc.tensor("x", (BATCH, FEATURES))
    return [gc.grad(gc.sum(gc.sigmoid(x)), x)]


def tanh_squared_sum() -> list[gc.Node]:
    x = gc.tensor("x", (BATCH, FEATURES))
    return [gc.grad(gc.sum(gc.tanh(x) ** 2), x)]


def softmax_regression() -> list[gc.Node]:
    rng = np.random.default_rng(0)
    x = gc.tensor("x", (BATCH, FEATURES))
    y = gc.tensor("y", (BATCH,), "int64")
    w = gc.shared(rng.normal(size=(FEATURES, CLASSES)), "W")
    b = gc.shared(np.zeros(CLASSES), "b")
    return gc.grad(gc.nn.cross_entropy(x @ w + b, y), [w, b])


def mlp() -> list[gc.Node]:
    rng = np.random.default_rng(0)
    x = gc.tensor("x", (BATCH, FEATURES))
    y = gc.tensor("y", (BATCH,), "int64")
    w1 = gc.shared(rng.normal(size=(FEATURES, HIDDEN)), "W1")
    b1 = gc.shared(np.zeros(HIDDEN), "b1")
    w2 = gc.shared(rng.normal(size=(HIDDEN, CLASSES)), "W2")
    b2 = gc.shared(np.zeros(CLASSES), "b2")
    hidden = gc.tanh(x @ w1 + b1)
    return gc.grad(gc.nn.cross_entropy(hidden @ w2 + b2, y), [w1, b1, w2, b2])


def cnn_params() -> list[gc.Node]:
    rng = np.random.default_rng(0)
    return [
        gc.shared(rng.normal(size=(8, 1, 3, 3)) * 0.3, "conv_w"),
        gc.shared(np.zeros(8), "conv_b"),
        gc.shared(rng.normal(size=(8 * 4 * 4, CLASSES)) * 0.1, "dense_w"),
        gc.shared(np.zeros(CLASSES), "dense_b"),
    ]


def cnn_loss(x: gc.Node, y: gc.Node, params: list[gc.Node]) -> gc.Node:
    """conv 3x3 (same) -> relu -> max-pool 2 -> dense -> softmax cross-entropy, on 8x8 digits."""
    conv_w, conv_b, dense_w, dense_b = params
    h = gc.nn.max_pool2d(gc.relu(gc.nn.conv2d(x, conv_w, conv_b, padding="same")), 2)
    return gc.nn.cross_entropy(gc.flatten(h, 1) @ dense_w + dense_b, y)


def cnn() -> list[gc.Node]:
    x = gc.tensor("x", (BATCH, 1, 8, 8))
    y = gc.tensor("y", (BATCH,), "int64")
    params = cnn_params()
    return gc.grad(cnn_loss(x, y, params), params)


def cnn_training_step() -> list[gc.Node]:
    """Loss and SGD-updated parameters: the graph a training function compiles."""
    x = gc.tensor("x", (BATCH, 1, 8, 8))
    y = gc.tensor("y", (BATCH,), "int64")
    params = cnn_params()
    loss = cnn_loss(x, y, params)
    grads = gc.grad(loss, params)
    return [loss] + [p - 0.1 * g for p, g in zip(params, grads)]


CASES: list[tuple[str, Callable[[], list[gc.Node]]]] = [
    ("d/dx sum(sigmoid(x))", sigmoid_sum),
    ("d/dx sum(tanh(x)**2)", tanh_squared_sum),
    ("d/dW, d/db mean softmax CE of x W + b", softmax_regression),
    ("2-layer MLP gradients", mlp),
    ("small CNN gradients", cnn),
]


def table() -> str:
    rows = ["| graph | nodes before | nodes after |", "| --- | ---: | ---: |"]
    for name, build in CASES:
        outputs = build()
        rows.append(f"| {name} | {node_count(outputs)} | {node_count(gc.simplify(outputs))} |")
    return "\n".join(rows)


def timing(repeats: int = 5) -> tuple[float, float]:
    """Seconds to simplify the CNN training graph: first call (sympy cold) and best of repeats
    on fresh graphs (what a new compile costs once sympy is loaded)."""
    start = time.perf_counter()
    gc.simplify(cnn_training_step())
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        graph = cnn_training_step()
        start = time.perf_counter()
        gc.simplify(graph)
        best = min(best, time.perf_counter() - start)
    return first, best


def main() -> None:
    first, best = timing()
    print(table())
    step = cnn_training_step()
    print(f"\nsmall CNN training graph ({node_count(step)} -> {node_count(gc.simplify(step))} nodes): "
          f"simplify takes {first * 1e3:.0f} ms on the first call (sympy loading), "
          f"{best * 1e3:.0f} ms after")


if __name__ == "__main__":
    main()
