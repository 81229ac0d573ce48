"""Random graphs for the differential fuzzer: one case is a small graph over fresh inputs,
built step by step from a seed, with the inputs' values and the gradients of a random
projection of its float outputs.

Every node is evaluated with the numpy reference as it is built, so each step sees the
run-time shapes and values of its operands (and a step that numpy refuses is dropped).
Shapes mix known sizes, unknown ones (None) and size-1 axes that broadcast; a share of
cases puts special values (inf, nan, -0, huge, tiny) into the inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import graphc as gc
from graphc.ops.elementwise import apply

FLOATS = ("float32", "float64")


@dataclass(frozen=True)
class Profile:
    """How big the cases are: `steps` ops per case, axes up to `max_dim` (one axis of a
    share `big_share` of cases up to `big_dim`)."""

    steps: tuple[int, int] = (2, 6)
    max_dim: int = 6
    big_dim: int = 40
    big_share: float = 0.05
    special_share: float = 0.15


SHORT = Profile()
LONG = Profile(steps=(2, 10), max_dim=9, big_dim=130, big_share=0.2)


@dataclass
class Case:
    """A built case: its inputs and their values, the outputs that are compared, and the
    seed and description that reproduce it."""

    seed: int
    dtype: str
    special: bool
    inputs: list[gc.Node] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    outputs: list[gc.Node] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)     # the steps taken, for reports
    grads_of: list[gc.Node] = field(default_factory=list)   # the inputs the gradients are taken for
    stream: Optional[gc.RandomStream] = None   # dropout's random stream, if any
    grad_error: Optional[str] = None   # why gc.grad refused, if it did
    raw: bool = False   # run as built (one case in 5), not simplified: other op mixes reach the backend

    @property
    def feed(self) -> dict[gc.Node, np.ndarray]:
        return dict(zip(self.inputs, self.values))


class _Skip(Exception):
    """This step does not fit its operands; try another."""


SPECIALS = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, -1.0]


class Builder:
    """Builds one case from a generator `rng` (see `build_case`)."""

    def __init__(self, rng: np.random.Generator, dtype: str, prefix: str, profile: Profile, special: bool):
        self.rng, self.dtype, self.prefix, self.profile, self.special = rng, dtype, prefix, profile, special
        self.case_inputs: list[gc.Node] = []
        self.case_values: list[np.ndarray] = []
        self.pool: list[gc.Node] = []          # float nodes built so far (operands for later steps)
        self.value: dict[gc.Node, np.ndarray] = {}
        self.ops: list[str] = []
        self.big = profile.big_dim if rng.random() < profile.big_share else None
        self.stream: Optional[gc.RandomStream] = None   # dropout's, reset before each call
        self.extra_outputs: list[gc.Node] = []  # bool and int results compared exactly

    # randomness

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, items: list | tuple) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def dim(self, allow_big: bool = True) -> int:
        if allow_big and self.big is not None and self.chance(0.3):
            return int(self.rng.integers(self.profile.max_dim + 1, self.big + 1))
        return int(self.pick([1, 2, 3, 4, 5, 7, 8][: 5 + (self.profile.max_dim > 6) * 2]))

    def shape(self, ndim: Optional[int] = None) -> tuple[int, ...]:
        ndim = self.pick([0, 1, 1, 2, 2, 2, 3, 3, 4]) if ndim is None else ndim
        shape = [self.dim() for _ in range(ndim)]
        if self.big is not None and shape and max(shape) > self.profile.max_dim:
            # one big axis at most, so cases stay cheap
            big = int(np.argmax(shape))
            shape = [d if k == big else min(d, self.profile.max_dim) for k, d in enumerate(shape)]
        return tuple(shape)

    def static(self, shape: tuple[int, ...], none_share: float = 0.3) -> tuple[Optional[int], ...]:
        """A declared shape for run-time `shape`: some sizes unknown (rarely a size 1)."""
        return tuple(None if self.chance(none_share if d != 1 else none_share / 6) else d for d in shape)

    def floats(self, shape: tuple[int, ...], dtype: Optional[str] = None) -> np.ndarray:
        dtype = dtype or self.dtype
        kind = self.pick(["normal", "normal", "uniform", "ints", "wide"])
        if kind == "normal":
            v = self.rng.normal(0.0, self.pick([0.5, 1.0, 2.0]), shape)
        elif kind == "uniform":
            v = self.rng.uniform(-3.0, 3.0, shape)
        elif kind == "ints":  # exact ties for max, argmax, comparisons and pooling
            v = self.rng.integers(-3, 4, shape).astype(np.float64)
        else:
            v = self.rng.normal(0.0, 1.0, shape) * np.exp(self.rng.uniform(-6, 6, shape))
        v = np.asarray(v, dtype=dtype)
        if self.special and v.size and self.chance(0.6):
            info = np.finfo(dtype)
            specials = SPECIALS + [float(info.max), float(-info.max), float(info.tiny) / 4, 1e30, -1e-30]
            mask = self.rng.random(shape) < self.pick([0.05, 0.2, 0.5])
            v[mask] = self.rng.choice(np.asarray(specials, dtype=dtype), size=int(mask.sum()))
        return v

    # leaves

    def input(self, shape: tuple[int, ...], dtype: Optional[str] = None, static: Any = "random",
              value: Optional[np.ndarray] = None) -> gc.Node:
        dtype = dtype or self.dtype
        if static == "random":
            static = self.static(shape)
        elif static is None:
            static = shape
        if value is None:
            if np.dtype(dtype).kind == "f":
                value = self.floats(shape, dtype)
            elif np.dtype(dtype).kind == "b":
                value = self.rng.random(shape) < 0.5
            else:
                value = self.rng.integers(-4, 5, shape).astype(dtype)
        node = gc.tensor(f"{self.prefix}{len(self.case_inputs)}", static, dtype)
        self.case_inputs.append(node)
        self.case_values.append(np.asarray(value, dtype=dtype))
        self.value[node] = self.case_values[-1]
        return node

    def operand(self, ndim: Optional[int] = None, min_ndim: int = 0) -> gc.Node:
        """A float node from the pool (recent ones more often), or a new input."""
        fits = [n for n in self.pool if (ndim is None or n.ndim == ndim) and n.ndim >= min_ndim]
        if fits and self.chance(0.8):
            weights = np.arange(1, len(fits) + 1, dtype=float) ** 2
            return fits[int(self.rng.choice(len(fits), p=weights / weights.sum()))]
        if ndim is None:
            ndim = max(min_ndim, self.pick([0, 1, 2, 2, 3, 3, 4]))
        node = self.input(self.shape(ndim))
        self.pool.append(node)
        return node

    def like(self, x: gc.Node, broadcast: bool = True, dtype: Optional[str] = None) -> gc.Node:
        """A new input that combines elementwise with x: x's run-time shape, with sizes
        made 1 (known) or unknown and leading axes dropped or added."""
        shape = list(self.shape_of(x))
        static: list[Optional[int]] = []
        out_shape: list[int] = []
        for d, s in zip(shape, x.shape):
            if broadcast and self.chance(0.25):
                out_shape.append(1)
                static.append(1)
            else:
                out_shape.append(d)
                static.append(None if self.chance(0.3) and (d != 1 or s is None) else d)
        if broadcast and out_shape and self.chance(0.3):
            k = int(self.rng.integers(1, len(out_shape) + 1))
            out_shape, static = out_shape[k:], static[k:]
        elif broadcast and len(out_shape) < 4 and self.chance(0.15):
            d = self.dim(allow_big=False)
            out_shape, static = [d] + out_shape, [d] + static
        return self.input(tuple(out_shape), dtype, static=tuple(static))

    def const(self, choices=(0.5, 2.0, -1.0, 3.0, 0.0, 1.0, -0.25)) -> float:
        return float(self.pick(choices))

    # evaluation

    def shape_of(self, node: gc.Node) -> tuple[int, ...]:
        return self.eval(node).shape

    def eval(self, node: gc.Node) -> np.ndarray:
        if node not in self.value:
            with np.errstate(all="ignore"):
                self.value[node] = gc.evaluate([node], self.value)[0]
        return self.value[node]

    def add(self, node: gc.Node, what: str) -> gc.Node:
        """Keep a new node if numpy can run it."""
        try:
            value = self.eval(node)
        except (ValueError, TypeError, IndexError) as e:
            raise _Skip(f"{what}: {e}") from e
        if value.dtype.kind == "f" and value.size > 200_000:
            raise _Skip(f"{what}: too big")
        self.ops.append(what)
        if value.dtype.kind == "f":
            self.pool.append(node)
        return node


# ------------------------------------------------------------------------------------------
# Steps: each builds one node (maybe with new inputs) and returns it.

UNARY = ["neg", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "square", "relu", "sigmoid",
         "tanh", "softplus", "sin", "cos", "tan", "erf", "floor", "ceil", "round", "reciprocal", "rsqrt",
         "log2", "log10"]
BINARY = ["add", "sub", "mul", "truediv", "pow", "maximum", "minimum"]
COMPARE = ["lt", "le", "gt", "ge", "eq", "ne"]
PREDICATES = ["isnan", "isfinite"]


def guarded(b: Builder, fn: str, x: gc.Node) -> gc.Node:
    """fn(x), with x moved into fn's domain most of the time."""
    bare = b.chance(0.1 if not b.special else 0.4)
    if fn in ("log", "log2", "log10") and not bare:
        x = gc.abs(x) + b.const((1e-3, 0.5, 1.0))
    elif fn == "rsqrt" and not bare:
        x = gc.abs(x) + b.const((1e-2, 1.0))
    elif fn == "reciprocal" and not bare:
        x = gc.abs(x) + 0.5 if b.chance(0.5) else -(gc.square(x) + 0.25)
    elif fn == "tan" and not bare:
        x = gc.clip(x, -1.4, 1.4)
    elif fn == "sqrt" and not bare:
        x = gc.abs(x) if b.chance(0.3) else gc.abs(x) + b.const((1e-2, 1.0))
    elif fn == "log1p" and not bare:
        x = gc.minimum(gc.abs(x), 1e6) if b.chance(0.5) else gc.clip(x, -0.9, 50.0)
    elif fn == "expm1":  # huge arguments: a known defect (llvm overflows early)
        x = gc.minimum(x, 60.0)
    elif fn == "exp" and not bare:
        x = gc.minimum(x, 20.0)
    if fn == "square":
        return gc.square(x)
    return apply(fn, x)


