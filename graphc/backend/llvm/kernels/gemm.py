"""C = A @ B as a GotoBLAS-style loop nest, with tiles sized by the host's vector registers.

Columns of B are cut into blocks of `nc`, K into blocks of KC, rows of A into
blocks of MC. Each KC x nc block of B is packed into NR-wide panels
(`b_pack[jb][p][j]`) and each MC x KC block of A is copied whole (zero padded
to a multiple of MR rows), so the micro-kernel streams both from contiguous
memory. The micro-kernel keeps an MR x NR tile of C in vector registers (`acc`,
a local indexed by constants after unrolling) and updates it with one fma per
vector per k, broadcasting one element of A per row. Threads take column blocks
(or, for products too narrow, chunks of rows), each packing into its own
scratch.

The panels of a block are taken column panel by column panel (each B panel
reused down the MC rows of A), except when the packed B block is small (a short
K, such as a dense layer's weight gradient, whose K is the batch): then row
panel by row panel, so that C (and an epilogue's operands) stream row after row
instead of in NR-wide stripes down 120 rows at once.

Packing runs at vector speed whatever the operands' layout: the A block keeps
A's orientation (row-major when A's K axis has stride 1, column-major when its
M axis has), so its copy is vectorised along A's contiguous axis; B panels are
filled along N when B's rows are contiguous (a whole row of the block into every
panel, then the next, so that B is read in order: it mattered for a few rows
times a large B, read once), else W x W blocks are read along K and transposed
in registers. Strided operands (transposes) need no copy of
their own. Narrow products get a tile no wider than N; one whose N columns fill
only a small part of a vector is computed as C^T = B^T @ A^T.

The AVX-512 choices (tile shape, cache blocks, thread threshold) were measured
on a Zen 5, the AVX2 ones on a Zen 3: see docs/performance.md.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

from .. import schedule as S
from ..loopir import (Broadcast, Buffer, Expr, Fma, If, Kernel, Load, Program, Select, Stmt, Store, Var,
                      block, ceil_div, const, const_value, itemsize, loop, minimum, rewrite, walk)
from .conv import fill_transposed, transpose, whole_block
from .simd import Simd, host_simd

#: Below this many flops (~0.4 ms of float32 work on one Zen 5 core) a product runs
#: on one thread: starting and joining a second one costs 40-150 us here, so smaller
#: splits win little or lose (measured: docs/performance.md).
PARALLEL_MIN_FLOPS = 1e8
#: ... unless it moves at least this many bytes of B and C: bound by memory (a dense layer at
#: a small batch), which two threads fill better than one (AlexNet's fc8 at batch 8: 65 Mflop,
#: 16 MiB of weights).
PARALLEL_MIN_BYTES = 1 << 22
#: Cache blocks: a KC x NR micro-panel of B is reused for every MR rows of an
#: MC x KC block of A, which stays in L2; B's KC x nc block stays in L3.
MC_TARGET, NC_MAX = 120, 4096
#: Compute C^T = B^T @ A^T when its whole tiles hold less than this share of C's.
TRANSPOSE_BELOW = 0.7
#: Take a block's panels row by row when its packed B block is at most this many bytes
#: (half an L2 here): a 9216 x 8 x 4096 product (AlexNet's fc6 weight gradient at
#: batch 8) ran 42 -> 22 ms, 9216 x 32 x 4096 63 -> 39 ms (docs/performance.md).
ROWS_FIRST_MAX_BYTES = 1 << 19
#: Rows of B per block of K when B is read in place (a product of one row panel): that
#: many streams of B's rows advance together, few enough for the hardware prefetchers
#: (AlexNet's fc6 forward at batch 8, 8 x 9216 x 4096: 14.5 -> 9.6 ms against packing).
STREAM_KC = 8


@dataclass(frozen=True)
class Tiles:
    """Register tile MR x NR (NR a multiple of the vector width W) and cache blocks KC, MC (MC a multiple of MR)."""

    width: int
    mr: int
    nr: int
    kc: int
    mc: int

    def __post_init__(self) -> None:
        if self.nr % self.width or self.mc % self.mr:
            raise ValueError(f"{self}: NR must be a multiple of the width and MC of MR")


def register_tile(simd: Simd) -> tuple[int, int, int]:
    """(MR, vectors per row, KC) of the micro-kernel for `simd`'s register file.

    MR x NV accumulators, NV vectors of B and one broadcast of A must fit the
    registers. 16 registers (AVX2): 6 x 2 (12 accumulators), KC 256 (the B
    micro-panel then fits a 32 KiB L1). 32 registers (AVX-512, whose fmas also
    read the broadcast from memory): 6 x 4 (24 accumulators), KC 512; 14 x 2
    (28) runs as fast on large products but pads more rows on small ones.
    """
    return (6, 4, 512) if simd.registers >= 32 else (6, 2, 256)


def host_tiles(dtype: str, simd: Optional[Simd] = None, rows: Optional[int] = None) -> Tiles:
    """The tiles for `dtype` on `simd` (default: this host's vector registers), for a
    product of `rows` rows if known: with 32 registers, a product of at most 16 rows
    that 8-row tiles pad less than 6-row ones (7, 8, 13-16 rows: a dense layer at a
    small batch) gets 8 x 2 vectors."""
    simd = simd or host_simd()
    width = simd.lanes(dtype)
    mr, vectors, kc = register_tile(simd)
    if simd.registers >= 32 and rows is not None and rows <= 16 and -(-rows // 8) * 8 < -(-rows // mr) * mr:
        mr, vectors = 8, 2
    return Tiles(width=width, mr=mr, nr=vectors * width, kc=kc, mc=-(-MC_TARGET // mr) * mr)


@dataclass(frozen=True)
class Operands:
    """What the gemm nest reads and writes, as index functions.

    `a(i, k)` and `b(k, j)` give the operands' elements (loads through any
    strides, or fused computations); `c` is the accumulator at `c_index(i, j)`.
    `a_rows_contiguous` says A's K axis has stride 1 (else its M axis is the
    one to copy along); `b_rows_contiguous` says the same of B's N axis.
    `finish`, when given, is applied once the sum is complete: `finish(i, j)`
    returns the statement storing the final element (e.g. an epilogue into the
    output), run in a loop vectorised over j.
    """

    a: Callable[[Expr, Expr], Expr]
    b: Callable[[Expr, Expr], Expr]
    c: Buffer
    c_index: Callable[[Expr, Expr], Expr]
    a_rows_contiguous: bool = True
    b_rows_contiguous: bool = True
    finish: Optional[Callable[[Expr, Expr], Stmt]] = None

    def transposed(self) -> "Operands":
        """The operands of C^T = B^T @ A^T (same memory, indices swapped)."""
        finish = self.finish
        return Operands(lambda i, k: self.b(k, i), lambda k, j: self.a(j, k), self.c,
                        lambda i, j: self.c_index(j, i), not self.b_rows_contiguous, not self.a_rows_contiguous,
                        None if finish is None else lambda i, j: finish(j, i))


@dataclass(frozen=True)
class GemmPlan:
    """How a product runs: tiles and the column block `nc`; whether it computes
    C^T = B^T @ A^T instead (when that pads fewer lanes); and how it splits over
    threads: `split` is None, "cols" (one column block `nc` per thread) or "rows"
    (`rows` rows of C per thread, for products too narrow to split by columns);
    `rows_first`: a block's panels are taken row panel by row panel; `stream_b`: the
    product has one row panel and B's rows are read in place, not packed (each element
    of B is used once), and the C tile is kept in registers between blocks of K."""

    tiles: Tiles
    nc: int
    transposed: bool = False
    split: Optional[str] = None
    rows: int = 0
    rows_first: bool = False
    stream_b: bool = False

    @property
    def parallel(self) -> bool:
        return self.split is not None

    @property
    def pack_sizes(self) -> tuple[int, int]:
        """Elements of the A and B packing buffers (per thread)."""
        return self.tiles.mc * self.tiles.kc, 0 if self.stream_b else self.nc * self.tiles.kc


def gemm_nest(ops: Operands, M: int, N: int, K: int, a_pack: Buffer, b_pack: Buffer, plan: GemmPlan) -> Stmt:
    """The loop nest of C = A @ B for (M, K) x (K, N), split over threads as the plan says."""
    if plan.transposed:
        ops, M, N = ops.transposed(), N, M
    if plan.split == "rows":
        chunk = Var("mt")
        first = chunk * plan.rows
        body = _nest(ops, M, N, K, a_pack, b_pack, plan, first, minimum(M, first + plan.rows))
        return S.parallel(loop(chunk, -(-M // plan.rows), body), chunk.name)
    body = _nest(ops, M, N, K, a_pack, b_pack, plan, const(0), const(M))
    return S.parallel(body, "jc") if plan.split == "cols" else body


def _nest(ops: Operands, M: int, N: int, K: int, a_pack: Buffer, b_pack: Buffer, plan: GemmPlan,
          first_row: Expr, end_row: Expr) -> Stmt:
    """C[first_row:end_row] = A[first_row:end_row] @ B."""
    t, nc = plan.tiles, plan.nc
    dtype = ops.c.dtype
    W, MR, NR, KC, MC, NV = t.width, t.mr, t.nr, t.kc, t.mc, t.nr // t.width
    v = {n: Var(n) for n in "jc pc ic jb ib p bj bp bz ar ap az ki kv ti tv ei ej fi fj".split()}
    j0, p0, i0 = v["jc"] * nc, v["pc"] * KC, first_row + v["ic"] * MC
    whole_rows = const_value(first_row) == 0 and const_value(end_row) == M     # not a chunk of rows
    ncur, kc = whole_block(N, nc, minimum(nc, N - j0)), whole_block(K, KC, minimum(KC, K - p0))
    mcur = whole_block(M, MC, minimum(MC, end_row - i0)) if whole_rows else minimum(MC, end_row - i0)
    zero = const(0.0, dtype)

    # pack B[p0:p0+kc, j0:j0+ncur] into NR-wide panels: b_pack[jb][p][j]
    col0 = j0 + v["jb"] * NR
    nv = whole_block(N, NR, minimum(NR, N - col0))
    b_at = lambda j, p: (v["jb"] * KC + p) * NR + j  # noqa: E731
    b_value = lambda j, p: ops.b(p0 + p, col0 + j)  # noqa: E731
    pad_b = loop(v["bp"], kc, loop(v["bz"], NR - nv, Store(b_pack, b_at(v["bz"], v["bp"]), zero), start=nv))
    panels = lambda body: loop(v["jb"], ceil_div(ncur, NR), body)  # noqa: E731
    if plan.stream_b:
        pack_b = None
    elif ops.b_rows_contiguous:       # row by row: B's rows are read whole, in order
        fill = S.vectorize(loop(v["bj"], nv, Store(b_pack, b_at(v["bj"], v["bp"]), b_value(v["bj"], v["bp"]))),
                           "bj", W)
        pack_b = block(loop(v["bp"], kc, panels(fill)), panels(pad_b))
    else:
        # the depth as a run-time value: with the constant one, LLVM's code for the transposing
        # fill ran 2-4% slower (AlexNet's 4096- and 9216-row weights read along K)
        pack_b = panels(block(fill_transposed(b_pack, b_at, b_value, W, nv, minimum(KC, K - p0)), pad_b))

    # copy A[i0:i0+mcur, p0:p0+kc] in A's orientation, zero rows up to whole MR panels
    rows = ceil_div(mcur, MR) * MR
    a_value = lambda r, p: ops.a(i0 + r, p0 + p)  # noqa: E731
    if ops.a_rows_contiguous:
        a_at = lambda r, p: r * KC + p  # noqa: E731
        copy = loop(v["ar"], mcur, S.vectorize(loop(v["ap"], kc, Store(
            a_pack, a_at(v["ar"], v["ap"]), a_value(v["ar"], v["ap"]))), "ap", W))
        pad = loop(v["az"], rows - mcur, S.vectorize(loop(v["ap"], kc, Store(
            a_pack, a_at(v["az"], v["ap"]), zero)), "ap", W), start=mcur)
    else:
        a_at = lambda r, p: p * MC + r  # noqa: E731
        copy = loop(v["ap"], kc, S.vectorize(loop(v["ar"], mcur, Store(
            a_pack, a_at(v["ar"], v["ap"]), a_value(v["ar"], v["ap"]))), "ar", W))
        pad = loop(v["ap"], kc, loop(v["az"], rows - mcur, Store(a_pack, a_at(v["az"], v["ap"]), zero), start=mcur))
    pack_a = block(copy, pad)

    # micro-kernel on panels (ib, jb): acc = A panel @ B panel, then C (+)= acc
    c = ops.c
    acc = Buffer("acc", dtype, (MR * NR,), scope="local")
    tile = Buffer("tile", dtype, (MR * NR,), scope="local")
    slot = lambda i, j: v[i] * NR + v[j] * W  # noqa: E731 - acc index of row i, vector j
    accv = lambda i, j: Load(acc, slot(i, j), W)  # noqa: E731
    a_elem = Load(a_pack, a_at(v["ib"] * MR + v["ki"], v["p"]))
    b_vec = Load(b_pack, (v["jb"] * KC + v["p"]) * NR + v["kv"] * W, W)
    if plan.stream_b:
        b_vec = replace(ops.b(p0 + v["p"], col0 + v["kv"] * W), lanes=W)
    init = loop(v["ti"], MR, loop(v["tv"], NV, Store(acc, slot("ti", "tv"), Broadcast(zero, W))))
    update = loop(v["p"], kc, loop(v["ki"], MR, loop(v["kv"], NV, Store(
        acc, slot("ki", "kv"), Fma(Broadcast(a_elem, W), b_vec, accv("ki", "kv"))))))
    # C (+)= acc through a tile in memory: one loop serves full and edge tiles
    row0 = i0 + v["ib"] * MR
    mv = whole_block(M, MR, minimum(MR, end_row - row0))     # chunks of rows are whole MR panels
    c_el = ops.c_index(row0 + v["ei"], col0 + v["ej"])
    first = v["pc"].eq(0)
    spill = loop(v["ti"], MR, loop(v["tv"], NV, Store(tile, slot("ti", "tv"), accv("ti", "tv"))))
    merge = loop(v["ei"], mv, S.vectorize(loop(v["ej"], nv, Store(
        c, c_el, Select(first, zero, Load(c, c_el)) + Load(tile, v["ei"] * NR + v["ej"]))), "ej", W))
    final = None if ops.finish is None else ops.finish(row0 + v["fi"], col0 + v["fj"])
    if plan.stream_b:       # whole tiles of the M rows (N is a multiple of NR): C (+)= acc from registers
        c_vec = lambda i, j: ops.c_index(row0 + i, col0 + j * W)  # noqa: E731
        at = lambda i, j: const(i * NR + j * W)  # noqa: E731
        init = block(*(Store(acc, at(i, j), Select(first, Broadcast(zero, W), Load(c, c_vec(i, j), W)) if i < M
                             else Broadcast(zero, W)) for i in range(MR) for j in range(NV)))
        micro = block(init, update, *(Store(c, c_vec(i, j), Load(acc, at(i, j), W)) for i in range(M) for j in range(NV)))
        direct = None
    else:
        direct = _from_tile(final, c, ops.c_index(row0 + v["fi"], col0 + v["fj"]),
                            Load(tile, v["fi"] * NR + v["fj"])) if final is not None and K <= KC else None
        micro = block(init, update, spill, merge if direct is None else None)
    for name in ("ki", "kv") if plan.stream_b else ("ti", "tv", "ki", "kv"):
        micro = S.unroll(micro, name)
    if final is not None:
        last = v["pc"].eq(ceil_div(K, KC) - 1) if K > KC else None
        done = loop(v["fi"], mv, S.vectorize(loop(v["fj"], nv, direct or final), "fj", W))
        micro = block(micro, done if last is None else If(last, done))

    row_panels = lambda body: loop(v["ib"], ceil_div(mcur, MR), body)  # noqa: E731
    outer, inner = (row_panels, panels) if plan.rows_first else (panels, row_panels)
    return loop(v["jc"], ceil_div(N, nc), loop(v["pc"], ceil_div(K, KC), block(
        pack_b, loop(v["ic"], ceil_div(end_row - first_row, MC), block(pack_a, outer(inner(micro)))))))


def _from_tile(final: Stmt, c: Buffer, summed: Expr, element: Expr) -> Optional[Stmt]:
    """`final` reading the tile's `element` where it reads the sum c[summed], when the sum is
    whole in the tile (one block of K): C is then written once, by the epilogue. None if
    `final` would still read C elsewhere."""
    direct = rewrite(final, lambda n: element if isinstance(n, Load) and n.buf == c and n.index == summed else None)
    return None if any(isinstance(n, Load) and n.buf == c for n in walk(direct)) else direct


def worth_threads(M: int, N: int, K: int, dtype: str) -> bool:
    """Whether an (M, K) x (K, N) product pays for splitting over threads: enough flops, or
    enough of B and C to move that two threads fill the memory bandwidth better than one."""
    return 2 * M * N * K >= PARALLEL_MIN_FLOPS or (K + M) * N * itemsize(dtype) >= PARALLEL_MIN_BYTES


def narrowed(t: Tiles, N: int) -> Tiles:
    """`t` with no more vectors per row than N columns fill."""
    return replace(t, nr=min(t.nr, -(-N // t.width) * t.width))


def _padded(M: int, N: int, t: Tiles) -> int:
    """Multiply-adds per k of an M x N product computed in whole tiles of `narrowed(t, N)`."""
    nr = narrowed(t, N).nr
    return -(-M // t.mr) * t.mr * -(-N // nr) * nr


def plan_gemm(M: int, N: int, K: int, dtype: str, threads: int, tiles: Optional[Tiles] = None,
              b_in_place: bool = False) -> GemmPlan:
    """The blocking of an (M, K) x (K, N) product: a register tile no wider than N;
    transposed when C^T pads much less (its stores to C then scatter, hence the margin);
    split over `threads` threads when the work pays for starting them, by column blocks
    if N is wide enough for a tile per thread, else by rows; panels row by row when the
    packed B block is small. `b_in_place`: B's (and C's) rows are contiguous, plain
    loads: a product of one row panel over whole tiles then reads B without packing it."""
    t = tiles or host_tiles(dtype)
    transposed = _padded(N, M, t) < TRANSPOSE_BELOW * _padded(M, N, t)
    if transposed:
        M, N = N, M
    t = narrowed(tiles or host_tiles(dtype, rows=M), N)
    stream_b = b_in_place and not transposed and M <= t.mr and N % t.nr == 0
    if stream_b:
        t = replace(t, kc=STREAM_KC)
    elif K < t.kc:
        t = replace(t, kc=K)
    worth = threads > 1 and worth_threads(M, N, K, dtype)
    split = None
    if worth and N >= threads * t.nr:
        split = "cols"
    elif worth and M >= threads * t.mr:
        split = "rows"
    cols = -(-N // threads) if split == "cols" else N
    rows = -(-M // (threads * t.mr)) * t.mr if split == "rows" else 0
    nc = min(-(-cols // t.nr) * t.nr, NC_MAX)
    rows_first = min(K, t.kc) * nc * itemsize(dtype) <= ROWS_FIRST_MAX_BYTES
    return GemmPlan(t, nc, transposed, split, rows, rows_first, stream_b)


def gemm_kernel(a: Buffer, b: Buffer, c: Buffer, a_pack: Buffer, b_pack: Buffer, plan: GemmPlan) -> Kernel:
    """The loop nest of c = a @ b with packing buffers sized by `plan`."""
    (M, K), N = a.shape, b.shape[1]
    ops = Operands(lambda i, k: a[i, k], lambda k, j: b[k, j], c, c.index,
                   a_rows_contiguous=a.strides[1] == 1 or a.strides[0] != 1,
                   b_rows_contiguous=b.strides[1] == 1 or b.strides[0] != 1)
    return Kernel("gemm", gemm_nest(ops, M, N, K, a_pack, b_pack, plan), flops=2 * M * N * K)


def gemm_program(M: int, N: int, K: int, dtype: str = "float32",
                 a_strides: Optional[tuple[int, int]] = None, b_strides: Optional[tuple[int, int]] = None,
                 threads: int = 1, tiles: Optional[Tiles] = None) -> Program:
    """A program `(a, b, c)` computing c = a @ b for (M, K) x (K, N) operands.

    `threads` is how many threads the blocking plans for (the number used is
    chosen per call); small products are never split. `tiles` overrides the
    host's choice (host_tiles).
    """
    plan = plan_gemm(M, N, K, dtype, threads, tiles)
    a = Buffer("a", dtype, (M, K), a_strides)
    b = Buffer("b", dtype, (K, N), b_strides)
    c = Buffer("c", dtype, (M, N))
    a_size, b_size = plan.pack_sizes
    a_pack = Buffer("a_pack", dtype, (a_size,), scope="scratch")
    b_pack = Buffer("b_pack", dtype, (b_size,), scope="scratch")
    return Program(f"gemm_{M}x{K}x{N}_{dtype}", (a, b, c, a_pack, b_pack), (gemm_kernel(a, b, c, a_pack, b_pack, plan),))
