"""MatMul with numpy semantics: batch axes broadcast, operands read through any
strides (transposes cost no copy) or computed inline, elementwise consumers
(bias, activation) applied as the result is stored.

Products big enough to pay for packing use the blocked gemm (kernels/gemm.py).
A matrix times a column (N == 1) is dot products vectorised along K; up to
DOTS_MAX_ROWS rows times a matrix read along K (a transposed weight at a small
batch) are dot products computed a block of columns at a time, B streamed once;
other rows times a matrix (M == 1), small products, integer ones and empty sums
use a plain i-k-j loop vectorised along N (packing would cost more than it saves).
"""
from __future__ import annotations

from typing import Callable, Optional

from ....ir import Node
from .. import schedule as S
from ..fusion import broadcast_index
from ..kernels.gemm import PARALLEL_MIN_FLOPS, Operands, gemm_nest, plan_gemm, worth_threads
from ..loopir import (Accumulate, Buffer, Cast, Expr, Kernel, Load, Stmt, Store, Var, block, const, is_float,
                      linear_coeff, loop, walk)
from ..kernels.simd import host_simd
from .common import size
from .registry import LowerContext

#: Products with fewer multiply-adds than this use the plain loop (packing does not pay).
GEMM_MIN_MACS = 2048
#: Products of at most this many rows use the plain loop (packing B would cost more than its reuse).
PLAIN_MAX_ROWS = 1
#: Products of at most this many rows whose B is read along K (a transposed weight: a dense
#: layer's input gradient at a small batch) are dot products, every row of A against a few
#: columns of B at once, so that B streams from memory once (AlexNet's fc6 at batch 8: B is 151 MB).
DOTS_MAX_ROWS = 8
#: Partial sums (vector registers) a block of those dot products keeps: rows x columns.
DOT_PARTIALS = 24


def lower_matmul(node: Node, ctx: LowerContext) -> list[Kernel]:
    a, b = node.inputs
    shape, dtype = tuple(node.type.shape), node.dtype.name
    batch, (M, N), K = shape[:-2], shape[-2:], a.type.shape[-1]
    in_place = ctx.out.dtype == dtype       # sum into the output, then finish each element in place
    c = ctx.out if in_place else ctx.workspace("acc", dtype, shape)
    bvars = tuple(Var(f"mb{d}") if n != 1 else const(0) for d, n in enumerate(batch))

    def operand(k: int, x: Node) -> Callable[[Expr, Expr], Expr]:
        pre = broadcast_index(tuple(x.type.shape[:-2]), batch, bvars)

        def load(i: Expr, j: Expr) -> Expr:
            v = ctx.load(k, pre + (i, j))
            return v if v.type.dtype == dtype else Cast(v, dtype)
        return load

    load_a, load_b = operand(0, a), operand(1, b)
    at = lambda i, j: c.index(*bvars, i, j)  # noqa: E731
    def store_final(i: Expr, j: Expr) -> Stmt:
        idx = bvars + (i, j)
        return Store(ctx.out, ctx.out.index(*idx), ctx.finish(Load(c, at(i, j)), idx))

    finish = None if in_place and ctx.epilogue is None else store_final

    batch_loops = [(v, n) for v, n in zip(bvars, batch) if isinstance(v, Var)]
    k, j = Var("_k"), Var("_j")
    b_along_k = _unit_stride(load_b(k, j), "_k") and not _unit_stride(load_b(k, j), "_j")
    if N == 1:
        body = _dots(M, N, K, load_a, load_b, c, at, finish, dtype)
    elif b_along_k and M <= DOTS_MAX_ROWS:
        copy, load_rows = _own_rows(ctx, M, K, load_a, dtype)
        body = block(copy, _blocked_dots(M, N, K, load_rows, load_b, c, at, finish, dtype,
                                         ctx.threads > 1 and not batch_loops and worth_threads(M, N, K, dtype)))
    elif is_float(dtype) and M > PLAIN_MAX_ROWS and M * N * K >= GEMM_MIN_MACS:
        i, k, j = Var("_i"), Var("_k"), Var("_j")
        b_in_place = isinstance(load_b(k, j), Load) and linear_coeff(load_b(k, j).index, "_j") == 1 \
            and linear_coeff(at(i, j), "_j") == 1      # B's and C's rows plain, contiguous runs
        plan = plan_gemm(M, N, K, dtype, 1 if batch_loops else ctx.threads, b_in_place=b_in_place)
        a_size, b_size = plan.pack_sizes
        a_pack = ctx.scratch("a_pack", dtype, (a_size,))
        b_pack = ctx.scratch("b_pack", dtype, (b_size,))
        ops = Operands(load_a, load_b, c, at, _rows_contiguous(load_a(i, k), i, k),
                       _rows_contiguous(load_b(k, j), k, j), finish)
        body = gemm_nest(ops, M, N, K, a_pack, b_pack, plan)
    else:
        body = _plain(M, N, K, load_a, load_b, c, at, finish, dtype)
    for v, n in reversed(batch_loops):
        body = loop(v, n, body)
    if batch_loops and ctx.threads > 1 and 2 * size(shape) * K >= PARALLEL_MIN_FLOPS:
        body = S.parallel(body, batch_loops[0][0].name)
    return [Kernel(ctx.name("matmul"), body, flops=2 * size(shape) * K)]