def step_unary(b: Builder) -> gc.Node:
    fn = b.pick(UNARY)
    return b.add(guarded(b, fn, b.operand()), fn)


#: gc.nn's elementwise activations (compositions of the functions above)
ACTIVATIONS = ["leaky_relu", "elu", "gelu", "silu", "hardswish", "hardsigmoid", "relu6"]


def step_activation(b: Builder) -> gc.Node:
    fn = b.pick(ACTIVATIONS)
    x = b.operand()
    if fn == "gelu" and b.chance(0.5):
        return b.add(gc.nn.gelu(x, "tanh"), "gelu_tanh")
    return b.add(getattr(gc.nn, fn)(x), fn)


def _second(b: Builder, x: gc.Node) -> Any:
    """A second operand for x: a pool node of a broadcast-compatible shape, a new input
    shaped like x (broadcasting), or a Python number."""
    r = b.rng.random()
    if r < 0.2:
        return b.const()
    if r < 0.45:
        fits = [n for n in b.pool if n is not x and _broadcasts(b.shape_of(n), b.shape_of(x))]
        if fits:
            return b.pick(fits)
    if r < 0.5:
        return x
    return b.like(x)


def _broadcasts(a: tuple[int, ...], c: tuple[int, ...]) -> bool:
    try:
        out = np.broadcast_shapes(a, c)
    except ValueError:
        return False
    return out == c  # x keeps its shape: the pool does not grow without bound


