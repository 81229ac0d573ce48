"""Reductions: sum/prod/max/min over any axes, argmax and logsumexp.

Each reads its input through `ctx.load`, so elementwise producers are computed
inside the reduction loop, and stores through `ctx.finish`, so elementwise
consumers of the result (a mean's division, a cast) run in its final pass.
"""
from __future__ import annotations

import math

from ....ir import Node
from ..loopir import Expr, Kernel, Select, Un, binop, block, const, is_float
from ..fusion import flat_index
from .common import kept_index, reduce_into, require_elements, size, store_result
from .registry import LowerContext

REDUCE_OPS = {"sum": "add", "prod": "mul", "max": "max", "min": "min"}


def _shape(node: Node) -> tuple[int, ...]:
    return tuple(node.type.shape)


def lower_reduce(node: Node, ctx: LowerContext) -> list[Kernel]:
    op, dtype = REDUCE_OPS[node.op.kind], node.dtype.name
    axes, keepdims = node.op.axes, node.op.keepdims
    in_place = ctx.out.dtype == dtype       # accumulate in the output, then finish each element in place
    acc = ctx.out if in_place else ctx.workspace("acc", dtype, _shape(node))
    body = reduce_into(acc, _shape(node.inputs[0]), axes, keepdims, op, lambda idx: ctx.load(0, idx),
                       ctx.threads, "r")
    if ctx.epilogue is not None or not in_place:
        body = block(body, store_result(ctx, lambda i: acc[i], "o")[0])
    return [Kernel(ctx.name(node.op.kind), body, flops=size(_shape(node.inputs[0])))]


def is_finite(x: Expr) -> Expr:
    return Un("abs", x).lt(const(math.inf, x.type.dtype))


def finite_or_zero(m: Expr) -> Expr:
    """numpy's where(isfinite(m), m, 0): the shift that keeps exp from overflowing."""
    return Select(is_finite(m), m, const(0.0, m.type.dtype))


def max_and_sum_exp(ctx: LowerContext, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool,
                    acc_shape: tuple[int, ...], dtype: str):
    """Statements computing m = max(x) and s = sum(exp(x - m')) over `axes` into
    workspaces shaped `acc_shape`; returns (stmt, m, s)."""
    m = ctx.workspace("max", dtype, acc_shape)
    s = ctx.workspace("sum", dtype, acc_shape)
    load = lambda idx: ctx.load(0, idx)  # noqa: E731
    shifted = lambda idx: load(idx) - finite_or_zero(m[kept_index(idx, axes, keepdims)])  # noqa: E731
    stmt = block(reduce_into(m, shape, axes, keepdims, "max", load, ctx.threads, "m"),
                 reduce_into(s, shape, axes, keepdims, "add", lambda idx: Un("exp", shifted(idx)), ctx.threads, "s"))
    return stmt, m, s


def lower_logsumexp(node: Node, ctx: LowerContext) -> list[Kernel]:
    shape, dtype = _shape(node.inputs[0]), node.dtype.name
    require_elements(node, node.op.axes)
    stmt, m, s = max_and_sum_exp(ctx, shape, node.op.axes, node.op.keepdims, _shape(node), dtype)
    result, _ = store_result(ctx, lambda i: Un("log", s[i]) + finite_or_zero(m[i]), "o")
    return [Kernel(ctx.name("logsumexp"), block(stmt, result), flops=3 * size(shape))]


def lower_argmax(node: Node, ctx: LowerContext) -> list[Kernel]:
    """First index of the maximum (a NaN counts as the maximum, as in numpy), in two
    vectorised passes: the maximum m, then the smallest position holding m."""
    x = node.inputs[0]
    shape, dtype = _shape(x), x.dtype.name
    axes = tuple(range(len(shape))) if node.op.axis is None else (node.op.axis,)
    require_elements(node, axes)
    keep_shape = tuple(1 if d in axes else n for d, n in enumerate(shape))
    m = ctx.workspace("max", dtype, keep_shape)
    first = ctx.workspace("first", "int64", keep_shape)
    load = lambda idx: ctx.load(0, idx)  # noqa: E731
    reduced = tuple(shape[d] for d in axes)

    def position(idx):
        best = m[kept_index(idx, axes, True)]
        hit = load(idx).eq(best)
        if is_float(dtype):
            hit = binop("or", hit, binop("and", best.ne(best), load(idx).ne(load(idx))))
        return Select(hit, flat_index(reduced, tuple(idx[d] for d in axes)), const(size(reduced)))

    body = block(reduce_into(m, shape, axes, True, "max", load, ctx.threads, "m"),
                 reduce_into(first, shape, axes, True, "min", position, ctx.threads, "p"))
    out_shape = _shape(node)
    it = (lambda i: i) if node.op.keepdims else (lambda i: _expand(i, axes, len(shape)))
    result, _ = store_result(ctx, lambda i: first[it(i)], "o")
    return [Kernel(ctx.name("argmax"), block(body, result), flops=2 * size(shape) + size(out_shape))]


def _expand(idx: tuple[Expr, ...], axes: tuple[int, ...], ndim: int) -> tuple[Expr, ...]:
    """An index of the reduced result (reduced axes dropped) as one with them kept at 0."""
    it = iter(idx)
    return tuple(const(0) if d in axes else next(it) for d in range(ndim))