def _plain(M: int, N: int, K: int, load_a, load_b, c: Buffer, at, finish, dtype: str) -> Stmt:
    """for i: c[i, :] = 0; for k: c[i, :] += a[i, k] * b[k, :]; then finish the row."""
    i, k, j0, j1, j2 = (Var(n) for n in ("mi", "mk", "mj0", "mj1", "mj2"))
    row = block(
        loop(j0, N, Store(c, at(i, j0), const(0, dtype))),
        loop(k, K, loop(j1, N, Accumulate(c, at(i, j1), "add", load_a(i, k) * load_b(k, j1)))),
        None if finish is None else loop(j2, N, finish(i, j2)))
    width = min(host_simd().lanes(dtype), 1 << max(2, N.bit_length() - 1))   # a vector N fills
    for name in ("mj0", "mj1", "mj2"):
        if any(getattr(n, "var", None) == Var(name) for n in walk(row)):
            row = S.vectorize(row, name, width)
    return loop(i, M, row)


def _dots(M: int, N: int, K: int, load_a, load_b, c: Buffer, at, finish, dtype: str) -> Stmt:
    """for i, j: c[i, j] = sum over k of a[i, k] * b[k, j] (partial sums in vector lanes),
    then finish it: the order for a column (N == 1) or a B read along K (a transposed
    weight at batch 1), where vectors along N would gather."""
    i, j, k = Var("mi"), Var("mj"), Var("mk")
    dot = loop(k, K, Accumulate(c, at(i, j), "add", load_a(i, k) * load_b(k, j)))
    each = block(Store(c, at(i, j), const(0, dtype)), S.vectorize(dot, "mk", host_simd().lanes(dtype)),
                 None if finish is None else finish(i, j))
    return loop(i, M, loop(j, N, each))


def _own_rows(ctx: LowerContext, M: int, K: int, load_a, dtype: str) -> tuple[Optional[Stmt], Callable]:
    """A's rows as the dot products read them: A itself where its elements are loads stepping
    by 1 along K, else (a fused activation's gradient computed inline, a strided or converted
    A) copied once into a workspace, not computed again for every block of B's columns."""
    i, p = Var("ri"), Var("rp")
    if isinstance(load_a(i, p), Load) and _unit_stride(load_a(i, p), "rp"):
        return None, load_a
    rows = ctx.workspace("rows", dtype, (M, K))
    copy = loop(i, M, S.vectorize(loop(p, K, Store(rows, rows.index(i, p), load_a(i, p))), "rp",
                                  host_simd().lanes(dtype)))
    return copy, lambda r, q: Load(rows, rows.index(r, q))


def _blocked_dots(M: int, N: int, K: int, load_a, load_b, c: Buffer, at, finish, dtype: str,
                  parallel: bool) -> Stmt:
    """c[i, j] for all M rows at once, R columns j at a time: the M x R dot products along K
    of a block share one vectorised loop, their partial sums in vector registers, so that
    each element of B is loaded once for all rows of A (and each of A's once per block)."""
    cols = max(1, min(N, DOT_PARTIALS // M))
    jb, k = Var("dj"), Var("dk")

    def columns(first: Expr, count: int) -> Stmt:
        pairs = [(const(i), first + r) for i in range(M) for r in range(count)]
        dots = loop(k, K, block(*(Accumulate(c, at(i, j), "add", load_a(i, k) * load_b(k, j)) for i, j in pairs)))
        return block(*(Store(c, at(i, j), const(0, dtype)) for i, j in pairs),
                     S.vectorize(dots, "dk", host_simd().lanes(dtype)),
                     *(finish(i, j) for i, j in pairs if finish is not None))

    blocks = loop(jb, N // cols, columns(jb * cols, cols))
    tail = columns(const(N // cols * cols), N % cols) if N % cols else None
    return block(S.parallel(blocks, "dj") if parallel else blocks, tail)


def _rows_contiguous(expr: Expr, row: Var, col: Var) -> bool:
    """Whether an operand is best copied row by row: its loads step by 1 along `col`,
    or not along `row` either (then neither order reads contiguously)."""
    return _unit_stride(expr, col.name) or not _unit_stride(expr, row.name)


def _unit_stride(expr: Expr, var: str) -> bool:
    """Whether every load in `expr` that moves with `var` steps through memory by 1."""
    coeffs = [linear_coeff(n.index, var) for n in walk(expr) if isinstance(n, Load)]
    return all(c in (0, 1) for c in coeffs) and 1 in coeffs