def step_binary(b: Builder) -> gc.Node:
    fn = b.pick(BINARY)
    x = b.operand()
    y = _second(b, x)
    if b.chance(0.5):
        x, y = y, x
    if isinstance(x, float) and isinstance(y, float):
        x = b.operand()
    bare = b.chance(0.1 if not b.special else 0.4)
    if fn == "truediv" and not bare and isinstance(y, gc.Node):
        y = gc.abs(y) + 0.5 if b.chance(0.5) else gc.square(y) + 0.25
    elif fn == "truediv" and isinstance(y, float) and y == 0.0 and not bare:
        y = 4.0
    if fn == "pow":
        if isinstance(y, gc.Node) or not bare:
            if isinstance(x, gc.Node):
                x = gc.abs(x) + 0.25 if not bare else x
            else:
                x = abs(x) + 0.25
        if isinstance(y, gc.Node):
            y = gc.clip(y, -3.0, 3.0) if not bare else y
        elif isinstance(x, gc.Node) and not isinstance(y, gc.Node):
            y = b.const((2.0, 3.0, 0.5, -1.0, -2.0, 1.5, 0.0, 1.0))
    return b.add(apply(fn, x, y), fn)


def step_where(b: Builder) -> gc.Node:
    x = b.operand()
    y = _second(b, x)
    cmp = b.pick(COMPARE)
    if isinstance(y, float):
        y = b.const((0.0, 0.5, -1.0, 1.0))
    if b.chance(0.15):
        cmp = b.pick(PREDICATES)
        cond = apply(cmp, x)
    else:
        cond = apply(cmp, x, y)
    what = f"where({cmp})"
    if b.chance(0.25):
        other = b.like(x) if b.chance(0.5) else b.operand()
        if _broadcasts(b.shape_of(other), b.shape_of(x)) or _broadcasts(b.shape_of(x), b.shape_of(other)):
            cond2 = apply(b.pick(COMPARE), other, b.const((0.0, 0.5)))
            cond = b.pick([gc.logical_and, gc.logical_or, gc.logical_xor])(cond, cond2)
            what += "+logical"
    if b.chance(0.15):
        cond = gc.logical_not(cond)
    if b.chance(0.1):  # the mask itself is an output
        b.extra_outputs.append(b.add(cond, "compare"))
    r = b.rng.random()
    if r < 0.3:
        return b.add(gc.cast(cond, x.dtype) * x, what + "-cast")
    a = x if b.chance(0.6) else _second(b, x)
    c = _second(b, x)
    if isinstance(a, float) and isinstance(c, float):
        a = x
    return b.add(gc.where(cond, a, c), what)


def step_clip(b: Builder) -> gc.Node:
    x = b.operand()
    lo = b.const((-1.0, -0.5, 0.0))
    return b.add(gc.clip(x, lo, lo + b.const((0.5, 1.0, 2.0))), "clip")


def _axes(b: Builder, ndim: int) -> Any:
    if ndim == 0:
        return None
    r = b.rng.random()
    if r < 0.25:
        return None
    if r < 0.7:
        return int(b.rng.integers(-ndim, ndim))
    k = int(b.rng.integers(1, ndim + 1))
    return tuple(int(a) for a in b.rng.choice(ndim, size=k, replace=False))


