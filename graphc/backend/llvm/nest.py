"""Loop nests over an iteration domain, with axes merged wherever the body allows.

`loop_nest(shape, body)` builds `for i0: for i1: ...: body(i0, i1, ...)`, then
drops size-1 axes and merges neighbouring axes whenever every index the body
computes depends on them only through `i_a * n_b + i_b` (checked on the loop IR:
each affine index subexpression must have coefficients c_a == c_b * n_b). A
contiguous elementwise loop over (64, 3, 5, 5) becomes one loop of 4800; a
transposed read keeps its axes apart. The innermost loop is vectorised and
large outer loops are split over threads (kernels.fused.schedule_nest).
"""
from __future__ import annotations

from typing import Callable, Sequence

from .kernels.fused import schedule_nest
from .loopir import Expr, Node, Stmt, Var, children, const, free_vars, linear_coeff, loop, substitute

Body = Callable[[tuple[Expr, ...]], Stmt]


def _depends_on_flat(node: Node, a: str, b: str, n_b: int) -> bool:
    """Whether every use of vars a and b in `node` is through a * n_b + b."""
    names = free_vars(node)
    if a not in names and b not in names:
        return True
    if isinstance(node, Expr) and node.type.dtype == "int64" and node.type.lanes == 1:
        ca, cb = linear_coeff(node, a), linear_coeff(node, b)
        if ca is not None and cb is not None:
            return ca == cb * n_b
    if isinstance(node, Var):
        return False
    return all(_depends_on_flat(c, a, b, n_b) for c in children(node))


def loop_nest(shape: Sequence[int], body: Body, prefix: str, dtype: str, threads: int = 1,
              parallel_if: Callable[[Stmt, str], bool] = lambda stmt, var: True) -> tuple[Stmt, int]:
    """The scheduled nest of `body` over `shape` and its number of iterations.

    `dtype` picks the vector width; `parallel_if(body, outer_var)` says whether
    the outermost loop's iterations are independent (e.g. a reduction may not
    split over a reduced axis).
    """
    vars_ = [Var(f"{prefix}{d}") for d in range(len(shape))]
    stmt = body(tuple(vars_))
    dims = list(shape)
    keep = []
    for v, n in zip(vars_, dims):
        if n == 1:
            stmt = substitute(stmt, {v.name: const(0)})
        else:
            keep.append((v, n))
    merged: list[tuple[Var, int]] = []
    for v, n in keep:
        if merged and _depends_on_flat(stmt, merged[-1][0].name, v.name, n):
            (u, m) = merged.pop()
            stmt = substitute(stmt, {u.name: const(0)})
            merged.append((v, m * n))
        else:
            merged.append((v, n))
    for v, n in reversed(merged):
        stmt = loop(v, n, stmt)
    total = 1
    for _, n in merged:
        total *= n
    outer_ok = bool(merged) and parallel_if(stmt, merged[0][0].name)
    return schedule_nest(stmt, [v for v, _ in merged], [n for _, n in merged], dtype, outer_ok, threads), total
