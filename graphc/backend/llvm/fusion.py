"""Elementwise fusion: the value of a graph node at an index, as one loop-IR expression.

Within a kernel, nodes that are not materialised are computed inline: the
value of a node at `idx` is built from its inputs' values at the indices the
op maps `idx` to (the same index for elementwise ops, a permuted or shifted
one for views). Materialised nodes are loads through their layouts. A node
used more than once at the same index is bound once with `Let`.

INLINE maps each op class that can be computed this way to its expression
builder `(node, reader, idx) -> Expr`.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import numpy as np

from ...ir import Node
from ...ops.elementwise import Cast as CastOp, Elemwise
from ...ops.indexing import GetItem
from ...ops.nn.encoding import OneHot
from ...ops.random import SECOND_SALT, RandomDraw, RandomUniform
from ...ops.reduce import CountOf
from ...ops.shape import BroadcastTo, ExpandDims, Flip, MatchShape, Reshape, Squeeze, Transpose
from .kernels import scalar_fns
from .kernels.random_draw import draw_expr
from .layout import VIEW_OPS
from .loopir import Bin, Cast, Const, Expr, Let, Load, Var, binop, check, const, contiguous_strides

Index = tuple[Expr, ...]
Source = Callable[[Node, Index], Optional[Expr]]
INLINE: dict[type, Callable[[Node, "Reader", Index], Expr]] = {}


def inline(*op_classes: type):
    def deco(fn):
        for cls in op_classes:
            INLINE[cls] = fn
        return fn
    return deco


def is_inline(node: Node) -> bool:
    return type(node.op) in INLINE


class Reader:
    """Builds the value of nodes at indices for one expression.

    `computed` are the nodes evaluated inline; any other node is read by
    `load(node, idx)` (a load through its layout). `given` fixes the value of
    one node at one index (a fused epilogue's input). `uses` counts each
    node's uses, to bind shared subexpressions once.
    """

    def __init__(self, computed: set[Node], load: Source, uses: dict[Node, int],
                 given: Optional[tuple[Node, Index, Expr]] = None, prefix: str = "_f"):
        self.computed, self._load, self.uses, self.given = computed, load, uses, given
        self.prefix = prefix
        self.bindings: list[tuple[Var, Expr]] = []
        self._memo: dict[tuple[Node, Index], Expr] = {}

    def value(self, node: Node, idx: Index) -> Expr:
        key = (node, idx)
        if key in self._memo:
            return self._memo[key]
        if self.given is not None and node is self.given[0]:
            if idx != self.given[1]:
                raise ValueError(f"fused epilogue reads {node.op.name} at another index")
            expr = self.given[2]
        elif node in self.computed and type(node.op) in INLINE:
            expr = None
            if isinstance(node.op, VIEW_OPS):
                expr = self._load(node, idx)   # a view of a materialised value: one load
            if expr is None:
                expr = INLINE[type(node.op)](node, self, idx)
        else:
            expr = self._load(node, idx)
            if expr is None:
                raise ValueError(f"{node.op.name} is neither materialised nor computed inline")
        if self.uses.get(node, 0) > 1 and not _trivial(expr):
            var = Var(f"{self.prefix}{len(self.bindings)}", expr.type.dtype)
            self.bindings.append((var, expr))
            expr = var
        self._memo[key] = expr
        return expr

    def wrap(self, body: Expr) -> Expr:
        """`body` inside the Let bindings made so far."""
        for var, value in reversed(self.bindings):
            body = Let(var, value, body)
        return body


def _trivial(e: Expr) -> bool:
    return isinstance(e, (Const, Var)) or (isinstance(e, Load) and not isinstance(e.index, Bin))


def broadcast_index(in_shape: tuple[int, ...], out_shape: tuple[int, ...], idx: Index) -> Index:
    """The index into an operand of `in_shape` broadcast to `out_shape` (numpy rules)."""
    lead = len(out_shape) - len(in_shape)
    return tuple(const(0) if n == 1 else i for n, i in zip(in_shape, idx[lead:]))


def flat_index(shape: tuple[int, ...], idx: Index) -> Expr:
    """The row-major position of `idx` in `shape`."""
    total: Expr = const(0)
    for i, s, n in zip(idx, contiguous_strides(shape), shape):
        if n != 1:
            total = total + i * s
    return total


def unravel(flat: Expr, shape: tuple[int, ...]) -> Index:
    """The index of row-major position `flat` in `shape`."""
    out = []
    for s, n in zip(contiguous_strides(shape), shape):
        out.append(const(0) if n == 1 else (flat // s) % n if s * n != _size(shape) else flat // s)
    return tuple(out)


def _size(shape: Iterable[int]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def _shape(node: Node) -> tuple[int, ...]:
    return tuple(node.type.shape)


# ------------------------------------------------------------------ elementwise

@inline(Elemwise)
def _elemwise(node: Node, r: Reader, idx: Index) -> Expr:
    shape = _shape(node)
    args = [r.value(x, broadcast_index(_shape(x), shape, idx)) for x in node.inputs]
    return scalar_fns.lower(node.op.fn, args, node.dtype.name)


@inline(CastOp)
def _cast(node: Node, r: Reader, idx: Index) -> Expr:
    return scalar_fns.astype(r.value(node.inputs[0], idx), node.dtype.name)


@inline(CountOf)
def _count(node: Node, r: Reader, idx: Index) -> Expr:
    shape = node.inputs[0].type.shape
    return const(int(np.prod([shape[a] for a in node.op.axes])), node.dtype.name)


# ------------------------------------------------------------------ views

@inline(BroadcastTo)
def _broadcast(node: Node, r: Reader, idx: Index) -> Expr:
    x = node.inputs[0]
    return r.value(x, broadcast_index(_shape(x), _shape(node), idx))


@inline(MatchShape)
def _match_shape(node: Node, r: Reader, idx: Index) -> Expr:
    return r.value(node.inputs[0], idx)


@inline(Transpose)
def _transpose(node: Node, r: Reader, idx: Index) -> Expr:
    src = [None] * len(idx)
    for out_axis, in_axis in enumerate(node.op.perm):
        src[in_axis] = idx[out_axis]
    return r.value(node.inputs[0], tuple(src))


@inline(ExpandDims)
def _expand_dims(node: Node, r: Reader, idx: Index) -> Expr:
    return r.value(node.inputs[0], tuple(i for a, i in enumerate(idx) if a not in node.op.axes))


@inline(Squeeze)
def _squeeze(node: Node, r: Reader, idx: Index) -> Expr:
    it = iter(idx)
    x = node.inputs[0]
    return r.value(x, tuple(const(0) if a in node.op.axes else next(it) for a in range(x.ndim)))


@inline(Flip)
def _flip(node: Node, r: Reader, idx: Index) -> Expr:
    shape = _shape(node)
    return r.value(node.inputs[0], tuple((shape[a] - 1) - i if a in node.op.axes else i for a, i in enumerate(idx)))


@inline(GetItem)
def _getitem(node: Node, r: Reader, idx: Index) -> Expr:
    x = node.inputs[0]
    src, it, axis = [], iter(idx), 0
    for item in node.op.items:
        if item[0] == "new":
            next(it)
            continue
        n = x.type.shape[axis]
        if item[0] == "int":
            src.append(const(item[1] % n))
        else:
            start, _, step = slice(*item[1:]).indices(n)
            src.append(next(it) * step + start)
        axis += 1
    return r.value(x, tuple(src))


@inline(Reshape)
def _reshape(node: Node, r: Reader, idx: Index) -> Expr:
    x = node.inputs[0]
    return r.value(x, unravel(flat_index(_shape(node), idx), _shape(x)))


# ------------------------------------------------------------------ generators

def _i32(v: int) -> Expr:
    """A uint32 bit pattern as an int32 constant."""
    v &= 0xFFFFFFFF
    return const(v - (1 << 32) if v >= 1 << 31 else v, "int32")


def _shr(x: Expr, bits: int) -> Expr:
    """Logical shift right of a uint32 held in int32 (the emitter's shift is arithmetic)."""
    return binop("and", Bin("shr", x, const(bits, "int32")), _i32((1 << (32 - bits)) - 1))


def mix32(x: Expr) -> Expr:
    """graphc.ops.random.mix32 on int32 bit patterns (int32 multiplication wraps mod 2**32).

    Each step reads its operand twice, so each is bound with Let (fixed names:
    nested mixes shadow one another, which keeps kernels' text deterministic).
    """
    a, b, c = (Var(f"_mix{k}", "int32") for k in range(3))
    step = lambda v, k: binop("xor", v, _shr(v, k))  # noqa: E731
    return Let(a, x, Let(b, step(a, 16) * _i32(0x7FEB352D), Let(c, step(b, 15) * _i32(0x846CA68B), step(c, 16))))


def random_bits(key: Expr, salt: int, position: Expr) -> Expr:
    """graphc.ops.random.uniform_bits at `position` (int32): 24 random bits."""
    key_lo = Cast(key, "int32")
    key_hi = Cast(Bin("shr", key, const(32)), "int32")
    seed = mix32(binop("xor", key_lo, mix32(key_hi + _i32(salt))))
    return _shr(mix32(binop("xor", position, seed)), 8)


@inline(RandomUniform)
def _random_uniform(node: Node, r: Reader, idx: Index) -> Expr:
    position = Cast(flat_index(_shape(node), idx), "int32")
    bits = random_bits(r.value(node.inputs[0], ()), node.op.salt, position)
    dtype = node.dtype.name
    return Cast(bits, dtype) * const(2.0 ** -24, dtype)


@inline(RandomDraw)
def _random_draw(node: Node, r: Reader, idx: Index) -> Expr:
    key, shape, salt = r.value(node.inputs[0], ()), _shape(node), node.op.salt
    position = Cast(flat_index(shape, idx), "int32")
    loc, scale = (r.value(p, broadcast_index(_shape(p), shape, idx)) for p in node.inputs[2:])
    return draw_expr(node.op.kind, random_bits(key, salt, position), random_bits(key, salt + SECOND_SALT, position),
                     loc, scale, node.dtype.name, salt)


@inline(OneHot)
def _one_hot(node: Node, r: Reader, idx: Index) -> Expr:
    """1 where the label is the class; a label outside [0, num_classes) fails the call (as numpy's)."""
    value = r.value(node.inputs[0], idx[:-1])
    label, n = Var("_one_hot_label"), node.op.num_classes
    outside = binop("or", label.lt(0), label.ge(n))
    hit = check(outside, f"one_hot: label {{}} is outside [0, {n})", Cast(label.eq(idx[-1]), node.dtype.name), label)
    return Let(label, value if value.type.dtype == "int64" else Cast(value, "int64"), hit)