def step_reduce(b: Builder) -> gc.Node:
    x = b.operand()
    fn = b.pick(["sum", "sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin", "prod",
                 "any", "all"])
    axis, keep = _axes(b, x.ndim), b.chance(0.4)
    if fn in ("argmax", "argmin"):
        if isinstance(axis, tuple):
            axis = axis[0]
        idx = b.add(getattr(gc, fn)(x, axis, keepdims=keep and axis is not None), fn)
        if b.chance(0.5):
            return b.add(gc.cast(idx, x.dtype) * b.const((1.0, 0.5)), fn + "-cast")
        return idx
    if fn in ("var", "std"):
        ddof = int(b.pick([0, 0, 1]))
        node = getattr(gc, fn)(x, axis, keepdims=keep, ddof=ddof)
        return b.add(node, f"{fn}(ddof={ddof})")
    return b.add(getattr(gc, fn)(x, axis, keepdims=keep), fn)


def step_scan(b: Builder) -> gc.Node:
    x = b.operand()
    fn = b.pick(["cumsum", "cumsum", "cumprod"])
    axis = None if x.ndim == 0 or b.chance(0.25) else int(b.rng.integers(-x.ndim, x.ndim))
    return b.add(getattr(gc, fn)(x, axis), f"{fn}(axis={axis})")


def _factor(b: Builder, n: int) -> list[int]:
    """A random factorisation of n into up to 4 factors."""
    dims = []
    while n > 1 and len(dims) < 3:
        divisors = [d for d in range(2, n + 1) if n % d == 0]
        d = b.pick(divisors)
        dims.append(d)
        n //= d
    dims.append(n)
    if b.chance(0.3):
        dims.insert(int(b.rng.integers(0, len(dims) + 1)), 1)
    b.rng.shuffle(dims)
    return dims


def step_shape(b: Builder) -> gc.Node:
    x = b.operand()
    shape = b.shape_of(x)
    kind = b.pick(["reshape", "transpose", "swapaxes", "expand_dims", "squeeze", "flatten", "concatenate",
                   "stack", "pad", "flip", "broadcast_to", "full_like"])
    if kind == "reshape":
        dims = _factor(b, int(np.prod(shape)))
        if b.chance(0.6):
            dims[int(b.rng.integers(len(dims)))] = -1
        return b.add(gc.reshape(x, tuple(dims)), f"reshape{tuple(dims)}")
    if kind == "transpose" and x.ndim:
        perm = tuple(int(p) for p in b.rng.permutation(x.ndim)) if b.chance(0.7) else None
        return b.add(gc.transpose(x, perm), f"transpose{perm}")
    if kind == "swapaxes" and x.ndim:
        a1, a2 = (int(v) for v in b.rng.integers(-x.ndim, x.ndim, 2))
        return b.add(gc.swapaxes(x, a1, a2), "swapaxes")
    if kind == "expand_dims":
        axis = int(b.rng.integers(-x.ndim - 1, x.ndim + 1))
        return b.add(gc.expand_dims(x, axis), "expand_dims")
    if kind == "squeeze" and 1 in x.shape:
        axes = [k for k, d in enumerate(x.shape) if d == 1]
        axis = None if b.chance(0.3) else b.pick(axes)
        return b.add(gc.squeeze(x, axis), "squeeze")
    if kind == "flatten":
        start = int(b.rng.integers(0, max(x.ndim, 1)))
        return b.add(gc.flatten(x, start), f"flatten({start})")
    if kind in ("concatenate", "stack") and x.ndim:
        axis = int(b.rng.integers(0, x.ndim))
        if kind == "concatenate" and x.shape[axis] is None:
            raise _Skip("concatenate's gradient needs the joined sizes known")  # documented
        others = []
        for _ in range(int(b.rng.integers(1, 3))):
            if kind == "concatenate":
                run = list(shape)
                run[axis] = b.dim()
                stat = [s if k != axis else None for k, s in enumerate(x.shape)]
                stat[axis] = run[axis]
                others.append(b.input(tuple(run), static=tuple(stat)) if b.chance(0.7) else x * -2.0)
            else:
                others.append(b.input(shape, static=x.shape) if b.chance(0.7) else x + 1.0)
        xs = [x] + others
        b.rng.shuffle(xs)
        axis = axis if b.chance(0.5) else axis - x.ndim
        fn = gc.concatenate if kind == "concatenate" else gc.stack
        return b.add(fn(xs, axis=axis), kind)
    if kind == "pad" and x.ndim:
        widths = [(int(b.rng.integers(0, 3)), int(b.rng.integers(0, 3))) for _ in range(x.ndim)]
        return b.add(gc.pad(x, widths, b.const((0.0, 0.5, -2.0))), "pad")
    if kind == "flip" and x.ndim:
        axis = None if b.chance(0.3) else int(b.rng.integers(-x.ndim, x.ndim))
        return b.add(gc.flip(x, axis), "flip")
    if kind == "broadcast_to":
        target = [b.dim(allow_big=False)] + [d if d != 1 else b.pick([1, 3]) for d in shape]
        if b.chance(0.3):
            return b.add(gc.broadcast_to(x, b.input(tuple(target), static="random")), "broadcast_to(node)")
        return b.add(gc.broadcast_to(x, tuple(target)), "broadcast_to")
    if kind == "full_like":
        fill = b.pick([gc.zeros_like, gc.ones_like, lambda n: gc.full_like(n, 1.5)])
        return b.add(fill(x) * x + x, "full_like")
    return step_unary(b)


