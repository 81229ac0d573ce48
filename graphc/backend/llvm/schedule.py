"""Schedules: how a loop nest runs, applied as value-preserving rewrites by loop name.

Each function takes a statement and the name of one of its loops and returns a
new statement; what the nest computes is unchanged (Halide/TVM's split between
algorithm and schedule). Loops are named by their variables.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .loopir import Expr, For, Stmt, Var, block, const, const_value, free_vars, rewrite, substitute


def _on_loop(stmt: Stmt, name: str, fn: Callable[[For], Stmt]) -> Stmt:
    hits = []

    def visit(n):
        if isinstance(n, For) and n.var.name == name:
            hits.append(n)
            return fn(n)
        return None

    out = rewrite(stmt, visit, skip=lambda n: isinstance(n, Expr))     # loops are statements
    if not hits:
        raise KeyError(f"no loop named {name!r}")
    return out


def split(stmt: Stmt, name: str, factor: int, outer: str | None = None, inner: str | None = None) -> Stmt:
    """Tile loop `name` by `factor`: an outer loop over tiles, an inner loop within
    one; a remainder that does not fill a tile runs as a separate tail loop."""
    if factor < 1:
        raise ValueError("split factor must be >= 1")
    vo, vi = Var(outer or f"{name}_o"), Var(inner or f"{name}_i")

    def do(f: For) -> Stmt:
        n = const_value(f.extent)
        full = f.extent // factor
        body = substitute(f.body, {name: f.start + vo * factor + vi})
        tiled = For(vo, const(0), full, For(vi, const(0), const(factor), body))
        if n is not None and n % factor == 0:
            return tiled
        done = full * factor
        tail = For(f.var, f.start + done, f.extent - done, f.body)
        return block(tiled, tail)

    return _on_loop(stmt, name, do)


def vectorize(stmt: Stmt, name: str, width: int) -> Stmt:
    """Run loop `name` `width` iterations at a time in vector lanes (scalar tail)."""
    return _on_loop(stmt, name, lambda f: replace(f, kind="vectorize", width=width))


def parallel(stmt: Stmt, name: str) -> Stmt:
    """Split loop `name`'s iterations over threads. Its body may use no enclosing
    loop variable (it runs in a separate function)."""
    def do(f: For) -> Stmt:
        if free_vars(f.start) | free_vars(f.extent) | (free_vars(f.body) - {name}):
            raise ValueError(f"parallel loop {name} uses enclosing variables")
        return replace(f, kind="parallel")

    return _on_loop(stmt, name, do)


def unroll(stmt: Stmt, name: str) -> Stmt:
    """Replace loop `name` (constant trip count) by copies of its body.

    Done here rather than by LLVM so that compile time stays predictable and
    indices into register tiles become constants.
    """
    def do(f: For) -> Stmt:
        n = const_value(f.extent)
        if n is None:
            raise ValueError(f"unroll {name}: trip count is not constant")
        return block(*(substitute(f.body, {name: f.start + k}) for k in range(n)))

    return _on_loop(stmt, name, do)


def reorder(stmt: Stmt, outer: str, inner: str) -> Stmt:
    """Swap loop `outer` with loop `inner` directly nested in it."""
    def do(f: For) -> Stmt:
        g = f.body
        if not (isinstance(g, For) and g.var.name == inner):
            raise ValueError(f"reorder: {inner} is not directly inside {outer}")
        if outer in free_vars(g.start) | free_vars(g.extent):
            raise ValueError(f"reorder: the bounds of {inner} depend on {outer}")
        return replace(g, body=replace(f, body=g.body))

    return _on_loop(stmt, outer, do)


def unroll_by(stmt: Stmt, name: str, factor: int) -> Stmt:
    """Unroll loop `name` `factor` times (split, then unroll the inner loop)."""
    inner = f"{name}_u"
    return unroll(split(stmt, name, factor, inner=inner), inner)

