"""Helpers shared by the graphc.nn tests."""
import numpy as np

import graphc as gc


def numeric_gradient(f, value: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar function f at `value` (float64)."""
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        bumped = value.copy()
        bumped[index] += eps
        up = f(bumped)
        bumped[index] -= 2 * eps
        grad[index] = (up - f(bumped)) / (2 * eps)
    return grad


def run(outputs, feed):
    """Evaluate nodes with the numpy reference."""
    return gc.evaluate(outputs, feed)
