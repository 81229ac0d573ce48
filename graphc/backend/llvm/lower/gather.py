"""Gather and scatter-add through index arrays (take, take_along_axis, x[idx], index_add).

Both read each index once per element, wrap a negative one and check it against its axis
through the status word; an index out of range is replaced by 0 before it addresses x, so
no access leaves the buffer. A gather is a loop over its output (parallel and vectorised
like any store). A scatter-add accumulates serially over the values, which keeps repeated
indices race-free and the sums in a fixed order; only loops over axes that pass straight
through to distinct places of the result are vectorised or split over threads.
"""
from __future__ import annotations

from ....ir import Node
from ....ops.gather import IndexMap
from .. import schedule as S
from ..kernels.fused import PARALLEL_MIN_ELEMENTS
from ..kernels.loops import vector_width
from ..loopir import (Accumulate, Buffer, Cast, Expr, Kernel, Let, Select, Stmt, Store, Var, binop, block, check,
                      const, loop)
from ..nest import loop_nest
from .common import size, store_result
from .registry import LowerContext


def _shape(node: Node) -> tuple[int, ...]:
    return tuple(node.type.shape)


def _position(ctx: LowerContext, where: IndexMap, raw: Expr, axis: int, n: int) -> Expr:
    """The wrapped index `raw` into an axis of size n, checked: 0 when out of range."""
    v = Var(ctx.name("index"))
    raw = raw if raw.type.dtype == "int64" else Cast(raw, "int64")
    outside = binop("or", v.lt(-n), v.ge(n))
    wrapped = Select(outside, const(0), v + Select(v.lt(0), const(n), const(0)))
    return Let(v, raw, check(outside, where.out_of_range("{}", axis, n), wrapped, v))


def _x_index(ctx: LowerContext, node: Node, o: tuple[Expr, ...], x_shape: tuple[int, ...],
             first_index: int) -> tuple[Expr, ...] | Expr:
    """The index into x of output (or values) element `o`, its indices checked; when an
    indexed axis is empty, instead the check that fails (an int64 0), so x is never touched."""
    where: IndexMap = node.op.where
    indices = node.inputs[first_index:]
    at_x, at_idx = where.sources(o, x_shape, [_shape(i) for i in indices], const(0))
    for j, (axis, pos) in enumerate(zip(where.axes, at_idx)):
        raw, n = ctx.load(first_index + j, pos), x_shape[axis]
        if n == 0:
            return check(const(True, "bool"), where.out_of_range("{}", axis, 0), const(0), raw)
        at_x[axis] = _position(ctx, where, raw, axis, n)
    return tuple(at_x)


def lower_gather(node: Node, ctx: LowerContext) -> list[Kernel]:
    x_shape, dtype = _shape(node.inputs[0]), node.dtype.name
    if size(_shape(node)) == 0:
        return []

    def value(o: tuple[Expr, ...]) -> Expr:
        at = _x_index(ctx, node, o, x_shape, 1)
        return ctx.load(0, at) if isinstance(at, tuple) else Cast(at, dtype)

    stmt, _ = store_result(ctx, value, "g")
    return [Kernel(ctx.name(node.op.name), stmt, flops=size(_shape(node)))]


def _passes_through(node: Node, x_shape: tuple[int, ...], k: int) -> bool:
    """Whether the values' axis k addresses the result only as one of x's own axes (so
    iterations of a loop over it add into different places)."""
    values_shape, marker = _shape(node.inputs[0]), object()
    o = [const(0)] * len(values_shape)
    o[k] = marker  # type: ignore[call-overload]
    at_x, _ = node.op.where.sources(o, x_shape, [_shape(i) for i in node.inputs[2:]], const(0))
    return values_shape[k] > 1 and any(p is marker for p in at_x)


def lower_gather_add(node: Node, ctx: LowerContext) -> list[Kernel]:
    out_shape, v_shape, dtype = _shape(node), _shape(node.inputs[0]), node.dtype.name
    in_place = ctx.epilogue is None and ctx.out.dtype == dtype
    acc = ctx.out if in_place else ctx.workspace("scatter", dtype, out_shape)
    zeros, _ = loop_nest(out_shape, lambda idx: Store(acc, acc.index(*idx), const(0, dtype)), "z", dtype, ctx.threads)
    stmt = block(zeros, _scatter(node, ctx, acc) if size(v_shape) else None)
    if not in_place:
        stmt = block(stmt, store_result(ctx, lambda idx: acc[idx], "o")[0])
    return [Kernel(ctx.name(node.op.name), stmt, flops=size(v_shape))]


def _scatter(node: Node, ctx: LowerContext, acc: Buffer) -> Stmt:
    """acc[x index of o] += values[o] for every o, serially except over pass-through axes."""
    out_shape, v_shape, dtype = _shape(node), _shape(node.inputs[0]), acc.dtype
    vars_ = [Var(f"sa{k}") for k in range(len(v_shape))]
    at = _x_index(ctx, node, tuple(vars_), out_shape, 2)
    if isinstance(at, tuple):
        v = ctx.load(0, vars_)
        stmt: Stmt = Accumulate(acc, acc.index(*at), "add", v if v.type.dtype == dtype else Cast(v, dtype))
    else:  # an empty axis: every index fails and nothing is added
        stmt = Store(ctx.workspace("failed", "int64", (1,)), const(0), at)
    for var, n in reversed(list(zip(vars_, v_shape))):
        stmt = loop(var, n, stmt)
    last = len(v_shape) - 1
    if last >= 0 and _passes_through(node, out_shape, last):
        stmt = S.vectorize(stmt, vars_[last].name, vector_width(dtype))
    if (last > 0 and ctx.threads > 1 and size(v_shape) >= PARALLEL_MIN_ELEMENTS
            and _passes_through(node, out_shape, 0)):
        stmt = S.parallel(stmt, vars_[0].name)
    return stmt
