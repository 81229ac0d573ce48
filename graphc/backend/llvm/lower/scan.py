"""Scans (cumsum, cumprod, forward or reverse) along one axis.

The scanned axis is the outer, serial loop; each step combines one slice of the input
with the previous slice of the result in a nest over the other axes, which are
independent and vectorised. The input is read through `ctx.load` (producers fused);
consumers run in a final pass through `ctx.finish`, or in the step itself when the result
is stored in its own dtype.
"""
from __future__ import annotations

from ....ir import Node
from ..loopir import Cast, Expr, Kernel, Store, Var, binop, block, const, loop
from ..nest import loop_nest
from .common import size, store_result
from .registry import LowerContext

COMBINE = {"sum": "add", "prod": "mul"}


def lower_scan(node: Node, ctx: LowerContext) -> list[Kernel]:
    shape, axis, dtype = tuple(node.type.shape), node.op.axis, node.dtype.name
    n = shape[axis]
    if size(shape) == 0:
        return []
    in_place = ctx.epilogue is None and ctx.out.dtype == dtype
    acc = ctx.out if in_place else ctx.workspace("scan", dtype, shape)
    rest = shape[:axis] + (1,) + shape[axis + 1:]   # the nest over one slice; the axis is fixed

    def at(idx: tuple[Expr, ...], position: Expr) -> tuple[Expr, ...]:
        return idx[:axis] + (position,) + idx[axis + 1:]

    def value(idx: tuple[Expr, ...]) -> Expr:
        v = ctx.load(0, idx)
        return v if v.type.dtype == dtype else Cast(v, dtype)

    start, step = (n - 1, -1) if node.op.reverse else (0, 1)
    first, _ = loop_nest(rest, lambda idx: Store(acc, acc.index(*at(idx, const(start))), value(at(idx, const(start)))),
                         "s0_", dtype)
    k = Var("sk")
    here = const(start) + k * step
    combine = lambda idx: Store(acc, acc.index(*at(idx, here)), binop(  # noqa: E731
        COMBINE[node.op.kind], acc[at(idx, here - step)], value(at(idx, here))))
    body, _ = loop_nest(rest, combine, "s_", dtype)
    stmt = block(first, loop(k, n - 1, body, start=1) if n > 1 else None)
    if not in_place:
        stmt = block(stmt, store_result(ctx, lambda idx: acc[idx], "o")[0])
    return [Kernel(ctx.name(node.op.name), stmt, flops=size(shape))]
