"""C = A @ B as a GotoBLAS-style loop nest.

Columns of B are cut into blocks of `nc` (the parallel loop), K into blocks of
KC, rows of A into blocks of MC. Each KC x nc block of B is packed into
NR-wide panels and each MC x KC block of A into MR-tall panels (zero padded),
so the micro-kernel streams both from contiguous memory. The micro-kernel keeps
an MR x NR tile of C in vector registers (`acc`, a local indexed by constants
after unrolling) and updates it with one fma per vector per k. Strided A and B
(transposes) cost nothing extra: packing reads through the strides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .. import schedule as S
from ..loopir import (Broadcast, Buffer, Expr, Fma, If, Kernel, Load, Program, Select, Stmt, Store, Var,
                      block, ceil_div, const, loop, minimum)

#: Below this many flops the work (~0.5 ms) does not pay for a thread start.
PARALLEL_MIN_FLOPS = 4e7


@dataclass(frozen=True)
class Tiles:
    """Register tile MR x NR (NR a multiple of the vector width W) and cache blocks."""

    width: int
    mr: int
    nr: int
    kc: int
    mc: int


def host_tiles(dtype: str) -> Tiles:
    """Tiles for AVX2 + FMA (16 ymm registers: 12 accumulators, 2 of B, 1 of A)."""
    if dtype == "float32":
        return Tiles(width=8, mr=6, nr=16, kc=256, mc=120)
    return Tiles(width=4, mr=6, nr=8, kc=256, mc=96)


@dataclass(frozen=True)
class Operands:
    """What the gemm nest reads and writes, as index functions.

    `a(i, k)` and `b(k, j)` give the operands' elements (loads through any
    strides, or fused computations); `c` is the accumulator, row-major
    contiguous in its last axis, at `c_index(i, j)`; a_rows_first says
    packing A is faster row by row (A's K axis has stride 1). `finish`,
    when given, is applied once the sum is complete: `finish(i, j)` returns
    the statement storing the final element (e.g. an epilogue into the
    output), run in a loop vectorised over j.
    """

    a: Callable[[Expr, Expr], Expr]
    b: Callable[[Expr, Expr], Expr]
    c: Buffer
    c_index: Callable[[Expr, Expr], Expr]
    a_rows_first: bool = True
    finish: Optional[Callable[[Expr, Expr], Stmt]] = None


def gemm_nest(ops: Operands, M: int, N: int, K: int, a_pack: Buffer, b_pack: Buffer,
              t: Tiles, nc: int) -> Stmt:
    """The (unscheduled but unrolled) loop nest of C = A @ B for (M, K) x (K, N)."""
    dtype = ops.c.dtype
    W, MR, NR, KC, MC, NV = t.width, t.mr, t.nr, t.kc, t.mc, t.nr // t.width
    v = {n: Var(n) for n in "jc pc ic jb ib p bj bp bz aj ap az ai zi zv ki kv ti tv ei ej fi fj".split()}
    j0, p0, i0 = v["jc"] * nc, v["pc"] * KC, v["ic"] * MC
    ncur, kc, mcur = minimum(nc, N - j0), minimum(KC, K - p0), minimum(MC, M - i0)
    zero = const(0.0, dtype)

    # pack B[p0:p0+kc, j0:j0+ncur] into NR-wide panels: b_pack[jb][p][j]
    col0 = j0 + v["jb"] * NR
    nv = minimum(NR, N - col0)
    at = (v["jb"] * KC + v["bp"]) * NR
    pack_b = loop(v["jb"], ceil_div(ncur, NR), loop(v["bp"], kc, block(
        loop(v["bj"], nv, Store(b_pack, at + v["bj"], ops.b(p0 + v["bp"], col0 + v["bj"]))),
        loop(v["bz"], NR - nv, Store(b_pack, at + v["bz"], zero), start=nv))))

    # pack A[i0:i0+mcur, p0:p0+kc] into MR-tall panels: a_pack[ib][p][i]
    row0 = i0 + v["ib"] * MR
    mv = minimum(MR, M - row0)
    copy = Store(a_pack, (v["ib"] * KC + v["ap"]) * MR + v["ai"], ops.a(row0 + v["ai"], p0 + v["ap"]))
    copy = (loop(v["ai"], mv, loop(v["ap"], kc, copy)) if ops.a_rows_first
            else loop(v["ap"], kc, loop(v["ai"], mv, copy)))
    pad = loop(v["az"], MR - mv, loop(v["ap"], kc, Store(a_pack, (v["ib"] * KC + v["ap"]) * MR + v["az"], zero)),
               start=mv)
    pack_a = loop(v["ib"], ceil_div(mcur, MR), block(copy, pad))

    # micro-kernel on panels (ib, jb): acc = A panel @ B panel, then C (+)= acc
    c = ops.c
    acc = Buffer("acc", dtype, (MR * NR,), scope="local")
    tile = Buffer("tile", dtype, (MR * NR,), scope="local")
    slot = lambda i, j: v[i] * NR + v[j] * W  # noqa: E731 - acc index of row i, vector j
    accv = lambda i, j: Load(acc, slot(i, j), W)  # noqa: E731
    a_elem = Load(a_pack, (v["ib"] * KC + v["p"]) * MR + v["ki"])
    b_vec = Load(b_pack, (v["jb"] * KC + v["p"]) * NR + v["kv"] * W, W)
    init = loop(v["zi"], MR, loop(v["zv"], NV, Store(acc, slot("zi", "zv"), Broadcast(zero, W))))
    update = loop(v["p"], kc, loop(v["ki"], MR, loop(v["kv"], NV, Store(
        acc, slot("ki", "kv"), Fma(Broadcast(a_elem, W), b_vec, accv("ki", "kv"))))))
    # C (+)= acc through a tile in memory: one loop serves full and edge tiles
    c_el = ops.c_index(row0 + v["ei"], col0 + v["ej"])
    first = v["pc"].eq(0)
    spill = loop(v["ti"], MR, loop(v["tv"], NV, Store(tile, slot("ti", "tv"), accv("ti", "tv"))))
    merge = loop(v["ei"], mv, S.vectorize(loop(v["ej"], nv, Store(
        c, c_el, Select(first, zero, Load(c, c_el)) + Load(tile, v["ei"] * NR + v["ej"]))), "ej", W))
    micro = block(init, update, spill, merge)
    for name in ("zi", "zv", "ki", "kv", "ti", "tv"):
        micro = S.unroll(micro, name)
    if ops.finish is not None:
        last = v["pc"].eq(ceil_div(K, KC) - 1) if K > KC else None
        done = loop(v["fi"], mv, S.vectorize(loop(v["fj"], nv, ops.finish(row0 + v["fi"], col0 + v["fj"])), "fj", W))
        micro = block(micro, done if last is None else If(last, done))

    pack_b = S.vectorize(pack_b, "bj", W)
    return loop(v["jc"], ceil_div(N, nc), loop(v["pc"], ceil_div(K, KC), block(
        pack_b, loop(v["ic"], ceil_div(M, MC), block(pack_a, loop(v["jb"], ceil_div(ncur, NR),
                                                                   loop(v["ib"], ceil_div(mcur, MR), micro)))))))


def plan_blocks(M: int, N: int, K: int, dtype: str, threads: int, tiles: Optional[Tiles] = None) -> tuple[Tiles, int, bool]:
    """(tiles, nc, parallel): the blocking for a product, split over threads when it pays."""
    t = tiles or host_tiles(dtype)
    parallel = threads > 1 and 2 * M * N * K >= PARALLEL_MIN_FLOPS and N >= 2 * t.nr
    split = threads if parallel else 1
    cols = -(-N // split)
    nc = min(-(-cols // t.nr) * t.nr, 4096)
    return t, nc, parallel


def gemm_kernel(a: Buffer, b: Buffer, c: Buffer, a_pack: Buffer, b_pack: Buffer,
                t: Tiles, nc: int, parallel: bool) -> Kernel:
    """The loop nest of c = a @ b with packing buffers sized for `t` and `nc`."""
    (M, K), N = a.shape, b.shape[1]
    ops = Operands(lambda i, k: a[i, k], lambda k, j: b[k, j], c, c.index, a.strides[1] == 1)
    body = gemm_nest(ops, M, N, K, a_pack, b_pack, t, nc)
    if parallel:
        body = S.parallel(body, "jc")
    return Kernel("gemm", body, flops=2 * M * N * K)


def gemm_program(M: int, N: int, K: int, dtype: str = "float32",
                 a_strides: Optional[tuple[int, int]] = None, b_strides: Optional[tuple[int, int]] = None,
                 threads: int = 1, tiles: Optional[Tiles] = None) -> Program:
    """A program `(a, b, c)` computing c = a @ b for (M, K) x (K, N) operands.

    `threads` is how many threads the blocking plans for (the number used is
    chosen per call); small products are never split.
    """
    t, nc, parallel = plan_blocks(M, N, K, dtype, threads, tiles)
    a = Buffer("a", dtype, (M, K), a_strides)
    b = Buffer("b", dtype, (K, N), b_strides)
    c = Buffer("c", dtype, (M, N))
    a_pack = Buffer("a_pack", dtype, (t.mc * t.kc,), scope="scratch")
    b_pack = Buffer("b_pack", dtype, (nc * t.kc,), scope="scratch")
    kernel = gemm_kernel(a, b, c, a_pack, b_pack, t, nc, parallel)
    return Program(f"gemm_{M}x{K}x{N}_{dtype}", (a, b, c, a_pack, b_pack), (kernel,))