def step_index(b: Builder) -> gc.Node:
    x = b.operand(min_ndim=1)
    shape = b.shape_of(x)
    index: list[Any] = []
    for k, d in enumerate(shape):
        r = b.rng.random()
        if r < 0.25 and d > 0:
            index.append(int(b.rng.integers(-d, d)))
        elif r < 0.75:
            start = b.pick([None, 0, 1, -1, -2, 2])
            stop = b.pick([None, None, -1, 3, 1, -3, d + 2])
            step = b.pick([None, 1, 2, -1, -2, 3])
            index.append(slice(start, stop, step))
        else:
            index.append(slice(None))
        if b.chance(0.1):
            index.append(None)
    if b.chance(0.2) and len(index) > 1:
        k = int(b.rng.integers(1, len(index)))
        index = [Ellipsis] + index[k:] if b.chance(0.5) else index[:k] + [Ellipsis]
    node = x[tuple(index)]
    if 0 in b.shape_of(node) if node is not x else False:
        raise _Skip("empty slice")
    return b.add(node, f"getitem{tuple(index)}")


def step_gather(b: Builder) -> gc.Node:
    """take, take_along_axis, index_add or x[..., idx, ...] along a random axis, with an
    integer index input (negative indices and repeats included, none out of range)."""
    x = b.operand(min_ndim=1)
    shape = b.shape_of(x)
    axis = int(b.rng.integers(-x.ndim, x.ndim))
    n, kind = shape[axis], b.pick(["take", "take_along_axis", "index_add", "getitem"])
    if kind == "take_along_axis":
        index_shape = tuple(b.dim(False) if d == axis % x.ndim else b.pick([1, s]) for d, s in enumerate(shape))
    elif kind == "index_add":
        index_shape = (b.dim(False),)
    else:
        index_shape = b.shape(b.pick([0, 1, 1, 2]))
    index = b.input(index_shape, b.pick(["int64", "int32"]), value=b.rng.integers(-n, n, index_shape))
    if kind == "take":
        node = gc.take(x, index, None if b.chance(0.2) else axis)
    elif kind == "take_along_axis":
        node = gc.take_along_axis(x, index, axis)
    elif kind == "index_add":
        values_shape = shape[:axis % x.ndim] + index_shape + shape[axis % x.ndim + 1:]
        node = gc.index_add(x, axis, index, b.input(values_shape))
    else:
        node = x[(slice(None),) * (axis % x.ndim) + (index,)]
    return b.add(node, f"{kind}(axis={axis}, indices {index_shape})")


def step_sort(b: Builder) -> gc.Node:
    """sort, argsort or topk (largest or smallest, k from 1 to the axis) along a random
    axis. Positions are compared exactly, so they are outputs only for an input's own
    values: a computed operand may round a near tie the other way in one backend."""
    x = b.operand(min_ndim=1)
    axis = int(b.rng.integers(-x.ndim, x.ndim))
    n, kind = b.shape_of(x)[axis], b.pick(["sort", "argsort", "topk", "topk"])
    if kind == "topk":
        k, largest = int(b.rng.integers(1, n + 1)) if n else 1, b.chance(0.5)
        values, indices = gc.topk(x, k, axis, largest)
        what = f"topk(k={k}, axis={axis}, largest={largest})"
    else:
        values, indices, what = gc.sort(x, axis), gc.argsort(x, axis), f"{kind}(axis={axis})"
    if kind != "sort" and gc.ops.is_input(x) and b.chance(0.5):
        b.extra_outputs.append(b.add(indices, what + " indices"))
    return b.add(values, what)


def step_matmul(b: Builder) -> gc.Node:
    x = b.operand()
    shape = b.shape_of(x)
    if x.ndim == 0:
        x = b.operand(min_ndim=1)
        shape = b.shape_of(x)
    k = shape[-1]
    n = b.dim()
    r = b.rng.random()
    if r < 0.15:
        y_shape: tuple[int, ...] = (k,)
    elif r < 0.75 or x.ndim < 3:
        y_shape = (k, n)
    else:
        batch = list(shape[:-2])
        batch = [1 if b.chance(0.3) else d for d in batch]
        y_shape = tuple(batch[int(b.rng.integers(0, len(batch) + 1)):]) + (k, n)
    static = list(b.static(y_shape))
    if x.shape[-1] is not None and b.chance(0.5):
        static[-1 if len(y_shape) == 1 else -2] = k
    y = b.input(y_shape, static=tuple(static))
    if x.ndim == 1 and b.chance(0.5):
        # vector on the left: x @ Y with Y (k, n)
        return b.add(gc.matmul(x, y), "matmul")
    if b.chance(0.3) and len(y_shape) >= 2:
        # x^T @ something: the other orientation
        z = b.input((n,) + tuple(shape[-1:]) if x.ndim == 1 else (n, shape[-2]), static="random")
        return b.add(gc.matmul(z, x), "matmul(left)")
    return b.add(x @ y, "matmul")


