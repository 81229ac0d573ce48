"""Weight initialisers: He (Kaiming) and Glorot (Xavier), normal or uniform, seedable.

Each takes the weight's shape, its fan-in and fan-out (the layer knows which axes
those are) and a numpy Generator, and returns a float array. He scales for ReLU
networks (variance 2 / fan_in), Glorot for tanh/sigmoid ones (2 / (fan_in + fan_out)).
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np

Initialiser = Callable[[tuple, int, int, np.random.Generator], np.ndarray]
RngLike = Union[np.random.Generator, int, None]


def as_rng(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed, or None (fresh entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def he_normal(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def he_uniform(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in), so the variance is 2 / fan_in."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def glorot_uniform(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def zeros(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    return np.zeros(shape)


INITIALISERS: dict[str, Initialiser] = {
    "he_normal": he_normal, "he_uniform": he_uniform,
    "glorot_normal": glorot_normal, "glorot_uniform": glorot_uniform, "zeros": zeros,
}


def get_initialiser(init: Union[str, Initialiser]) -> Initialiser:
    """An initialiser by name (see INITIALISERS) or the callable itself."""
    if callable(init):
        return init
    try:
        return INITIALISERS[init]
    except KeyError:
        raise ValueError(f"unknown initialiser {init!r}; choose from {sorted(INITIALISERS)}") from None


def initial_value(
    init: Union[str, Initialiser], shape: tuple, fan_in: int, fan_out: int,
    rng: RngLike, dtype: Optional[np.dtype] = None,
) -> np.ndarray:
    """Draw an initial weight array of `shape` and `dtype` (float32 by default)."""
    value = get_initialiser(init)(tuple(shape), fan_in, fan_out, as_rng(rng))
    return np.asarray(value, dtype=dtype or np.float32)


def from_array(value: np.ndarray) -> Initialiser:
    """An initialiser that returns a copy of `value` (to build a layer with given weights)."""
    def init(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        if tuple(np.shape(value)) != tuple(shape):
            raise ValueError(f"from_array: value has shape {np.shape(value)}, the weight needs {shape}")
        return np.array(value)
    return init
