"""Fused elementwise loops and reductions that take elementwise work in.

The caller gives the scalar computation as a function from input loads to an
expression (one element of each input in, one value out); these builders wrap
it in a merged, vectorised loop nest over the broadcast domain.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from .. import schedule as S
from ..loopir import Accumulate, Buffer, Cast, Expr, Kernel, Load, Stmt, Store, Var, block, identity, loop
from .loops import domain_strides, merge_axes, offset, vector_width

#: Element counts below which a loop stays on one thread (dispatch costs ~0.1 ms).
PARALLEL_MIN_ELEMENTS = 1 << 20
REDUCE_OPS = {"sum": "add", "max": "max", "min": "min"}

ScalarBody = Callable[[list[Expr]], Expr]


def _nest(dims: Sequence[int], prefix: str, inner: Callable[[list[Var]], Stmt]) -> tuple[Stmt, list[Var]]:
    vars_ = [Var(f"{prefix}{d}") for d in range(len(dims))]
    body = inner(vars_)
    for v, n in reversed(list(zip(vars_, dims))):
        body = loop(v, n, body)
    return body, vars_


def schedule_nest(body: Stmt, vars_: list[Var], dims: list[int], dtype: str, split_outer: bool, threads: int) -> Stmt:
    """Vectorise the innermost loop; split the outermost over threads when the work is large
    (and `split_outer`: its iterations write disjoint elements)."""
    if not vars_:
        return body
    total = 1
    for n in dims:
        total *= n
    inner, width = vars_[-1].name, vector_width(dtype)
    go_parallel = threads > 1 and total >= PARALLEL_MIN_ELEMENTS and split_outer
    if go_parallel and len(vars_) == 1:
        chunk = -(-dims[0] // (threads * 4 * width)) * width
        body = S.split(body, inner, chunk, outer=f"{inner}_t", inner=f"{inner}_c")
        body = S.vectorize(S.vectorize(body, f"{inner}_c", width), inner, width) \
            if dims[0] % chunk else S.vectorize(body, f"{inner}_c", width)
        return S.parallel(body, f"{inner}_t")
    body = S.vectorize(body, inner, width)
    return S.parallel(body, vars_[0].name) if go_parallel else body


def elementwise_kernel(out: Buffer, inputs: Sequence[Buffer], fn: ScalarBody,
                       threads: int = 1, name: str = "elementwise") -> Kernel:
    """out[...] = fn(inputs[...]) over out's shape, inputs broadcast to it."""
    shape = out.shape
    dims, strs = merge_axes(shape, [domain_strides(b, shape) for b in (out, *inputs)])

    def inner(vars_):
        value = fn([Load(b, offset(vars_, s)) for b, s in zip(inputs, strs[1:])])
        if value.type.dtype != out.dtype:
            value = Cast(value, out.dtype)
        return Store(out, offset(vars_, strs[0]), value)

    body, vars_ = _nest(dims, "i", inner)
    size = 1
    for n in shape:
        size *= n
    return Kernel(name, schedule_nest(body, vars_, dims, out.dtype, True, threads), flops=size)


def reduce_kernel(out: Buffer, inputs: Sequence[Buffer], fn: ScalarBody, kind: str, axes: Sequence[int],
                  shape: Sequence[int], finish: Optional[Callable[[Expr], Expr]] = None,
                  threads: int = 1, name: str = "reduce") -> Kernel:
    """out = reduce_kind over `axes` of fn(inputs) on the domain `shape`, then
    out = finish(out) (e.g. a mean's scale). `out` is contiguous, with the reduced
    axes either dropped or kept as size 1."""
    if kind not in REDUCE_OPS:
        raise ValueError(f"unknown reduction {kind}")
    shape, axes = tuple(shape), sorted(set(axes))
    if len(out.shape) == len(shape):
        out_strides = domain_strides(out, shape)
    else:
        it = iter(out.strides)
        out_strides = tuple(0 if d in axes else next(it) for d in range(len(shape)))
    out_strides = tuple(0 if d in axes else s for d, s in enumerate(out_strides))
    dims, strs = merge_axes(shape, [out_strides] + [domain_strides(b, shape) for b in inputs])

    def inner(vars_):
        value = fn([Load(b, offset(vars_, s)) for b, s in zip(inputs, strs[1:])])
        if value.type.dtype != out.dtype:
            value = Cast(value, out.dtype)
        return Accumulate(out, offset(vars_, strs[0]), REDUCE_OPS[kind], value)

    main, vars_ = _nest(dims, "r", inner)
    outer_kept = bool(strs) and bool(strs[0]) and strs[0][0] != 0
    main = schedule_nest(main, vars_, dims, out.dtype, outer_kept, threads)
    o = Var("o")
    init = S.vectorize(loop(o, out.size, Store(out, o, identity(REDUCE_OPS[kind], out.dtype))), "o", vector_width(out.dtype))
    post = None
    if finish is not None:
        f = Var("f")
        post = S.vectorize(loop(f, out.size, Store(out, f, finish(Load(out, f)))), "f", vector_width(out.dtype))
    size = 1
    for n in shape:
        size *= n
    return Kernel(name, block(init, main, post), flops=size)