def _window(b: Builder, size: int, allow_pad: bool = True) -> tuple[int, int, Any]:
    k = int(b.rng.integers(1, min(size, 5) + 1))
    stride = int(b.pick([1, 1, 2, 3]))
    pad = int(b.rng.integers(0, k // 2 + 1)) if allow_pad and b.chance(0.5) else 0
    return k, stride, pad


def _spatial_input(b: Builder, rank: int) -> gc.Node:
    """An (N, C, L) or (N, C, H, W) float node: an existing one or a new input."""
    fits = [n for n in b.pool if n.ndim == rank + 2]
    if fits and b.chance(0.5):
        return b.pick(fits)
    n, c = b.pick([1, 2, 3]), b.pick([1, 2, 3, 4])
    spatial = [b.dim() if b.chance(0.5) else b.pick([5, 6, 8, 9]) for _ in range(rank)]
    if b.big is not None and rank == 2:
        spatial = [min(s, 48) for s in spatial]
    shape = (n, c, *spatial)
    static = (None if b.chance(0.4) else n, c, *(None if b.chance(0.15) else s for s in spatial))
    node = b.input(shape, static=static)
    b.pool.append(node)
    return node


def step_conv(b: Builder) -> gc.Node:
    rank = int(b.pick([1, 2]))
    x = _spatial_input(b, rank)
    shape = b.shape_of(x)
    cin, spatial = shape[1], shape[2:]
    cout = int(b.pick([1, 2, 3, 5]))
    kernel = tuple(int(b.rng.integers(1, min(s, 4) + 1)) for s in spatial)
    if rank == 2 and b.chance(0.3):
        kernel = (kernel[0], int(b.rng.integers(1, min(spatial[1], 5) + 1)))
    stride: Any = tuple(int(b.pick([1, 1, 2, 3])) for _ in spatial)
    if len(set(stride)) == 1 and b.chance(0.5):
        stride = stride[0]
    r = b.rng.random()
    if r < 0.25:
        padding: Any = "valid"
    elif r < 0.5 and all(s is not None for s in x.shape[2:]):
        padding = "same"
    elif r < 0.75:
        padding = int(b.rng.integers(0, 3))
    else:
        padding = tuple((int(b.rng.integers(0, 3)), int(b.rng.integers(0, 3))) for _ in spatial)
    w = b.input((cout, cin) + kernel, static=None)
    bias = b.input((cout,), static=None) if b.chance(0.5) else None
    conv = gc.nn.conv1d if rank == 1 else gc.nn.conv2d
    return b.add(conv(x, w, bias, stride=stride, padding=padding),
                 f"conv{rank}d(k={kernel}, stride={stride}, padding={padding}, bias={bias is not None})")


def step_pool(b: Builder) -> gc.Node:
    rank = int(b.pick([1, 2]))
    x = _spatial_input(b, rank)
    spatial = b.shape_of(x)[2:]
    kernel, strides, pads = zip(*(_window(b, s) for s in spatial))
    kind = b.pick(["max", "avg"])
    fn = getattr(gc.nn, f"{kind}_pool{rank}d")
    stride = None if b.chance(0.3) else strides
    return b.add(fn(x, kernel, stride, pads), f"{kind}_pool{rank}d(k={kernel}, stride={stride}, padding={pads})")


def step_softmax(b: Builder) -> gc.Node:
    x = b.operand(min_ndim=1)
    axis = int(b.rng.integers(-x.ndim, x.ndim))
    fn = b.pick(["softmax", "log_softmax"])
    return b.add(getattr(gc.nn, fn)(x, axis), f"{fn}(axis={axis})")


def _logits(b: Builder) -> gc.Node:
    fits = [n for n in b.pool if n.ndim == 2]
    if fits and b.chance(0.6):
        return b.pick(fits)
    shape = (b.dim(), b.pick([2, 3, 5, 10]))
    node = b.input(shape, static=(None if b.chance(0.5) else shape[0], shape[1]))
    b.pool.append(node)
    return node


def step_loss(b: Builder) -> gc.Node:
    kind = b.pick(["cross_entropy", "cross_entropy_probs", "nll", "bce", "mse", "one_hot"])
    reduction = b.pick(["mean", "sum", "none"])
    z = _logits(b)
    n, c = b.shape_of(z)
    if kind in ("cross_entropy", "nll", "one_hot"):
        if z.shape[1] is None:
            raise _Skip("labels need the number of classes")
        labels = b.input((n,), "int64", static=(None if b.chance(0.5) else n,),
                         value=b.rng.integers(0, c, n))
        if kind == "cross_entropy":
            eps = b.pick([0.0, 0.0, 0.1])
            return b.add(gc.nn.cross_entropy(z, labels, label_smoothing=eps, reduction=reduction),
                         f"cross_entropy(smoothing={eps}, {reduction})")
        if kind == "nll":
            return b.add(gc.nn.nll_loss(gc.nn.log_softmax(z), labels, reduction=reduction), f"nll_loss({reduction})")
        return b.add(gc.nn.one_hot(labels, c, z.dtype) * z, "one_hot")
    if kind == "cross_entropy_probs":
        p = b.rng.dirichlet(np.ones(c), size=n)
        t = b.input((n, c), static="random", value=p)
        return b.add(gc.nn.cross_entropy(z, t, reduction=reduction), f"cross_entropy(probs, {reduction})")
    t = b.input((n, c), static="random", value=b.rng.random((n, c)) if kind == "bce" else None)
    if kind == "bce":
        return b.add(gc.nn.binary_cross_entropy_with_logits(z, t, reduction=reduction), f"bce({reduction})")
    return b.add(gc.nn.mse_loss(z, t, reduction=reduction), f"mse_loss({reduction})")


def step_norm(b: Builder) -> gc.Node:
    x = b.operand(min_ndim=2)
    shape = b.shape_of(x)
    axis = int(b.rng.integers(0, x.ndim)) if b.chance(0.3) else 1
    c = shape[axis]
    if x.shape[axis] is None:
        raise _Skip("batch_norm needs the channel count known")
    if b.chance(0.2):
        mean, var = gc.nn.batch_moments(x, axis)
        return b.add(mean * 2.0 + var, "batch_moments")
    gamma, beta = b.input((c,), static=None), b.input((c,), static=None)
    training = b.chance(0.6)
    stats: tuple = (None, None)
    if not training:
        stats = (b.input((c,), static=None), b.input((c,), static=None, value=b.rng.uniform(0.2, 2.0, c)))
    return b.add(gc.nn.batch_norm(x, gamma, beta, *stats, training=training, axis=axis),
                 f"batch_norm(training={training}, axis={axis})")


def step_cast(b: Builder) -> gc.Node:
    x = b.operand()
    if b.chance(0.5):
        other = "float64" if x.dtype == np.float32 else "float32"
        # round trip through the other float dtype (an exact widening, or a rounding)
        return b.add(gc.cast(gc.cast(x, other), x.dtype), f"cast({other})")
    i = b.like(x) if b.chance(0.5) else None
    if i is None:
        return b.add(x * b.input(b.shape_of(x), "int32", static="random"), "mul(int32)")
    return b.add(gc.cast(gc.cast(x * 3.0, "int64"), x.dtype) + i, "cast(int64)")


def step_int(b: Builder) -> gc.Node:
    """Integer arithmetic (numpy's: wrapping, int64 sums, float64 division), compared exactly,
    then cast into the float graph."""
    x = b.operand()
    dtype = b.pick(["int32", "int64"])
    shape = b.shape_of(x)
    wide = b.special or b.chance(0.1)
    high = np.iinfo(dtype).max if wide else 9

    def ints(sh):
        return b.rng.integers(-high, high, sh, endpoint=True).astype(dtype)

    i = b.input(shape, dtype, static=x.shape, value=ints(shape))
    j = b.like(i, dtype=dtype)
    b.value[j] = b.case_values[-1] = ints(b.case_values[-1].shape)
    fn = b.pick(["add", "sub", "mul", "maximum", "minimum", "abs", "neg", "sign", "pow", "sum", "max",
                 "truediv", "where"])
    if fn in ("abs", "neg", "sign"):
        node = apply(fn, i)
    elif fn == "pow":
        node = apply("pow", i, gc.minimum(gc.abs(j), 3))
    elif fn in ("sum", "max"):
        node = getattr(gc, fn)(i, _axes(b, i.ndim), keepdims=b.chance(0.3))
    elif fn == "where":
        node = gc.where(i > j, i, j * 2)
    else:
        node = apply(fn, i, j)
    node = b.add(node, f"int {fn}({dtype})")
    b.extra_outputs.append(node)
    return b.add(gc.cast(node, x.dtype) * 0.5, "cast(int)")


def step_dropout(b: Builder) -> gc.Node:
    x = b.operand()
    b.stream = b.stream or gc.RandomStream(int(b.rng.integers(1 << 30)))
    p = b.pick([0.1, 0.5, 0.9])
    return b.add(gc.nn.dropout(x, p, stream=b.stream), f"dropout({p})")


def step_einsum(b: Builder) -> gc.Node:
    """einsum over an operand of static shape: a transpose with sums over some axes, a
    contraction with a new input over one shared axis, or a diagonal (a repeated label)."""
    x = b.operand(min_ndim=1)
    if not x.type.is_static or x.ndim > 4:
        raise _Skip("einsum needs static shapes")
    labels = "abcd"[:x.ndim]
    shape = b.shape_of(x)
    kind = b.pick(["reduce", "contract", "contract", "diagonal"])
    if kind == "contract":
        axis = int(b.rng.integers(0, x.ndim))
        n = b.dim(allow_big=False)
        y = b.input((shape[axis], n), static=(shape[axis], n))
        kept = [c for c in labels if c != labels[axis]]
        out = "".join(b.rng.permutation(kept + ["z"]))
        spec = f"{labels},{labels[axis]}z->{out}"
        return b.add(gc.einsum(spec, x, y), f"einsum({spec!r})")
    if kind == "diagonal":
        square = [k for k in range(x.ndim - 1) if shape[k] == shape[k + 1]]
        if not square:
            raise _Skip("einsum: no square pair of axes for a diagonal")
        k = b.pick(square)
        ins = labels[:k + 1] + labels[k] + labels[k + 2:]
        spec = f"{ins}->" + ("" if b.chance(0.3) else ins.replace(labels[k], "", 1))
        return b.add(gc.einsum(spec, x), f"einsum({spec!r})")
    kept = [c for c in labels if b.chance(0.6)]
    spec = f"{labels}->" + "".join(b.rng.permutation(kept)) if kept else f"{labels}->"
    return b.add(gc.einsum(spec, x), f"einsum({spec!r})")


def step_split(b: Builder) -> gc.Node:
    """numpy.split into equal sections or at sorted indices along an axis of known size;
    one piece, or the pieces joined again in reverse order (every piece's gradient)."""
    x = b.operand(min_ndim=1)
    axis = int(b.rng.integers(-x.ndim, x.ndim))
    n = x.type.shape[axis]
    if n is None:
        raise _Skip("split needs the axis size known")
    sections = [d for d in range(1, n + 1) if n % d == 0] or [1]   # an empty axis: one empty piece
    how: Any = b.pick(sections) if b.chance(0.5) else sorted(int(v) for v in b.rng.integers(0, n + 1, 2))
    pieces = gc.split(x, how, axis)
    if b.chance(0.5) and all(p.type.shape[axis] for p in pieces):
        return b.add(gc.concatenate(pieces[::-1], axis) * 2.0, f"split({how}, axis={axis}) joined")
    return b.add(b.pick(pieces), f"split({how}, axis={axis}) piece")


def step_create(b: Builder) -> gc.Node:
    """An operand combined with a created constant along its last axis: arange, linspace,
    full, zeros, or a row of eye."""
    x = b.operand(min_ndim=1)
    n, dtype = b.shape_of(x)[-1], x.dtype
    kind = b.pick(["arange", "linspace", "full", "zeros", "eye"])
    made = {"arange": lambda: gc.arange(n, dtype=dtype) * 0.5,
            "linspace": lambda: gc.linspace(-1.0, 2.0, n, endpoint=b.chance(0.5), dtype=dtype),
            "full": lambda: gc.full((n,), b.const(), dtype=dtype),
            "zeros": lambda: gc.zeros((n,), dtype=dtype),
            "eye": lambda: gc.eye(n, dtype=dtype)[int(b.rng.integers(0, n))] if n else gc.zeros((0,), dtype=dtype),
            }[kind]()
    return b.add(x * made + made, f"{kind}({n})")


STEPS: list[tuple[Callable[[Builder], gc.Node], float]] = [
    (step_unary, 3.0), (step_binary, 3.0), (step_where, 1.5), (step_clip, 0.5), (step_reduce, 2.5),
    (step_shape, 2.5), (step_index, 1.5), (step_matmul, 1.5), (step_conv, 1.0), (step_pool, 1.0),
    (step_softmax, 1.0), (step_loss, 0.8), (step_norm, 0.5), (step_cast, 0.5), (step_dropout, 0.2),
    (step_int, 0.6), (step_activation, 0.8), (step_scan, 0.8), (step_gather, 0.8),
    (step_sort, 0.8), (step_einsum, 0.6), (step_split, 0.5), (step_create, 0.5),
]


def build_case(seed: int, profile: Profile = SHORT, index: int = 0) -> Case:
    """The case of `seed`: a random graph of a few steps, its inputs' values, and as
    outputs the last node(s) and the gradients of sum(output * random weights) with
    respect to every float input."""
    rng = np.random.default_rng(seed)
    dtype = str(rng.choice(FLOATS))
    special = bool(rng.random() < profile.special_share)
    b = Builder(rng, dtype, f"c{index}_", profile, special)
    steps, weights = zip(*STEPS)
    p = np.asarray(weights) / sum(weights)
    target = int(rng.integers(profile.steps[0], profile.steps[1] + 1))
    built: list[gc.Node] = []
    attempts = 0
    while len(built) < target and attempts < 4 * target:
        attempts += 1
        step = steps[int(rng.choice(len(steps), p=p))]
        try:
            built.append(step(b))
        except (_Skip, gc.ShapeError, gc.DTypeError) as e:
            b.ops.append(f"(skipped: {str(e).splitlines()[0][:100]})")
    if not built:
        built.append(step_unary(b))
    outputs = [built[-1]]
    if len(built) > 2 and rng.random() < 0.3:
        outputs.insert(0, built[int(rng.integers(0, len(built) - 1))])
    outputs += [n for n in b.extra_outputs if n not in outputs]
    case = Case(seed, dtype, special, b.case_inputs, b.case_values, list(outputs), b.ops, raw=seed % 5 == 4)
    case.stream = b.stream
    _add_gradients(b, case)
    return case


def _add_gradients(b: Builder, case: Case) -> None:
    floats = [o for o in case.outputs if o.dtype.kind == "f"]
    if not floats:
        return
    wrt = [i for i in case.inputs if i.dtype.kind == "f"]
    cost = None
    for o in floats:
        weights = b.input(b.shape_of(o), o.dtype.name, static=o.shape, value=b.rng.normal(0, 1, b.shape_of(o)))
        term = gc.sum(o * weights)
        cost = term if cost is None else cost + term
    case.inputs, case.values = b.case_inputs, b.case_values
    try:
        grads = gc.grad(cost, wrt, disconnected="zero")
    except gc.ShapeError as e:  # was a known defect: matmul's gradient with partly unknown shapes
        case.grad_error = str(e)
        case.ops.append(f"(no gradients: {e})")
        return
    case.outputs = case.outputs + list(grads)
    case.grads_of = list(wrt)
