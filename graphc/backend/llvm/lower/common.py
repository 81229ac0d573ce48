"""Loop nests the core lowerings share: reductions into a buffer, and final stores."""
from __future__ import annotations

from typing import Callable, Sequence

from ....ir import Node, ShapeError
from ..loopir import Accumulate, Buffer, Cast, Expr, Stmt, Store, block, const, free_vars, identity, walk
from ..nest import loop_nest
from .registry import LowerContext

IndexFn = Callable[[tuple[Expr, ...]], Expr]


def kept_index(idx: Sequence[Expr], axes: Sequence[int], keepdims: bool) -> tuple[Expr, ...]:
    """The index into a reduction's result for domain index `idx`."""
    if keepdims:
        return tuple(const(0) if d in axes else i for d, i in enumerate(idx))
    return tuple(i for d, i in enumerate(idx) if d not in axes)


def writes_vary_with(stmt: Stmt, var: str) -> bool:
    """Whether every reduction step in `stmt` writes a place that depends on `var`
    (so iterations of a loop over `var` may run on different threads)."""
    return all(var in free_vars(n.index) for n in walk(stmt) if isinstance(n, Accumulate))


def reduce_into(acc: Buffer, shape: Sequence[int], axes: Sequence[int], keepdims: bool, op: str,
                value: IndexFn, threads: int, prefix: str) -> Stmt:
    """acc = identity; acc[kept(idx)] op= value(idx) for idx over `shape`."""
    init, _ = loop_nest(acc.shape, lambda i: Store(acc, acc.index(*i), identity(op, acc.dtype)),
                        f"{prefix}z", acc.dtype, threads)

    def step(idx: tuple[Expr, ...]) -> Stmt:
        v = value(idx)
        v = v if v.type.dtype == acc.dtype else Cast(v, acc.dtype)
        return Accumulate(acc, acc.index(*kept_index(idx, axes, keepdims)), op, v)

    main, _ = loop_nest(tuple(shape), step, f"{prefix}r", acc.dtype, threads, writes_vary_with)
    return block(init, main)


def store_result(ctx: LowerContext, value: IndexFn, prefix: str) -> tuple[Stmt, int]:
    """ctx.out[idx] = ctx.finish(value(idx), idx) over the whole output."""
    out = ctx.out
    return loop_nest(out.shape, lambda idx: Store(out, out.index(*idx), ctx.finish(value(idx), idx)),
                     prefix, out.dtype, ctx.threads)


def require_elements(node: Node, axes: Sequence[int]) -> None:
    """A maximum over no elements (argmax, logsumexp, softmax) is an error in numpy: here too."""
    shape = tuple(node.inputs[0].type.shape)
    for a in axes:
        if shape[a] == 0:
            raise ShapeError(f"{node.op.name}: zero-size axis {a} has no maximum (input {shape})")


def size(shape: Sequence[int]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total
