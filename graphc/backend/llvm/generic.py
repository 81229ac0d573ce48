"""Flat elementwise loops made generic in their length: one kernel for every size.

An elementwise group over contiguous values lowers to a single loop over its N
elements in which every load and store is at the loop index (or reads a scalar).
Its code depends on N only through the trip count, so `generic_loop` reads N at
run time from a one-element int64 argument and gives its buffers an unknown
length. The canonical key (canonical.py) is then the same for every N: the
optimiser's update of every parameter of a model, or one activation in a training
and an evaluation graph, is one kernel, compiled once.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .loopir import Accumulate, Buffer, Expr, For, HostCall, Load, Node, Stmt, Store, Var, children, const, \
    const_value, free_vars, rewrite, walk

#: Loop kinds a generic loop may have: threads split a loop by its length, which then
#: decides whether to split at all, so parallel loops keep their constant trip count.
GENERIC_KINDS = ("serial", "vectorize")
#: The loop variable of every generic loop (loop nests name theirs after the merged axis).
INDEX = Var("i")


def unsized(buf: Buffer) -> Buffer:
    """`buf` as a flat run of elements whose length is known only at run time."""
    return Buffer(buf.name, buf.dtype, (None,), (1,), buf.scope, buf.base, buf.offset)


def generic_loop(stmt: Stmt, count: Buffer) -> Optional[Stmt]:
    """`stmt` with its trip count read from `count[0]` and the buffers it walks unsized, if
    it is one serial or vectorised loop from 0 whose variable is nothing but the whole index
    of loads and stores of program arguments; else None."""
    if not (isinstance(stmt, For) and stmt.kind in GENERIC_KINDS and const_value(stmt.start) == 0
            and const_value(stmt.extent) is not None and _only_indexes(stmt.body, stmt.var.name)):
        return None
    var = stmt.var.name
    walked = {n.buf.name for n in walk(stmt.body) if isinstance(n, (Load, Store)) and _at(n.index, var)}

    def visit(n: Node) -> Optional[Node]:
        if isinstance(n, (Load, Store)) and n.buf.name in walked:     # also where read at a constant
            return replace(n, buf=unsized(n.buf), index=INDEX if _at(n.index, var) else n.index)
        return None

    return replace(stmt, var=INDEX, extent=Load(count, const(0)), body=rewrite(stmt.body, visit))


def _at(index: Expr, var: str) -> bool:
    return isinstance(index, Var) and index.name == var


def _only_indexes(body: Stmt, var: str) -> bool:
    """Whether loop variable `var` occurs in `body` only as the whole index of a scalar load
    or store of a program argument, and nothing in it loops, accumulates or calls the host."""
    stack: list[Node] = [body]
    while stack:
        n = stack.pop()
        if isinstance(n, (For, Accumulate, HostCall)) or (isinstance(n, Var) and n.name == var):
            return False
        if isinstance(n, (Load, Store)):
            if _at(n.index, var):
                if n.buf.scope != "param" or (isinstance(n, Load) and n.lanes != 1):
                    return False
                stack.extend(c for c in children(n) if c is not n.index)
                continue
            if var in free_vars(n.index):
                return False
        stack.extend(children(n))
    return True
