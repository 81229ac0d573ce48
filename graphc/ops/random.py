"""Random numbers from a counter-based generator: element i of a draw is a hash of
(key, salt, i), so every backend produces the same numbers and a compiled kernel can
generate them in its loops. A RandomStream's key advances at every call of a function.

Uniform and normal draws (`RandomDraw`) turn the bits into numbers with float64
arithmetic written once (`draw_value`) over a small math namespace, which the numpy
reference and the llvm backend each supply, so both compute the same float operations.
The llvm backend fuses a multiplication into a following addition (one rounding, which
numpy cannot do), so the transforms never add an inexact product: they divide by a
reciprocal instead (a polynomial step divides by 1 / w, a draw is scaled by dividing by
1 / std), so both backends round the same operations the same way.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

import math
from types import SimpleNamespace

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, broadcast_shapes, format_shape
from ..ir.dtypes import DEFAULT_FLOAT, as_dtype, is_float, promote
from .convert import as_node
from .creation import zeros
from .elementwise import add, cast, lt
from .leaves import constant, shared
from .reduce import sum_to
from .tangents import linear

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


#: Salt of the second uniform a normal draw takes per element (Box-Muller uses two).
SECOND_SALT = 0x9E3779B9
INV_LN2 = 1.0 / math.log(2.0)
LOG_SERIES = tuple(1.0 / (2 * k + 1) for k in range(12))                  # atanh(s) / s in s**2
COS_SERIES = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(10))  # in a**2, |a| <= pi/4
SIN_SERIES = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(10))


def _series(w: Any, coeffs: Sequence[float], M: SimpleNamespace) -> Any:
    """sum(coeffs[k] * w**k) by Horner's rule, each step dividing by 1 / w rather than
    multiplying by w (no product is added; 1 / w is inf at w = 0, where the sum is coeffs[0])."""
    inv = M.bind(1.0 / w)
    total = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        total = c + total / inv
    return total


def _log_count(m: Any, M: SimpleNamespace) -> Any:
    """log(m) for integer-valued m in [1, 2**24]: m = 2**e * v with v in [sqrt(1/2), sqrt(2)]
    (exact scalings by powers of two), then log(v) = 2 atanh(s) with s = (v - 1) / (v + 1)."""
    v, e = m, 0.0
    for bits in (16, 8, 4, 2, 1):
        big = M.ge(v, 2.0 ** bits)
        v, e = M.bind(M.select(big, v * 2.0 ** -bits, v)), e + M.select(big, float(bits), 0.0)
    big = M.gt(v, math.sqrt(2.0))
    v, e = M.select(big, v * 0.5, v), e + M.select(big, 1.0, 0.0)
    f = M.bind(v - 1.0)
    s = M.bind(f / (f + 2.0))
    return e / INV_LN2 + (s + s) / (1.0 / _series(s * s, LOG_SERIES, M))


def _cos_turns(t: Any, M: SimpleNamespace) -> Any:
    """cos(2 pi t) for t in [0, 1): the nearest quarter turn q, then cos or sin of the rest."""
    quarters = M.bind(t * 4.0)
    q = M.bind(M.floor(quarters + 0.5))
    a = M.bind((quarters - q) * (math.pi / 2))
    w = M.bind(a * a)
    cos_a, sin_a = M.bind(_series(w, COS_SERIES, M)), M.bind(a / (1.0 / _series(w, SIN_SERIES, M)))
    return M.select(M.eq(q, 1.0), -sin_a, M.select(M.eq(q, 2.0), -cos_a, M.select(M.eq(q, 3.0), sin_a, cos_a)))


def draw_value(kind: str, bits: Any, more_bits: Any, loc: Any, scale: Any, M: SimpleNamespace) -> Any:
    """One element of a draw from its 24-bit integers (held as float64), in float64.

    uniform: loc (1 - u) + scale u with u = bits / 2**24 in [0, 1) (loc = low, scale = high).
    normal: loc + scale z, with z = sqrt(-2 log u1) cos(2 pi u2) (Box-Muller, u1 = (bits + 1)
    / 2**24 in (0, 1], u2 = more_bits / 2**24), rounded to the draw's dtype by `M.narrow`.
    Each product that meets an addition is a division by the reciprocal (a zero factor
    gives 0). `M` supplies sqrt, floor, select, ge, gt, eq, narrow and bind (a value used
    more than once: a name in loop IR, itself in numpy).
    """
    if kind == "uniform":
        u = M.bind(bits * 2.0 ** -24)
        return (1.0 - u) / (1.0 / loc) + u / (1.0 / scale)
    r = M.bind(2.0 * (24.0 / INV_LN2 - _log_count(bits + 1.0, M)))
    z = M.narrow(M.sqrt(M.select(M.gt(r, 0.0), r, 0.0)) * _cos_turns(more_bits * 2.0 ** -24, M))
    return loc + z / (1.0 / scale)


#: Each kind of draw and the names of its two parameters.
PARAMETERS = {"uniform": ("low", "high"), "normal": ("mean", "std")}
DRAWS = tuple(PARAMETERS)


@dataclass(frozen=True)
class RandomDraw(Op):
    """Uniform numbers in [low, high) or normal ones with mean and std (`kind`), shaped like
    the template input, from the key input; the last two inputs (low and high, or mean and
    std) broadcast to the template's shape."""

    kind: str
    salt: int
    dtype: np.dtype = DEFAULT_FLOAT
    shape_only_inputs = (1,)

    @property
    def name(self) -> str:
        return f"random_{self.kind}"

    def params_str(self) -> str:
        return f"salt={self.salt}"

    def infer_type(self, key: TensorType, template: TensorType, loc: TensorType, scale: TensorType) -> TensorType:
        if self.kind not in DRAWS:
            raise ValueError(f"random draw: unknown kind {self.kind!r}, expected one of {DRAWS}")
        if key.ndim != 0 or key.dtype != np.int64:
            raise TypeError(f"{self.name}: the key must be an int64 scalar, got {key}")
        for what, t in zip(PARAMETERS[self.kind], (loc, scale)):
            if not is_float(t.dtype):
                raise DTypeError(f"{self.name}: {what} must be float, got {t}")
            try:
                fits = broadcast_shapes(self.name, t.shape, template.shape) == template.shape
            except ShapeError:
                fits = False
            if not fits:
                raise ShapeError(f"{self.name}: {what} {format_shape(t.shape)} does not broadcast to the "
                                 f"draw's shape {format_shape(template.shape)}")
        return TensorType(self.dtype, template.shape)

    def reference(self, key: np.ndarray, template: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
        size = template.size
        bits = uniform_bits(int(key), self.salt, size).astype(np.float64).reshape(template.shape)
        more = uniform_bits(int(key), (self.salt + SECOND_SALT) & 0xFFFFFFFF, size).astype(np.float64)
        wide = lambda v: np.asarray(v, self.dtype).astype(np.float64)  # noqa: E731 - as the draw's dtype
        M = SimpleNamespace(sqrt=np.sqrt, floor=np.floor, select=np.where, ge=np.greater_equal,
                            gt=np.greater, eq=np.equal, narrow=wide, bind=lambda v: v)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = draw_value(self.kind, bits, more.reshape(template.shape), wide(loc), wide(scale), M)
        return np.asarray(value, self.dtype)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        key, template, loc, scale = node.inputs
        standard = Node.make(type(self)(self.kind, self.salt, self.dtype),
                             [key, template, constant(0.0, self.dtype), constant(1.0, self.dtype)])
        if self.kind == "uniform":
            return [None, None, sum_to(grad * (1.0 - standard), loc), sum_to(grad * standard, scale)]
        return [None, None, sum_to(grad, loc), sum_to(grad * standard, scale)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        """The draw is linear in its two parameters jointly: the same draw of their tangents."""
        return linear(node, tangents, (2, 3))


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


    def uniform(self, shape: Any, low: Any = 0.0, high: Any = 1.0, dtype: Any = None) -> Node:
        """Uniform numbers in [low, high) (24 random bits each) of `shape`: a tuple of ints, or
        a node whose shape (known when run) the draw takes. low and high are numbers or nodes
        that broadcast to it; gradients flow to nodes. dtype: float32 unless the template or
        low/high say float64."""
        return self._draw("uniform", shape, low, high, dtype)

    def normal(self, shape: Any, mean: Any = 0.0, std: Any = 1.0, dtype: Any = None) -> Node:
        """Normal numbers with `mean` and `std` (Box-Muller from two 24-bit uniforms), of
        `shape` (a tuple of ints or a template node, as `uniform`); gradients flow to mean
        and std when they are nodes (the reparameterisation mean + std * z)."""
        return self._draw("normal", shape, mean, std, dtype)

    def _draw(self, kind: str, shape: Any, loc: Any, scale: Any, dtype: Any) -> Node:
        what = f"RandomStream.{kind}"
        if isinstance(shape, Node):
            template = shape
        else:
            dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in dims):
                raise ShapeError(f"{what}: shape must be a tuple of sizes (ints >= 0), got {shape!r}; "
                                 f"for sizes known only when run, pass a node of that shape (a template)")
            template = zeros(dims, "float32")
        given = [as_node(v) for v in (loc, scale) if isinstance(v, Node)]
        floats = [n.dtype for n in given + ([template] if isinstance(shape, Node) else []) if is_float(n.dtype)]
        dt = as_dtype(dtype) if dtype is not None else promote(*floats) if floats else DEFAULT_FLOAT
        if not is_float(dt):
            raise DTypeError(f"{what}: dtype must be float32 or float64, got {dt.name}")
        loc, scale = (v if isinstance(v, Node) else constant(v, dt) for v in (loc, scale))
        return Node.make(RandomDraw(kind, next(self._salts), dt), [self.key, template, loc, scale])


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
