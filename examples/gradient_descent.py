"""Gradient descent as in a first lecture: minimise a 1-D function, then an n-D least-squares
problem, printing the symbolic gradient that graphc derives for each.

Run: python examples/gradient_descent.py [--backend numpy]
"""
import argparse

import numpy as np

import graphc as gc


def one_dimensional(backend: str) -> None:
    print("== 1-D: f(x) = x^4 - 3x^2 + x ==")
    x = gc.shared(np.float64(2.0), name="x")
    f = x**4 - 3 * x**2 + x
    df = gc.grad(f, x)
    print("f(x) =", gc.pprint(f))
    print("f'(x) as built by grad:", gc.pprint(df))
    print("f'(x) simplified:      ", gc.pprint(gc.simplify(df)))
    step = gc.function([], [f, df], updates=gc.nn.sgd([x], [df], lr=0.02), backend=backend)
    for i in range(200):
        value, slope = step()
        if i % 40 == 0:
            print(f"  step {i:3d}: x = {float(x.get_value()):+.5f}  f = {float(value):+.5f}  f' = {float(slope):+.5f}")
    print(f"  minimum near x = {float(x.get_value()):.5f} (f' = {float(slope):.1e}); starting from x = -2 "
          "would find the other, lower minimum\n")


def n_dimensional(backend: str) -> None:
    print("== n-D: least squares, f(w) = |A w - b|^2 / 2 with A of shape (20, 5) ==")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 5)), rng.normal(size=20)
    A, B = gc.tensor("A", (20, 5), "float64"), gc.tensor("b", (20,), "float64")
    w = gc.shared(np.zeros(5), name="w")
    residual = A @ w - B
    f = 0.5 * (residual * residual).sum()
    grad_w = gc.grad(f, w)
    print("f(w) =", gc.pprint(f))
    print("grad f(w), simplified (that is A^T (A w - b)):")
    print(gc.pprint(gc.simplify(grad_w)))
    lr = 1.0 / np.linalg.norm(a, 2) ** 2  # 1 / the largest eigenvalue of A^T A: a safe step
    step = gc.function([A, B], f, updates=gc.nn.sgd([w], [grad_w], lr=lr), backend=backend)
    for i in range(300):
        value = step(a, b)
        if i % 60 == 0:
            print(f"  step {i:3d}: f = {float(value):.6f}")
    exact = np.linalg.lstsq(a, b, rcond=None)[0]
    print(f"  distance to the least-squares solution: {np.linalg.norm(w.get_value() - exact):.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="llvm")
    args = parser.parse_args()
    one_dimensional(args.backend)
    n_dimensional(args.backend)
