"""Random numbers from a counter-based generator: element i of a draw is a hash of
(key, salt, i), so every backend produces the same numbers and a compiled kernel can
generate them in its loops. A RandomStream's key advances at every call of a function.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import Node, Op, TensorType
from ..ir.dtypes import DEFAULT_FLOAT, as_dtype
from .convert import as_node
from .elementwise import add, cast, lt
from .leaves import shared

_M32 = np.uint64(0xFFFFFFFF)


def mix32(x: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash with good avalanche (lowbias32), on uint64 holding uint32."""
    x = x & _M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _M32
    x ^= x >> np.uint64(16)
    return x


def uniform_bits(key: int, salt: int, size: int) -> np.ndarray:
    """The generator: 24 random bits per element from (key, salt, index)."""
    seed = mix32(np.uint64(key & 0xFFFFFFFF) ^ mix32(np.uint64(salt) + np.uint64(key >> 32 & 0xFFFFFFFF)))
    index = np.arange(size, dtype=np.uint64)
    return mix32(index ^ seed) >> np.uint64(8)


@dataclass(frozen=True)
class RandomUniform(Op):
    """Uniform floats in [0, 1) shaped like the template input, from the key input."""

    salt: int
    dtype: np.dtype = DEFAULT_FLOAT
    shape_only_inputs = (1,)

    def infer_type(self, key: TensorType, template: TensorType) -> TensorType:
        if key.ndim != 0 or key.dtype != np.int64:
            raise TypeError(f"random_uniform: the key must be an int64 scalar, got {key}")
        return TensorType(self.dtype, template.shape)

    def reference(self, key: np.ndarray, template: np.ndarray) -> np.ndarray:
        bits = uniform_bits(int(key), self.salt, template.size)
        return (bits.astype(np.float64) * 2.0**-24).astype(self.dtype).reshape(template.shape)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [None, None]


class RandomStream:
    """A seeded source of random tensors whose key advances at each function call.

    Each draw gets its own salt, so two draws in one graph differ; the same seed gives
    the same sequence of masks on every backend.
    """

    def __init__(self, seed: int = 0):
        self.key = shared(np.int64(seed), name=f"rng_key_{seed}")
        self.key.op.container.default_update = add(self.key, np.int64(1))
        self._salts = itertools.count(1)

    def uniform_like(self, x: Any, dtype: Any = None) -> Node:
        """Uniform [0, 1) values with x's shape."""
        x = as_node(x)
        dt = as_dtype(dtype) if dtype is not None else (x.dtype if x.dtype.kind == "f" else DEFAULT_FLOAT)
        return Node.make(RandomUniform(next(self._salts), dt), [self.key, x])

    def bernoulli_like(self, x: Any, p: float, dtype: Any = None) -> Node:
        """1 with probability p, else 0, with x's shape (in x's float dtype)."""
        u = self.uniform_like(x, dtype)
        return cast(lt(u, p), u.dtype)


_default_stream: Optional[RandomStream] = None


def default_stream() -> RandomStream:
    """The stream used when an op is given none (seed it with `seed`)."""
    global _default_stream
    if _default_stream is None:
        _default_stream = RandomStream(0)
    return _default_stream


def seed(value: int) -> None:
    """Reset the default random stream to `value` (reproducible dropout masks)."""
    global _default_stream
    _default_stream = RandomStream(value)
