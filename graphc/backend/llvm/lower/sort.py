"""Sorting along an axis: sort, argsort and topk.

Each row (the elements along the axis at one index of the other axes) is copied into a
per-thread workspace and sorted there by a bottom-up merge sort: pass w merges runs of
w elements into runs of 2w, branch-free (a select picks the next element), into the
other half of a double buffer. Argsort carries each element's position with it. Rows
are independent, so a large sort splits its row loop over the thread pool. Every read
of a run is clamped to the run, so no index leaves the row.
"""
from __future__ import annotations

from typing import Callable, Optional

from ....ir import Node
from ....ops.sort import Argsort, SortOrder
from .. import schedule as S
from ..fusion import unravel
from ..loopir import (Buffer, Cast, Expr, For, If, Kernel, Select, Stmt, Store, Var, binop,
                      block, const, is_float, loop, maximum, minimum)
from .common import size
from .registry import LowerContext

#: Merge steps (elements times passes) from which a sort's rows are split over threads.
PARALLEL_MIN_STEPS = 1 << 18

RowIndex = Callable[[Expr], tuple[Expr, ...]]


def over_rows(shape: tuple[int, ...], axis: int, body: Callable[[RowIndex], Stmt], ctx: LowerContext,
              work: int, name: str) -> Stmt:
    """`body(at)` for every row of `shape` along `axis`, where `at(j)` is the index of the
    row's element j; the row loop runs on the thread pool when `work` pays for it."""
    rest = shape[:axis] + shape[axis + 1:]
    rows, r = size(rest), Var(f"{name}_row")
    outer = unravel(r, rest)
    stmt = loop(r, rows, body(lambda j: outer[:axis] + (j,) + outer[axis:]))
    if ctx.threads > 1 and rows > 1 and work >= PARALLEL_MIN_STEPS:
        stmt = S.parallel(stmt, r.name)
    return stmt


def before(a: Expr, b: Expr, descending: bool) -> Expr:
    """Whether a comes strictly before b: ascending or descending, NaN the largest (for
    floats: not a >= b, which also holds when either is NaN, and a is not NaN)."""
    if descending:
        a, b = b, a
    if not is_float(a.type.dtype):
        return a.lt(b)
    return binop("and", binop("xor", a.ge(b), const(True)), a.eq(a))


#: A sorting network of 8 (Knuth's 19 comparators): blocks of 8 start sorted, saving three passes.
NETWORK8 = ((0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7), (0, 1), (2, 3), (4, 5), (6, 7),
            (2, 4), (3, 5), (1, 4), (3, 6), (1, 2), (3, 4), (5, 6))
BLOCK = 8


def insertion_network(m: int) -> tuple[tuple[int, int], ...]:
    """A sorting network of m elements: insertion sort's comparators."""
    return tuple((j - 1, j) for i in range(1, m) for j in range(i, 0, -1))


def network_block(keys: Buffer, positions: Optional[Buffer], base: Expr, m: int, descending: bool) -> Stmt:
    """Sort keys[base:base + m] (and positions with them) by a network of m. With positions,
    ties are ordered by position, so the result is the stable order. Every comparator writes
    two new register slots (each slot is written once)."""
    comparators = NETWORK8 if m == BLOCK else insertion_network(m)
    size_ = m + 2 * len(comparators)
    net = Buffer(f"net{m}", keys.dtype, (size_,), scope="local")
    where = Buffer(f"netpos{m}", "int64", (size_,), scope="local") if positions is not None else None
    stmts: list[Stmt] = []
    for s in range(m):
        stmts.append(Store(net, const(s), keys[base + s]))
        if where is not None:
            stmts.append(Store(where, const(s), positions[base + s]))
    slot, fresh = list(range(m)), m
    for a, b in comparators:
        ka, kb = net[slot[a]], net[slot[b]]
        swap = before(kb, ka, descending)
        if where is not None:
            tie = binop("and", binop("xor", before(ka, kb, descending), const(True)), where[slot[b]].lt(where[slot[a]]))
            swap = binop("or", swap, tie)
        for buf in (net, where) if where is not None else (net,):
            va, vb = buf[slot[a]], buf[slot[b]]
            stmts += [Store(buf, const(fresh), Select(swap, vb, va)), Store(buf, const(fresh + 1), Select(swap, va, vb))]
        slot[a], slot[b], fresh = fresh, fresh + 1, fresh + 2
    for s in range(m):
        stmts.append(Store(keys, base + s, net[slot[s]]))
        if where is not None:
            stmts.append(Store(positions, base + s, where[slot[s]]))
    return block(*stmts)


