"""Ops that place values into regions of their output: concatenate, pad, scatter_into.

Each fills its output region by region with loops vectorised along the last
axis; inputs may be computed inline (ctx.load) and consumers fused (ctx.finish).
"""
from __future__ import annotations

from typing import Callable, Sequence

from ....ir import Node
from ..loopir import Cast, Expr, Kernel, Stmt, Store, block, const
from ..nest import loop_nest
from .common import size, store_result
from .registry import LowerContext


def _as(value: Expr, dtype: str) -> Expr:
    return value if value.type.dtype == dtype else Cast(value, dtype)


def _region(ctx: LowerContext, shape: Sequence[int], place: Callable[[tuple[Expr, ...]], tuple[Expr, ...]],
            value: Callable[[tuple[Expr, ...]], Expr], prefix: str) -> Stmt:
    """ctx.out[place(idx)] = finish(value(idx)) for idx over `shape`."""
    out = ctx.out

    def body(idx):
        at = place(idx)
        return Store(out, out.index(*at), ctx.finish(value(idx), at))

    return loop_nest(tuple(shape), body, prefix, out.dtype, ctx.threads)[0]


def lower_concatenate(node: Node, ctx: LowerContext) -> list[Kernel]:
    axis, dtype, parts, start = node.op.axis, node.dtype.name, [], 0
    for k, x in enumerate(node.inputs):
        shift = start
        place = lambda idx, s=shift: tuple(i + s if d == axis else i for d, i in enumerate(idx))  # noqa: E731
        parts.append(_region(ctx, x.type.shape, place, lambda idx, k=k: _as(ctx.load(k, idx), dtype), f"c{k}_"))
        start += x.type.shape[axis]
    return [Kernel(ctx.name("concatenate"), block(*parts), flops=size(node.type.shape))]


def lower_pad(node: Node, ctx: LowerContext) -> list[Kernel]:
    dtype = node.dtype.name
    fill, _ = store_result(ctx, lambda idx: const(node.op.value, dtype), "f")
    place = lambda idx: tuple(i + lo for i, (lo, _) in zip(idx, node.op.widths))  # noqa: E731
    inner = _region(ctx, node.inputs[0].type.shape, place, lambda idx: ctx.load(0, idx), "p")
    return [Kernel(ctx.name("pad"), block(fill, inner), flops=size(node.type.shape))]


def lower_scatter_into(node: Node, ctx: LowerContext) -> list[Kernel]:
    g, template = node.inputs
    dtype = node.dtype.name
    zeros, _ = store_result(ctx, lambda idx: const(0, dtype), "z")

    def place(idx):
        at, it, axis = [], iter(idx), 0
        for item in node.op.items:
            if item[0] == "new":
                next(it)
                continue
            n = template.type.shape[axis]
            if item[0] == "int":
                at.append(const(item[1] % n))
            else:
                first, _, step = slice(*item[1:]).indices(n)
                at.append(next(it) * step + first)
            axis += 1
        return tuple(at)

    inner = _region(ctx, g.type.shape, place, lambda idx: ctx.load(0, idx), "s")
    return [Kernel(ctx.name("scatter_into"), block(zeros, inner), flops=size(g.type.shape))]