def network_pass(keys: Buffer, positions: Optional[Buffer], n: int, descending: bool) -> Stmt:
    """Sort each block of 8 (and the shorter last block) in place."""
    b, full, tail = Var("nb"), n // BLOCK, n % BLOCK
    blocks = loop(b, full, network_block(keys, positions, b * BLOCK, BLOCK, descending)) if full else None
    last = network_block(keys, positions, const(full * BLOCK), tail, descending) if tail > 1 else None
    return block(blocks, last)


def merge_pass(keys: tuple[Buffer, Buffer], positions, width: int, n: int, descending: bool) -> Stmt:
    """Merge the sorted runs of `width` in keys[0] (and positions[0]) into runs of 2 * width
    in keys[1] (and positions[1]).

    Each merge fills its output from both ends at once: the front takes the next element
    in order, the back the last one left (ties: the left run's first, so the order is
    stable), which makes two independent chains of dependent loads."""
    t, s = Var(f"mt{width}"), Var(f"ms{width}")
    lo = t * (2 * width)
    mid, hi = minimum(lo + width, const(n)), minimum(lo + 2 * width, const(n))
    taken = Buffer(f"taken{width}", "int64", (2,), scope="local")   # taken from the left run: front, back
    choice = Buffer(f"choice{width}", "bool", (2,), scope="local")  # each end's pick, decided once
    src, dst = keys
    pairs = [keys] + ([positions] if positions else [])

    def pick(end: int, at: Expr, take_first: Expr, first: Expr, second: Expr, step: tuple[int, int]) -> Stmt:
        """Decide once (a register), then store the picked element and advance that end."""
        chosen = choice[end]
        return block(Store(choice, const(end), take_first),
                     *(Store(d, at, Select(chosen, a[first], a[second])) for a, d in pairs),
                     Store(taken, const(end), taken[end] + Select(chosen, const(step[0]), const(step[1]))))

    def front(p: Expr) -> Stmt:
        i = taken[0] + lo
        j = p - i + mid
        left, right = minimum(i, mid - 1), minimum(j, hi - 1)         # clamped: never outside the run
        take_right = binop("and", j.lt(hi), binop("or", i.ge(mid), before(src[right], src[left], descending)))
        return pick(0, p, take_right, right, left, (0, 1))

    def back(q: Expr) -> Stmt:
        e = hi - 1 - q
        i = mid - 1 - taken[1]
        j = e - i + mid - 1
        left, right = maximum(i, lo), minimum(maximum(j, mid), hi - 1)
        take_left = binop("and", i.ge(lo), binop("or", j.lt(mid), before(src[right], src[left], descending)))
        return pick(1, e, take_left, left, right, (1, 0))

    half = (hi - lo) // 2
    merge = block(Store(taken, const(0), const(0)), Store(taken, const(1), const(0)),
                  loop(s, half, block(front(lo + s), back(s))),
                  For(Var(f"mo{width}"), const(0), hi - lo - half * 2, front(lo + half)))
    return loop(t, -(-n // (2 * width)), merge)


#: topk with k up to this (and at most a quarter of the axis) selects instead of sorting.
SELECT_MAX_K = 16


def lower_sort(node: Node, ctx: LowerContext) -> list[Kernel]:
    """Sort and Argsort (and topk's values and indices): a merge sort of each row, then
    its first k elements stored; a small k out of a long row is selected instead."""
    op: SortOrder = node.op
    shape, axis = tuple(node.inputs[0].type.shape), op.axis
    n, k = shape[axis], node.type.shape[axis]
    if size(node.type.shape) == 0:
        return []
    if k <= SELECT_MAX_K and 4 * k <= n:
        row, work = select_rows(node, ctx, n, k), size(shape)
    else:
        row, work = sort_rows(node, ctx, n, k)
    body = over_rows(shape, axis, row, ctx, work, "sort")
    return [Kernel(ctx.name(op.name), body, flops=work)]


def row_value(node: Node, ctx: LowerContext, at: RowIndex, j: Expr) -> Expr:
    """Element j of the row, in the input's dtype."""
    value, dtype = ctx.load(0, at(j)), node.inputs[0].dtype.name
    return value if value.type.dtype == dtype else Cast(value, dtype)


def store_first(node: Node, ctx: LowerContext, at: RowIndex, done: Buffer, k: int) -> Stmt:
    """The row's k results from `done` (keys or positions) into the output."""
    o = Var("so")
    return loop(o, k, Store(ctx.out, ctx.out.index(*at(o)), ctx.finish(done[o], at(o))))


def sort_rows(node: Node, ctx: LowerContext, n: int, k: int):
    """Each row copied to a workspace, blocks of 8 sorted by the network, then merged."""
    op: SortOrder = node.op
    dtype = node.inputs[0].dtype.name
    keys = [ctx.scratch("keys", dtype, (n,)) for _ in range(2)]
    positions = [ctx.scratch("positions", "int64", (n,)) for _ in range(2)] if isinstance(op, Argsort) else []
    widths = [BLOCK << s for s in range(max(-(-n // BLOCK) - 1, 0).bit_length())]

    def row(at: RowIndex) -> Stmt:
        j = Var("sj")
        first = [Store(keys[0], j, row_value(node, ctx, at, j))] + ([Store(positions[0], j, j)] if positions else [])
        stmts = [loop(j, n, block(*first)), network_pass(keys[0], positions[0] if positions else None, n, op.descending)]
        for s, width in enumerate(widths):
            src, dst = s % 2, 1 - s % 2
            pos = (positions[src], positions[dst]) if positions else None
            stmts.append(merge_pass((keys[src], keys[dst]), pos, width, n, op.descending))
        return block(*stmts, store_first(node, ctx, at, (positions or keys)[len(widths) % 2], k))

    return row, size(tuple(node.inputs[0].type.shape)) * max(len(widths), 1)


def select_rows(node: Node, ctx: LowerContext, n: int, k: int) -> Callable[[RowIndex], Stmt]:
    """topk by selection: the best k so far kept in order; an element that beats the
    last of them (or while fewer than k are kept) replaces it and moves up by
    compare-and-swap steps. Elements arrive in position order and move up only past
    worse ones, so ties keep their order. Reads of the kept slots stay in [0, k)."""
    op: SortOrder = node.op
    best = ctx.scratch("best", node.inputs[0].dtype.name, (k,))
    where = ctx.scratch("best_positions", "int64", (k,))
    kept = Buffer("kept", "int64", (1,), scope="local")
    pair = Buffer("pair", best.dtype, (2,), scope="local")
    pair_at = Buffer("pair_at", "int64", (2,), scope="local")
    swap = Buffer("swap", "bool", (1,), scope="local")

    def row(at: RowIndex) -> Stmt:
        j, t = Var("sel_j"), Var("sel_t")
        value = row_value(node, ctx, at, j)
        last = minimum(kept[0], const(k - 1))
        i = last - t                                     # moving up from `last`: i in [1, last]
        up = block(Store(pair, const(0), best[i]), Store(pair, const(1), best[i - 1]),
                   Store(pair_at, const(0), where[i]), Store(pair_at, const(1), where[i - 1]),
                   Store(swap, const(0), before(pair[0], pair[1], op.descending)),
                   Store(best, i, Select(swap[0], pair[1], pair[0])), Store(best, i - 1, Select(swap[0], pair[0], pair[1])),
                   Store(where, i, Select(swap[0], pair_at[1], pair_at[0])),
                   Store(where, i - 1, Select(swap[0], pair_at[0], pair_at[1])))
        insert = block(Store(best, last, value), Store(where, last, j), loop(t, last, up),
                       Store(kept, const(0), kept[0] + 1))
        wins = binop("or", kept[0].lt(k), before(value, best[k - 1], op.descending))
        scan = loop(j, n, If(wins, insert))
        return block(Store(kept, const(0), const(0)), scan,
                     store_first(node, ctx, at, where if isinstance(op, Argsort) else best, k))

    return row


