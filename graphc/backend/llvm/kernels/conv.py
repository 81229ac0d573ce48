"""Convolution kernels: forward, input gradient and weight gradient, each a
register-blocked direct correlation.

All three are one computation over a 2-D output grid g and 2-D taps t (a 1-D
convolution is 2-D with one row):

    out[b, o, g] = sum over c, t of src[b, c, g * step + t * dilation + shift] * filt[o, c, t]

- forward: b image, c input channel, o output channel, g output pixel, t kernel
  tap, step the stride; src the zero-padded input, filt the weight.
- weight gradient: b input channel, c image, o output channel, g kernel tap,
  t output pixel, dilation the stride; src the padded input, filt gy.
- input gradient: one correlation per stride phase of the input pixels (one at
  stride 1): phase r of an axis holds pixels i*s + r - pad, reached by the taps
  r, r+s, ...; its correlation runs over the zero-padded gy with those taps
  flipped, so no work is spent on the zeros a dilated gy would hold. Phases
  with the same number of taps share one kernel (at most 4 kernels in 2-D).
  A stride-2 axis whose two column phases share one kernel and one size (a
  transposed convolution's 2x2 or 4x4 upsampling) has each work item compute
  both; the channels kernel interleaves their tiles with shuffles into one
  contiguous run per channel and row (`Correlation.interleave`) instead of
  storing every output two apart.

Two micro-kernels, chosen by which wastes fewer vector lanes:
- "channels": vectors over W output channels (the filter packed so they are
  contiguous), a tile of W positions x TO channel vectors in registers, each
  reduction step TO vector loads, W broadcasts and W*TO fmas; the tile is then
  transposed in registers (log2 W shuffle stages) so each channel's W
  positions are stored as one vector. Positions run over the output grids of
  all images flattened, so lanes idle only in the very last tile. Any stride.
- "positions" (step 1 only, for few output channels): vectors over positions
  of the grid flattened with the source's row length (outputs past a row's end
  are computed and dropped), a tile of OB channels x NV vectors, each step NV
  vector loads, OB broadcasts of filter values and OB*NV fmas.
Either way the outputs are stored through the fused epilogue in a vectorised
loop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable, Optional, Sequence

from .. import schedule as S
from ..loopir import (Broadcast, Buffer, Cast, Expr, ExprLike, Fma, For, If, Kernel, Let, Load, Prefetch, Select, Shuffle,
                      Stmt, Store, Var, as_expr, block, const, const_value, itemsize, linear_coeff, loop, maximum, minimum,
                      rewrite, substitute, walk)
from .harness import Space
from .simd import host_simd

#: Below this much work (~0.06 ms on one core) a kernel stays on one thread. With the pool's
#: spinning workers MobileNetV2's step at 2 threads took 41 -> 37 ms (2e7 before); 2e6 gave 35
#: ms, but 1.15x its one-thread step beside a spinning process (6e6: 0.93-1.02x).
PARALLEL_MIN_FLOPS = 6e6
#: Tap loops are unrolled while a reduction step stays under this many vector fmas.
UNROLL_FMAS = 128
#: Packs of at least this many bytes are shared among threads: an output gradient packed for
#: the weight gradient was written by every thread, and one thread reading it all ran slower
#: on two threads than alone (the CIFAR CNN's 8 MiB packs: 0.87 -> 1.28 ms).
PACK_PARALLEL_BYTES = 1 << 20
#: Registers kept free of accumulators (filter vectors, broadcasts, addresses).
FREE_REGISTERS = 6

Epilogue = Callable[[Expr, tuple[Expr, ...]], Expr]
#: (b, c, row, col) -> flat element index into a source buffer.
SrcIndex = Callable[[Expr, Expr, Expr, Expr], Expr]
#: (b, o, gh, gw) -> the output tensor's index of that correlation output.
OutCoords = Callable[[Expr, Expr, Expr, Expr], tuple[Expr, ...]]
#: (phase, o, c, th, tw) -> the filter value, an expression over the caller's buffers.
FilterValue = Callable[[Expr, Expr, Expr, Expr, Expr], Expr]


# ---------------------------------------------------------------- geometry

@dataclass(frozen=True)
class ConvGeometry:
    """A convolution's sizes, 1-D problems lifted to 2-D ones of height 1. `cin` and
    `cout` count the channels of one group."""

    rank: int
    batch: int
    cin: int
    cout: int
    size: tuple[int, int]
    kernel: tuple[int, int]
    out: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    @staticmethod
    def of(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int],
           padding: Sequence[Sequence[int]], dilation: Sequence[int] = (), groups: int = 1,
           op: str = "conv") -> "ConvGeometry":
        rank = len(x_shape) - 2
        dilation = tuple(dilation) or (1,) * rank
        if (rank not in (1, 2) or len(w_shape) != rank + 2 or len(stride) != rank or len(padding) != rank
                or len(dilation) != rank):
            raise NotImplementedError(
                f"{op}: native kernels cover 1-D and 2-D convolutions, got input {tuple(x_shape)}, "
                f"weight {tuple(w_shape)}, stride {tuple(stride)}")
        lift = (lambda t, fill: (fill,) + tuple(t)) if rank == 1 else (lambda t, fill: tuple(t))
        size, kernel = lift(x_shape[2:], 1), lift(w_shape[2:], 1)
        strides, pads, dils = lift(stride, 1), lift([tuple(p) for p in padding], (0, 0)), lift(dilation, 1)
        out = tuple((n + lo + hi - (k - 1) * d - 1) // s + 1
                    for n, k, s, (lo, hi), d in zip(size, kernel, strides, pads, dils))
        if min(out) < 1:
            raise ValueError(f"{op}: kernel {tuple(w_shape[2:])} is larger than the padded input {tuple(x_shape)}")
        return ConvGeometry(rank, x_shape[0], x_shape[1] // groups, w_shape[0] // groups, size, kernel, out,
                            strides, pads, dils, groups)

    def at(self, buf: Buffer, b: Expr, c: Expr, row: Expr, col: Expr) -> Expr:
        """Flat index of spatial element (row, col) of an (N, C, *spatial) buffer of this rank."""
        return buf.index(b, c, col) if self.rank == 1 else buf.index(b, c, row, col)

    def coords(self, b: Expr, c: Expr, row: Expr, col: Expr) -> tuple[Expr, ...]:
        return (b, c, col) if self.rank == 1 else (b, c, row, col)

    @property
    def padded(self) -> bool:
        return any(lo or hi for lo, hi in self.padding)

    def extent(self, axis: int) -> int:
        """The span of the dilated kernel along `axis` (0 rows, 1 columns)."""
        return (self.kernel[axis] - 1) * self.dilation[axis] + 1


    def in_group(self, channel: Expr, per_group: int) -> Expr:
        """`channel` of the current group (GROUP) as a channel of the whole tensor."""
        return channel if self.groups == 1 else GROUP * per_group + channel


#: The group a correlation's phase belongs to, named in `src_at` and `out_at`.
GROUP = Var("grp")


# ---------------------------------------------------------------- the correlation

@dataclass(frozen=True)
class Correlation:
    """out[b, o, g] = sum over c, t of src[b, c, g*step + t*dilation + shift] * filt[o, c, t]
    for b < batch, o < outs, c < chans, g in `grid`, t in `taps`.

    With `phases` > 1 the kernel runs that many correlations of the same taps;
    `shift` and `out_at` may then use variables named in `phase_vars`, each given
    as a function of the phase index (the grid is the same for all).
    `filt` is the packed filter (pack_filter); `src_at` and `out_at` say where
    a source element and an output live; `tap_at`, if given, replaces the elements
    from a window's origin to tap (i, j) (a source split into stride phases is not
    affine in the tap). `stage`, if given (positions micro-kernel only), fills a
    per-thread `src` at the start of each work item with what its tiles read (one
    image's planes of the item's group), so the source is never copied whole. `rows_inside`, if given, are the
    source rows [lo, hi) outside which the source is zero padding: the channels kernel
    skips the tap rows that reach only padding for all of a tile's positions.

    `interleave`, given m column offsets (a permutation of 0 .. m-1), has each work item
    compute m consecutive phases, phase k's output at grid column gw lying at output
    column gw*m + interleave[k] (a stride-m input gradient's column phases): the
    channels micro-kernel then interleaves their tiles into contiguous stores instead of
    storing each phase's outputs m apart.
    """

    batch: int
    chans: int
    outs: int
    grid: tuple[int, int]
    taps: tuple[int, int]
    src: Buffer
    src_at: SrcIndex
    filt: Buffer
    out: Buffer
    out_at: OutCoords
    flops: int
    step: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    shift: tuple[ExprLike, ExprLike] = (0, 0)
    phases: int = 1
    phase_vars: tuple[tuple[str, Callable[[Expr], Expr]], ...] = ()
    tap_at: Optional[Callable[[Expr, Expr], Expr]] = None
    stage: Optional["Stage"] = None
    rows_inside: Optional[tuple[int, int]] = None
    interleave: tuple[int, ...] = ()

    @cached_property
    def src_strides(self) -> tuple[int, int]:
        """Elements between consecutive source rows and columns."""
        z = const(0)
        strides = (linear_coeff(self.src_at(z, z, Var("sr"), z), "sr"), linear_coeff(self.src_at(z, z, z, Var("sc")), "sc"))
        if None in strides:
            raise ValueError(f"the source index is not affine in its row and column: {strides}")
        return strides

    def tap_offset(self, i: Expr, j: Expr) -> Expr:
        """Elements from a window's origin to its tap (i, j)."""
        if self.tap_at is not None:
            return self.tap_at(i, j)
        rs, cs = self.src_strides
        return i * (self.dilation[0] * rs) + j * (self.dilation[1] * cs)


@dataclass(frozen=True)
class Stage:
    """A correlation's source made per work item: `fill(image)` the statements filling it
    for the item's image (and group, GROUP); `prefetch(image, phase, part, parts)` those
    fetching part `part` of `parts` of what fill(image) reads for the phase's group into
    the caches (each tile of an item prefetches a part of the next item's source)."""

    fill: Callable[[Expr], Stmt]
    prefetch: Callable[[Expr, Expr, Expr, Expr], Stmt]


@dataclass(frozen=True)
class Plan:
    """Which micro-kernel and its register tile.

    kind "channels": `count` vectors of `lanes` output channels x `lanes` positions;
    kind "positions": `block` output channels x `count` vectors of `lanes` positions.
    """

    kind: str
    lanes: int
    count: int
    block: int

    @property
    def positions(self) -> int:
        return self.lanes if self.kind == "channels" else self.lanes * self.count


def plan_for(dtype: str, outs: int, grid_w: int, row_len: Optional[int], micro: Optional[str] = None,
             grid_h: int = 0) -> Plan:
    """The micro-kernel that keeps more lanes busy, or the one `micro` names. `row_len`
    is the source row length when the positions kernel is possible (step 1), else None.
    Given the grid's height `grid_h`, the positions tile is no longer than one grid's
    span of positions needs (small images would otherwise compute mostly dropped lanes)."""
    simd = host_simd()
    W = simd.lanes(dtype)
    vectors = max(1, min((simd.registers - FREE_REGISTERS) // W, -(-outs // W)))
    channels = Plan("channels", W, vectors, W * vectors)
    if micro not in (None, "channels", "positions"):
        raise ValueError(f"unknown micro-kernel {micro!r}")
    if micro == "positions" and row_len is None:
        raise ValueError("the positions micro-kernel needs step 1")
    if micro == "channels" or row_len is None:
        return channels
    busy_channels = outs / (-(-outs // W) * W)
    busy_positions = grid_w / row_len
    if micro is None and busy_positions <= busy_channels:
        return channels
    budget = simd.registers - 8
    ob = min(outs, max(1, budget // 4))
    count = max(2, min(12, budget // ob))
    if grid_h:
        vectors_spanned = -(-((grid_h - 1) * row_len + grid_w) // W)
        count = min(count, -(-vectors_spanned // -(-vectors_spanned // count)))   # tiles of equal size
    return Plan("positions", W, count, ob)


def transpose(rows: list[Expr], stage: Callable[[int, int, Expr], Stmt],
              load: Callable[[int, int], Expr]) -> list[Stmt]:
    """Statements transposing W vectors of W lanes: lane j of `rows[r]` becomes lane r
    of result j. Each of the log2 W stages swaps the off-diagonal blocks of every
    2b x 2b block with one shuffle per row; `stage(k, r, value)` stores row r of
    stage k and `load(k, r)` reads it back (registers in practice)."""
    width = len(rows)
    out: list[Stmt] = []
    cur, b, k = list(rows), width // 2, 0
    while b >= 1:
        lo = tuple(j if j & b == 0 else width + j - b for j in range(width))
        hi = tuple(j + b if j & b == 0 else width + j for j in range(width))
        for r in range(width):
            if r & b == 0:
                out.append(stage(k, r, Shuffle(cur[r], cur[r + b], lo)))
                out.append(stage(k, r + b, Shuffle(cur[r], cur[r + b], hi)))
        cur = [load(k, r) for r in range(width)]
        b, k = b // 2, k + 1
    return out


def whole_block(total: int, size: int, partial: Expr) -> Expr:
    """The length of a block of `size` of `total` (`partial`, the block's own) as a constant when
    every block has it (`total` a multiple of `size`) or there is one block: then LLVM gets
    no tails, edge loops or zero padding to optimise that never run."""
    if total <= size:
        return const(total)
    return const(size) if total % size == 0 else partial


def fill_transposed(panel: Buffer, at: Callable[[Expr, Expr], Expr], value: Callable[[Expr, Expr], Expr],
                     W: int, cols: Expr, depth: Expr) -> Stmt:
    """panel[at(j, p)] = value(j, p) for j < cols, p < depth, from an operand whose p axis is
    the contiguous one: each W x W block is read as W vectors along p and transposed in
    registers; the edges go one element at a time."""
    rows = Buffer("bt_rows", panel.dtype, (W * W,), scope="local")
    stages = [Buffer(f"bt_stage{k}", panel.dtype, (W * W,), scope="local") for k in range(2)]
    g, pb, r, q, j, p = (Var(n) for n in ("btg", "btb", "btr", "btq", "btj", "btp"))
    last = W.bit_length() - 2           # log2(W) stages

    def stage(k: int, row: int, result: Expr) -> Stmt:
        if k == last:                   # result `row` is panel row pb*W + row, columns g*W ...
            return Store(panel, at(g * W, pb * W + row), result)
        return Store(stages[k % 2], const(row * W), result)

    read = loop(r, W, S.vectorize(loop(q, W, Store(rows, r * W + q, value(g * W + r, pb * W + q))), q.name, W))
    flips = transpose([Load(rows, const(row * W), W) for row in range(W)], stage,
                      lambda k, row: Load(stages[k % 2], const(row * W), W))
    elem = Store(panel, at(j, p), value(j, p))
    full_cols, full_depth = cols // W * W, depth // W * W
    return block(loop(g, cols // W, loop(pb, depth // W, block(read, *flips))),
                 loop(j, full_cols, loop(p, depth - full_depth, elem, start=full_depth)),
                 loop(j, cols - full_cols, loop(p, depth, elem), start=full_cols))


class _Nest:
    """What both micro-kernels share: the parallel loop over work items (phase,
    output-channel block, image, chunk of tiles), tap unrolling, tile loop."""

    def __init__(self, spec: Correlation, plan: Plan, threads: int, per_image: bool, tiles: Expr, tiles_max: int):
        self.spec, self.plan = spec, plan
        NOB = -(-spec.outs // plan.block)
        self.NI = spec.batch if per_image else 1
        self.together = len(spec.interleave) or 1           # phases of one work item
        base = spec.phases // self.together * NOB * self.NI
        self.parallel = threads > 1 and spec.flops >= PARALLEL_MIN_FLOPS
        chunked = self.parallel and base < 4 * threads and spec.stage is None   # a stage is one per item
        nqc = min(tiles_max, -(-4 * threads // base)) if chunked else 1
        self.TPC = -(-tiles_max // nqc) if tiles_max else 1
        self.NQC = -(-tiles_max // self.TPC) if tiles_max else 1
        self.items = base * self.NQC
        self.it = it = Var("it")
        self.phase = it // (NOB * self.NI * self.NQC) if spec.phases > self.together else const(0)
        self.ob = (it // (self.NI * self.NQC)) % NOB if NOB > 1 else const(0)
        self.img = (it // self.NQC) % self.NI if self.NI > 1 else const(0)
        if spec.stage is not None:      # items in memory order of their sources: phase (group) fastest
            self.phase, self.img = self.staged_item(it)
        self.qc = it % self.NQC if self.NQC > 1 else const(0)
        self.tiles = tiles
        TH, TW = spec.taps
        per_tap = (plan.lanes if plan.kind == "channels" else plan.block) * plan.count   # fmas per tap
        self.unroll_w = TW * per_tap <= UNROLL_FMAS
        self.unroll_h = self.unroll_w and TH * TW * per_tap <= UNROLL_FMAS
        self.c, self.th, self.tw = Var("c"), Var("th"), Var("tw")
        rows = range(TH) if self.unroll_h else [self.th]
        cols = range(TW) if self.unroll_w else [self.tw]
        self.taps = [(as_expr(i), as_expr(j)) for i in rows for j in cols]

    def reduce_over(self, steps: list[Stmt], tap_rows: Optional[tuple[Expr, Expr]] = None) -> Stmt:
        """`steps` (one reduction step, unrolled taps) in the loops over channels and other taps;
        the tap rows [tap_rows) only, if given and the rows are a loop."""
        nest: Stmt = block(*steps)
        if not self.unroll_w:
            nest = loop(self.tw, self.spec.taps[1], nest)
        if not self.unroll_h:
            lo, hi = tap_rows or (const(0), as_expr(self.spec.taps[0]))
            nest = loop(self.th, maximum(hi - lo, 0), nest, start=lo)
        return loop(self.c, self.spec.chans, nest)

    def staged_item(self, it: Expr) -> tuple[Expr, Expr]:
        """(phase, image) of work item `it` of a staged correlation."""
        phases = self.spec.phases
        return (it % phases, it // phases) if phases > 1 else (const(0), it)

    def sub_phase(self, k: int) -> Expr:
        """The phase index of the work item's k-th phase."""
        return self.phase * self.together + k if self.together > 1 else self.phase

    def at_phase(self, stmt: Stmt, k: int) -> Stmt:
        """`stmt` with the phase variables of the work item's k-th phase."""
        return substitute(stmt, {n: fn(self.sub_phase(k)) for n, fn in self.spec.phase_vars})

    def filt_origin(self, k: int = 0) -> Expr:
        z = const(0)
        return self.spec.filt.index(self.sub_phase(k), self.ob, self.c, z, z, z)

    def filt_offset(self, i: Expr, j: Expr, lane: int) -> Expr:
        z = const(0)
        return self.spec.filt.index(z, z, z, i, j, const(lane))

    def kernel(self, name: str, tile: Callable[[Expr], Stmt], vector_loop: str) -> Kernel:
        tl = Var("tl")
        stage = self.spec.stage
        if stage is not None:
            phase, img = self.staged_item(minimum(self.it + 1, self.items - 1))
            tile = lambda tl, each=tile: block(each(tl), stage.prefetch(img, phase, tl, self.tiles))  # noqa: E731
        tiles: Stmt = loop(tl, minimum(self.TPC, self.tiles - self.qc * self.TPC), tile(tl), start=self.qc * self.TPC)
        if stage is not None:
            tiles = block(stage.fill(self.img), tiles)
        body: Stmt = S.vectorize(loop(self.it, self.items, tiles), vector_loop, self.plan.lanes)
        if self.spec.phase_vars:
            body = self.at_phase(body, 0)
        if self.parallel and self.items > 1:
            body = S.parallel(body, "it")
        # One correlation (no groups or stride phases): its loops address a dozen rows at once,
        # where LLVM's loop strength reduction costs half the code generation and lengthens
        # the inner loop; with phases (grouped, depthwise) it shortens the loop. (jit.emit_object)
        return Kernel(name, body, flops=self.spec.flops, strength_reduce=self.spec.phases > 1)


def correlate(spec: Correlation, plan: Plan, dtype: str, finish: Epilogue, name: str, threads: int = 1) -> Kernel:
    """The kernel computing `spec` with `plan`'s micro-kernel; each output is stored
    as finish(value, its index in spec.out)."""
    if spec.filt.shape[-1] != plan.block:
        raise ValueError(f"{name}: filter packed {spec.filt.shape[-1]} channels wide, the plan needs {plan.block}")
    if plan.kind == "positions":
        return _by_positions(spec, plan, dtype, finish, name, threads)
    if spec.stage is not None:
        raise ValueError(f"{name}: a staged source needs the positions micro-kernel")
    return _by_channels(spec, plan, dtype, finish, name, threads)


def _by_channels(spec: Correlation, plan: Plan, dtype: str, finish: Epilogue, name: str, threads: int) -> Kernel:
    W, TO, VO = plan.lanes, plan.count, plan.block
    B, O = spec.batch, spec.outs
    GH, GW = (as_expr(n) for n in spec.grid)
    plane = GH * GW
    Q = plane * B                        # positions of all images, flattened
    nest = _Nest(spec, plan, threads, False, (Q + (W - 1)) // W, -(-spec.grid[0] * spec.grid[1] * B // W))
    zero = const(0.0, dtype)

    def decode(q: Expr) -> tuple[Expr, Expr, Expr]:
        return q // plane, (q // GW) % GH, q % GW

    # a tile (W positions from a multiple of W) inside one image whose rows it spans whole or
    # that holds whole tiles: its positions are the first one's plus constant rows and columns
    cols, area = const_value(GW), const_value(plane)
    in_rows = area is not None and area % W == 0 and (cols % W == 0 or W % cols == 0)

    def decode_at(q0: Expr, p: int) -> tuple[Expr, Expr, Expr]:
        """(image, grid row, grid column) of position q0 + p (the grid's last past its end)."""
        if not in_rows:
            return decode(minimum(q0 + p, Q - 1))
        b, gh, gw = decode(q0)
        return (b, gh + p // cols, gw + p % cols) if W % cols == 0 else (b, gh, gw + p)

    # an image's outputs of one channel are consecutive in the output (interleaved with
    # the other phases'): a tile within one image (one row) stores each channel as one vector
    probe = spec.out.index(*spec.out_at(Var("pb"), Var("po"), Var("pgh"), Var("pgw")))
    together = nest.together
    contiguous = (linear_coeff(probe, "pgw") == together
                  and (together > 1 or linear_coeff(probe, "pgh") == spec.grid[1]))
    if together > 1 and not (contiguous and together == 2 and sorted(spec.interleave) == [0, 1]):
        raise ValueError(f"{name}: phases interleave only by pairs with unit column steps")
    acc = Buffer("acc", dtype, (W * TO * W,), scope="local")
    stages = [Buffer(f"tr{k}", dtype, (W * W,), scope="local") for k in range(2)]
    tile = Buffer("tile", dtype, (together * VO * W,), scope="local")
    slot = lambda p, t: const((p * TO + t) * W)  # noqa: E731 - acc index of position p, channel vector t
    (sh, sw), (fh, fw) = spec.step, spec.shift
    xb, fb, z = Var("xb"), Var("fb"), const(0)

    def reduction(q0: Expr, k: int) -> Stmt:
        """acc = sums of the item's phase k at positions q0 .. q0+W-1; positions past the
        grid repeat its last one (computed, never stored)."""
        steps = []
        for p in range(W):
            b, gh, gw = decode_at(q0, p)
            origin = spec.src_at(b, nest.c, gh * sh + fh, gw * sw + fw)
            for t in range(TO):
                value: Expr = Load(acc, slot(p, t), W)
                for i, j in nest.taps:
                    xs = Load(spec.src, xb + spec.tap_offset(i, j))
                    wv = Load(spec.filt, fb + nest.filt_offset(i, j, t * W), W)
                    value = Fma(Broadcast(xs, W), wv, value)
                steps.append(Store(acc, slot(p, t), Let(xb, origin, Let(fb, nest.filt_origin(k), value))))
        init = [Store(acc, slot(p, t), Broadcast(zero, W)) for p in range(W) for t in range(TO)]
        return nest.at_phase(block(*init, nest.reduce_over(steps, tap_rows(q0))), k)

    def tap_rows(q0: Expr) -> Optional[tuple[Expr, Expr]]:
        """The tap rows reaching a source row inside `rows_inside` from some grid row of the
        tile's (all rows when the tile spans two images)."""
        if spec.rows_inside is None or nest.unroll_h:
            return None
        (b0, gh0, _), (b1, gh1, _) = decode(q0), decode(minimum(q0 + (W - 1), Q - 1))
        one_image = b0.eq(b1)
        first, last = Select(one_image, gh0, const(0)), Select(one_image, gh1, GH - 1)
        (lo, hi), dh = spec.rows_inside, spec.dilation[0]
        # tap th reaches source row gh*sh + fh + th*dh
        return maximum(-((last * sh + fh - lo) // dh), 0), minimum((hi - 1 - first * sh - fh) // dh + 1, spec.taps[0])

    def flip(k: int) -> list[Stmt]:
        """tile[k*VO*W + o*W + p] = the sum of position p, channel o (a register transpose per vector)."""
        out: list[Stmt] = []
        last = (W - 1).bit_length() - 1
        for t in range(TO):
            def stage(s, r, value, t=t):
                if s == last:
                    return Store(tile, const(((k * TO + t) * W + r) * W), value)
                return Store(stages[s % 2], const(r * W), value)

            out += transpose([Load(acc, slot(p, t), W) for p in range(W)], stage,
                             lambda s, r: Load(stages[s % 2], const(r * W), W))
        return out

    j, p = Var("j"), Var("p")
    o = nest.ob * VO + j
    channels = minimum(VO, O - nest.ob * VO)

    def stores(values: Callable[[Expr], Expr], index: Expr, coords: tuple[Expr, ...], count: Expr) -> Stmt:
        """out[index] = finish(values(p), coords) for p < count, over the block's channels j."""
        return loop(j, channels, loop(p, count, Store(spec.out, index, finish(values(p), coords))))

    def from_tile(k: int) -> Callable[[Expr], Expr]:
        return lambda q: Load(tile, (k * VO + j) * W + q)

    def scattered(q0: Expr, k: int) -> Stmt:
        """The item's phase k, each output where its coordinates put it."""
        b, gh, gw = decode(q0 + p)
        coords = spec.out_at(b, o, gh, gw)
        return nest.at_phase(stores(from_tile(k), spec.out.index(*coords), coords, minimum(W, Q - q0)), k)

    def along_plane(q0: Expr, count: Expr) -> Stmt:
        """A tile within one image: each channel's outputs one run along its plane."""
        b0 = q0 // plane
        at = q0 + p - b0 * plane
        coords = spec.out_at(b0, o, at // GW, at % GW)
        return stores(from_tile(0), spec.out.index(*spec.out_at(b0, o, z, z)) + at, coords, count)

    def along_rows(q0: Expr, count: Expr) -> Stmt:
        """The tile's two phases interleaved: in each grid row the tile covers, each
        channel's outputs one run along the output row, from the first output of the
        phase of column offset 0."""
        pairs = Buffer("pairs", dtype, (VO * 2 * W,), scope="local")
        order = [spec.interleave.index(c) for c in range(2)]
        even, odd = (Load(tile, (k * VO + j) * W, W) for k in order)
        lanes = [(q, W + q) for q in range(W)]
        mix = loop(j, channels, block(
            Store(pairs, j * (2 * W), Shuffle(even, odd, sum(lanes[:W // 2], ()))),
            Store(pairs, j * (2 * W) + W, Shuffle(even, odd, sum(lanes[W // 2:], ())))))
        r = Var("sr")
        row = q0 // GW + r                   # rows of all images, flattened
        lo, hi = maximum(q0, row * GW), minimum(q0 + count, row * GW + GW)
        first = spec.out_at(row // GH, o, row % GH, lo - row * GW)
        coords = first[:-1] + (first[-1] + p,)
        run = stores(lambda q: Load(pairs, j * (2 * W) + 2 * (lo - q0) + q), spec.out.index(*first) + p, coords,
                     2 * (hi - lo))
        rows = (q0 + count - 1) // GW - q0 // GW + 1
        return block(mix, loop(r, rows, nest.at_phase(run, order[0])))

    def store(q0: Expr) -> Stmt:
        count = minimum(W, Q - q0)
        if together > 1:
            return along_rows(q0, count)
        if not contiguous:
            return scattered(q0, 0)
        return If((q0 // plane).eq((q0 + count - 1) // plane), along_plane(q0, count), scattered(q0, 0))

    def tile_body(tl: Expr) -> Stmt:
        work = [s for k in range(together) for s in (reduction(tl * W, k), *flip(k))]
        return block(*work, store(tl * W))

    return nest.kernel(name, tile_body, "p")


def _by_positions(spec: Correlation, plan: Plan, dtype: str, finish: Epilogue, name: str, threads: int) -> Kernel:
    W, NV, OB = plan.lanes, plan.count, plan.block
    TILE = W * NV
    RS, CS = spec.src_strides
    if spec.step != (1, 1) or CS != 1:
        raise ValueError(f"{name}: the positions kernel needs step 1 and unit column stride")
    GH, GW = (as_expr(n) for n in spec.grid)
    span = (GH - 1) * RS + GW            # positions u = gh * RS + gw, gw < GW kept
    span_max = (spec.grid[0] - 1) * RS + spec.grid[1]
    nest = _Nest(spec, plan, threads, True, (span + (TILE - 1)) // TILE, -(-span_max // TILE))
    zero = const(0.0, dtype)
    acc = Buffer("acc", dtype, (OB * TILE,), scope="local")
    tile = Buffer("tile", dtype, (OB * TILE,), scope="local")
    slot = lambda o, v: const(o * TILE + v * W)  # noqa: E731
    fh, fw = spec.shift
    xb, fb = Var("xb"), Var("fb")

    def reduction(u0: Expr) -> Stmt:
        origin = spec.src_at(nest.img, nest.c, as_expr(fh), as_expr(fw)) + u0
        steps = []
        for o in range(OB):
            for v in range(NV):
                value: Expr = Load(acc, slot(o, v), W)
                for i, j in nest.taps:
                    xv = Load(spec.src, xb + spec.tap_offset(i, j) + v * W, W)
                    f = Load(spec.filt, fb + nest.filt_offset(i, j, o))
                    value = Fma(Broadcast(f, W), xv, value)
                steps.append(Store(acc, slot(o, v), Let(xb, origin, Let(fb, nest.filt_origin(), value))))
        init = [Store(acc, slot(o, v), Broadcast(zero, W)) for o in range(OB) for v in range(NV)]
        keep = [Store(tile, slot(o, v), Load(acc, slot(o, v), W)) for o in range(OB) for v in range(NV)]
        return block(*init, nest.reduce_over(steps), *keep)

    def store(u0: Expr) -> Stmt:
        """Each kept position of the tile, row by row."""
        j, r, g = Var("j"), Var("r"), Var("g")
        row0 = u0 // RS
        rows = minimum(GH - 1, (u0 + (TILE - 1)) // RS) - row0 + 1
        gh = row0 + r
        lo = maximum(u0 - gh * RS, 0)
        hi = minimum(GW, u0 + TILE - gh * RS)
        o = nest.ob * OB + j
        coords = spec.out_at(nest.img, o, gh, g)
        value = finish(Load(tile, j * TILE + gh * RS + g - u0), coords)
        return loop(j, minimum(OB, spec.outs - nest.ob * OB), loop(r, rows, loop(
            g, hi - lo, Store(spec.out, spec.out.index(*coords), value), start=lo)))

    return nest.kernel(name, lambda tl: block(reduction(tl * TILE), store(tl * TILE)), "g")


def slack_rows(plan: Plan, row_len: int) -> int:
    """Rows past a source plane the positions kernel may read (values unused)."""
    return 0 if plan.kind == "channels" else plan.positions // row_len + 2


def off_page(rows: int, row_len: int, dtype: str) -> int:
    """`rows`, or one more when planes of that many rows would be whole 4 KiB pages: the
    channels kernel reads one element per channel plane, and planes a page apart all fall
    in one set of the L1 cache, so a 32x32 float32 source missed it at every channel."""
    return rows + 1 if rows * row_len * itemsize(dtype) % 4096 == 0 else rows


# ---------------------------------------------------------------- packing

def cast_to(value: Expr, dtype: str) -> Expr:
    return value if value.type.dtype == dtype else Cast(value, dtype)


def pack_filter(space: Space, dtype: str, phases: int, outs: int, chans: int, taps: tuple[int, int],
                value_at: FilterValue, plan: Plan, threads: int = 1) -> tuple[Buffer, Kernel]:
    """filt[ph, ob, c, th, tw, j] = value_at(ph, ob*block + j, c, th, tw), zero past `outs`:
    a micro-kernel step then reads its channels contiguously. When each output channel's
    values are unit-stride runs over (th, tw) (one run over (c, th, tw) for a contiguous
    weight; one per image for an output gradient packed for the weight gradient), the
    block is whole vectors wide and there are W outputs or more (fewer would all go one
    element at a time), W x W blocks are read along the runs and transposed in registers;
    else the copy gathers along j. A pack of PACK_PARALLEL_BYTES or more (an output gradient,
    just written by every thread) is shared among `threads` threads by (phase, block, run)."""
    VO, NOB = plan.block, -(-outs // plan.block)
    W = host_simd().lanes(dtype)
    filt = space.workspace("filt", dtype, (phases, NOB, chans, taps[0], taps[1], VO))
    ph, ob, c, th, tw, j, z = (Var(n) for n in ("ph", "ob", "c", "th", "tw", "j", "z"))
    valid = whole_block(outs, VO, minimum(VO, outs - ob * VO))
    span = taps[0] * taps[1]
    runs = _filter_runs(value_at, chans, taps)
    joined = runs is not None and (chans == 1 or runs[1] == span)     # one run over (c, th, tw)
    depth = chans * span if joined else span
    if runs is not None and VO % W == 0 and depth >= W and outs >= W:
        start, step = runs
        p, run = Var("fp"), const(0) if joined else c
        at = lambda jj, pp: filt.index(ph, ob, run, 0, 0, 0) + pp * VO + jj  # noqa: E731
        along = (lambda pp: pp) if joined else (lambda pp: c * step + pp)  # noqa: E731
        value = lambda jj, pp: cast_to(Load(start(ph, ob * VO + jj).buf,  # noqa: E731
                                            start(ph, ob * VO + jj).index + along(pp)), dtype)
        fill = block(fill_transposed(filt, at, value, W, valid, depth),
                     loop(p, depth, loop(z, VO - valid, Store(filt, at(z, p), const(0.0, dtype)), start=valid)))
        runs_each = 1 if joined else chans
        if threads > 1 and filt.size * itemsize(dtype) >= PACK_PARALLEL_BYTES:
            item = Var("pfi")
            where = {"ph": item // (NOB * runs_each), "ob": item // runs_each % NOB, "c": item % runs_each}
            body = S.parallel(loop(item, phases * NOB * runs_each, substitute(fill, where)), item.name)
        else:
            body = loop(ph, phases, loop(ob, NOB, fill if joined else loop(c, chans, fill)))
        return filt, Kernel(space.name("pack_filter"), body)
    at = (ph, ob, c, th, tw)
    copy = loop(j, valid, filt.store(at + (j,), cast_to(value_at(ph, ob * VO + j, c, th, tw), dtype)))
    pad = loop(z, VO - valid, filt.store(at + (z,), const(0.0, dtype)), start=valid)
    body = loop(ph, phases, loop(ob, NOB, loop(c, chans, loop(th, taps[0], loop(tw, taps[1], block(copy, pad))))))
    return filt, Kernel(space.name("pack_filter"), S.vectorize(body, "j", W))


def _filter_runs(value_at: FilterValue, chans: int,
                 taps: tuple[int, int]) -> Optional[tuple[Callable[[Expr, Expr], Load], Optional[int]]]:
    """((ph, o) -> the load of value_at(ph, o, 0, 0, 0), step) when value_at(ph, o, c, th, tw)
    is that load's element c*step + th*TW + tw (a unit-stride run over the taps per output
    channel and channel), else None."""
    names = ("fph", "fo", "fc", "fth", "ftw")
    probe = value_at(*(Var(n) for n in names))
    if not isinstance(probe, Load):
        return None
    steps = {"fth": (taps[0], taps[1]), "ftw": (taps[1], 1)}
    if any(n > 1 and linear_coeff(probe.index, name) != step for name, (n, step) in steps.items()):
        return None
    step = linear_coeff(probe.index, "fc") if chans > 1 else 0
    if step is None:
        return None
    z = const(0)
    return (lambda ph, o: value_at(ph, o, z, z, z)), step


def padded_plane(store: Callable[[Expr, Expr, Expr], Stmt], value_at: Callable[[Expr, Expr], Expr],
                  shape: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int], dtype: str) -> Stmt:
    """store(i, j, value) for every i < L, j < M of `shape` (L, M): value_at(i, j) for i in
    [rows) and j in [cols), else 0. Zero and copied runs are loops of their own, so no
    element is tested."""
    L, M = shape
    (ilo, ihi), (jlo, jhi) = rows, cols
    zero = const(0.0, dtype)
    i0, i1, i2, ja, jb, jc, jz0, jz2 = (Var(n) for n in ("i0", "i1", "i2", "ja", "jb", "jc", "jz0", "jz2"))
    copy_row = block(
        loop(ja, jlo, store(i1, ja, zero)),
        loop(jb, jhi - jlo, store(i1, jb, cast_to(value_at(i1, jb), dtype)), start=jlo),
        loop(jc, M - jhi, store(i1, jc, zero), start=jhi))
    return block(
        loop(i0, ilo, loop(jz0, M, store(i0, jz0, zero))),
        loop(i1, ihi - ilo, copy_row, start=ilo),
        loop(i2, L - ihi, loop(jz2, M, store(i2, jz2, zero)), start=ihi))


#: The loops of padded_plane and _column_pairs that run along a row: vectorised.
_ROW_LOOPS = ("jz0", "jz2", "ja", "jb", "jc")


def vectorize_rows(body: Stmt, dtype: str) -> Stmt:
    """`body`, a nest of padded_plane or phase_planes copies, with its row loops vectorised.
    A run of a known length that stores values read from elsewhere ends in one vector
    overlapping the one before it (writing some elements twice, with the same values), and
    a run shorter than a vector goes in the widest vectors it fills: the rows of 7x7 to
    14x14 images were scalar copies otherwise (a 14-wide row was 14 scalar steps)."""
    lanes = host_simd().lanes(dtype)

    def visit(n):
        if isinstance(n, For) and n.var.name in _ROW_LOOPS:
            return _overlapping_run(n, lanes) or replace(n, kind="vectorize", width=lanes)
        return None

    return rewrite(body, visit, skip=lambda n: isinstance(n, Expr))


def _overlapping_run(f: For, lanes: int) -> Optional[Stmt]:
    """Loop `f` as whole vectors of the widest power-of-two width up to `lanes` that its
    length fills, the last one ending where the run ends; None (vectorise as usual) unless
    its length is known, needs a tail and its body is one store of a value that does not
    read the stored buffer."""
    n, body = const_value(f.extent), f.body
    if n is None or n < 4 or not isinstance(body, Store) or \
            any(isinstance(x, Load) and x.buf.storage == body.buf.storage for x in walk(body.value)):
        return None
    width = min(lanes, 1 << (n.bit_length() - 1))
    if n % width == 0 and width == lanes:
        return None
    last = Var(f.var.name + "_last")
    whole = replace(f, extent=const(n // width * width), kind="vectorize", width=width)
    tail = For(last, f.start + (n - width), const(width), substitute(body, {f.var.name: last}), "vectorize", width)
    return block(whole, tail if n % width else None)


def copy_kernel(space: Space, tag: str, body: Stmt, dtype: str, parallel: bool) -> Kernel:
    """A nest of padded_plane copies over images b, with its column loops vectorised and
    parallel over images if `parallel`."""
    body = vectorize_rows(body, dtype)
    return Kernel(space.name(tag), S.parallel(body, "b") if parallel else body)


def _valid_run(length: int, first: int, step: int, size: int) -> tuple[int, int]:
    """[lo, hi) of the k < length with 0 <= k * step + first < size."""
    lo = min(max(-(-(-first) // step), 0), length)
    return lo, min(max((size - 1 - first) // step + 1, lo), length)


def pad_copy(space: Space, dtype: str, shape: tuple[int, int, int, int], value_at: SrcIndex,
             size: tuple[int, int], shift: tuple[int, int], threads: int = 1) -> tuple[Buffer, Kernel]:
    """dst[b, c, i, j] = value_at(b, c, i - shift_h, j - shift_w) where that lies inside the
    source's `size`, else 0; dst has `shape` (B, C, L, M)."""
    B, C, L, M = shape
    dst = space.workspace("padded", dtype, shape)
    (ah, aw), b, c = shift, Var("b"), Var("c")
    plane = padded_plane(lambda i, j, v: dst.store((b, c, i, j), v), lambda i, j: value_at(b, c, i - ah, j - aw),
                          (L, M), _valid_run(L, -ah, 1, size[0]), _valid_run(M, -aw, 1, size[1]), dtype)
    parallel = threads > 1 and B > 1 and B * C * L * M >= 1 << 18
    return dst, copy_kernel(space, "pad", loop(b, B, loop(c, C, plane)), dtype, parallel)


def phase_copy(space: Space, dtype: str, shape: tuple[int, int, int, int], value_at: SrcIndex,
               size: tuple[int, int], padding: tuple[int, int], stride: tuple[int, int],
               threads: int = 1) -> tuple[Buffer, Kernel]:
    """The zero-padded source split into its stride phases, so strided taps become
    unit-stride reads: dst[b, c, ph, i, j] = xpad[b, c, i*sh + ph // sw, j*sw + ph % sw]
    with xpad[r, q] = value_at(b, c, r - pad_h, q - pad_w) inside `size`, else 0. Each
    phase plane is `shape`'s (L, M)."""
    B, C, L, M = shape
    (sh, sw) = stride
    dst = space.workspace("phased", dtype, (B, C, sh * sw, L, M))
    b, c = Var("b"), Var("c")
    planes = phase_planes(lambda k, i, j, v: dst.store((b, c, k, i, j), v), lambda r, q: value_at(b, c, r, q),
                          (L, M), size, padding, stride, dtype)
    parallel = threads > 1 and B > 1 and B * C * sh * sw * L * M >= 1 << 18
    return dst, copy_kernel(space, "pad", loop(b, B, loop(c, C, planes)), dtype, parallel)


def phase_planes(put: Callable[[int, Expr, Expr, Expr], Stmt], value_at: Callable[[Expr, Expr], Expr],
                 shape: tuple[int, int], size: tuple[int, int], padding: tuple[int, int],
                 stride: tuple[int, int], dtype: str) -> Stmt:
    """One source plane split into its stride phases: put(ph, i, j, xpad[i*sh + ph // sw,
    j*sw + ph % sw]) for i, j < `shape` (L, M), with xpad[r, q] = value_at(r - pad_h, q - pad_w)
    inside `size`, else 0. Stride-2 columns go two vectors at a time (_column_pairs)."""
    L, M = shape
    (sh, sw), (ph_, pw) = stride, padding
    pairs = (sw == 2 and _unit_columns(value_at(Var("pr"), Var("pq")), "pq")
             and _pair_run(_column_runs(M, pw, size[1]))[1] >= host_simd().lanes(dtype))
    planes = []
    for rh in range(sh):
        rows = _valid_run(L, rh - ph_, sh, size[0])
        if pairs:
            planes.append(_column_pairs(lambda k, i, j, v, rh=rh: put(rh * sw + k, i, j, v),
                                        lambda i, q, rh=rh: value_at(i * sh + rh - ph_, q),
                                        (L, M), rows, pw, size[1], dtype))
            continue
        planes += [padded_plane(lambda i, j, v, k=rh * sw + rw: put(k, i, j, v),
                                lambda i, j, rh=rh, rw=rw: value_at(i * sh + rh - ph_, j * sw + rw - pw),
                                (L, M), rows, _valid_run(M, rw - pw, sw, size[1]), dtype)
                   for rw in range(sw)]
    return block(*planes)


def _unit_columns(value: Expr, column: str) -> bool:
    """Whether `value` is one load whose index steps by 1 along `column`."""
    return isinstance(value, Load) and linear_coeff(value.index, column) == 1


def _column_pairs(put: Callable[[int, Expr, Expr, Expr], Stmt], value_at: Callable[[Expr, Expr], Expr],
                  shape: tuple[int, int], rows: tuple[int, int], pad: int, width: int, dtype: str) -> Stmt:
    """The column phases 0 and 1 (stride 2) of one row phase: put(0 or 1, i, j,
    value_at(i, 2*j + phase - pad)) inside the source's `width` columns and source rows
    `rows`, else 0. Where both phases are inside, W pairs of columns are one run of 2W
    source elements: two vector loads, split into even and odd lanes by two shuffles (a
    stride-2 vector load would gather element by element). For rows of 2W columns or
    more: the edges go one element at a time."""
    L, M = shape
    W = host_simd().lanes(dtype)
    runs = _column_runs(M, pad, width)
    lo, count = _pair_run(runs)
    hi = lo + count
    full = count // W * W                               # columns [lo, lo + full) go W pairs at a time
    zero = const(0.0, dtype)
    i, t, ja, jb, jc, jd, i0, i2, jz0, jz2 = (Var(n) for n in ("pi", "pt", "ja", "jb", "jc", "jd", "i0", "i2", "jz0",
                                                                "jz2"))
    q0 = 2 * (lo + t * W) - pad
    src = value_at(i, q0)
    first, second = Load(src.buf, src.index, W), Load(src.buf, src.index + W, W)
    split = lambda j0, a, b: block(*(put(k, i, j0, cast_to(Shuffle(a, b, tuple(range(k, 2 * W, 2))), dtype))  # noqa: E731
                                     for k in (0, 1)))
    vectors = loop(t, full // W, split(lo + t * W, first, second))
    if full < count:                                    # the rest: W pairs ending at hi, overlapping
        last = value_at(i, 2 * (hi - W) - pad)
        vectors = block(vectors, split(hi - W, Load(last.buf, last.index, W), Load(last.buf, last.index + W, W)))
    edges = []
    for k, (jlo, jhi) in enumerate(runs):
        value = lambda j, k=k: cast_to(value_at(i, 2 * j + k - pad), dtype)  # noqa: E731
        end = max(hi if full else lo, jlo)
        edges += [loop(ja, jlo, put(k, i, ja, zero)),
                  loop(jb, max(0, min(lo, jhi) - jlo), put(k, i, jb, value(jb)), start=jlo),
                  loop(jd, max(0, jhi - end), put(k, i, jd, value(jd)), start=end),
                  loop(jc, M - jhi, put(k, i, jc, zero), start=jhi)]
    (ilo, ihi) = rows
    blank = lambda row, j: block(*(put(k, row, j, zero) for k in (0, 1)))  # noqa: E731
    return block(loop(i0, ilo, loop(jz0, M, blank(i0, jz0))),
                 loop(i, ihi - ilo, block(vectors if full else None, *edges), start=ilo),
                 loop(i2, L - ihi, loop(jz2, M, blank(i2, jz2)), start=ihi))


def _column_runs(length: int, pad: int, width: int) -> list[tuple[int, int]]:
    """[lo, hi) of the phase columns j < length of stride-2 column phases 0 and 1 whose
    source columns (2j - pad and 2j + 1 - pad) lie inside the source's `width` columns."""
    return [_valid_run(length, rw - pad, 2, width) for rw in (0, 1)]


def _pair_run(runs: list[tuple[int, int]]) -> tuple[int, int]:
    """(first, count) of the columns inside both of `runs` (_column_runs)."""
    lo, hi = max(r[0] for r in runs), min(r[1] for r in runs)
    return lo, max(0, hi - lo)


def fill_kernel(name: str, out: Buffer, grid: tuple[ExprLike, ...], coords: Callable[..., tuple[Expr, ...]],
                value: Expr, finish: Epilogue) -> Kernel:
    """out[coords(*g)] = finish(value, coords(*g)) for every g in `grid`."""
    vars_ = [Var(f"g{k}") for k in range(len(grid))]
    idx = coords(*vars_)
    body: Stmt = Store(out, out.index(*idx), finish(value, idx))
    for v, n in reversed(list(zip(vars_, grid))):
        body = loop(v, n, body)
    return Kernel(name, S.vectorize(body, vars_[-1].name, host_simd().lanes(out.dtype)))


def finisher(epilogue: Optional[Epilogue], out_dtype: str) -> Epilogue:
    """The epilogue, or a cast to the output's dtype when there is none."""
    if epilogue is not None:
        return epilogue
    return lambda value, idx: cast_to(value, out_dtype)


# ---------------------------------------------------------------- the three ops

def groups_as_phases(groups: int, inner: int = 1) -> tuple[tuple[str, Callable[[Expr], Expr]], ...]:
    """Phase variables running `groups` groups of `inner` phases each: GROUP is the outer index."""
    return ((GROUP.name, lambda ph: ph // inner if inner > 1 else ph),) if groups > 1 else ()


def conv_forward(x: Buffer, w: Buffer, out: Buffer, stride: Sequence[int], padding: Sequence[Sequence[int]],
                 space: Space, dtype: Optional[str] = None, epilogue: Optional[Epilogue] = None,
                 threads: int = 1, micro: Optional[str] = None, dilation: Sequence[int] = (),
                 groups: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(conv(x, w)) for x (N, Cin, *size), w (Cout, Cin/groups, *kernel).

    `dtype` is the accumulation dtype (the op's result dtype; default out's); `threads`
    how many threads to plan for; `micro` forces a micro-kernel (else chosen by shape).
    Each group is a phase of one correlation.
    """
    dtype = dtype or out.dtype
    g = ConvGeometry.of(x.shape, w.shape, stride, padding, dilation, groups)
    (plh, phh), (plw, phw) = g.padding
    (sh, sw), (dh, dw) = g.stride, g.dilation
    rows, cols = g.size[0] + plh + phh, g.size[1] + plw + phw
    split = (-(-rows // sh), -(-cols // sw))           # a stride phase's plane
    plan = plan_for(dtype, g.cout, g.out[1], split[1], micro, g.out[0])
    kernels = []
    load_x = lambda b, c, i, j: Load(x, g.at(x, b, c, i, j))  # noqa: E731
    tap_at = None
    stage, inside = None, None
    if plan.kind == "positions" and g.stride != (1, 1):
        # unit-stride reads: output (gh, gw) and tap (i, j) read phase (i*dh % sh, j*dw % sw)
        # at (gh + i*dh // sh, gw + j*dw // sw)
        plane = (split[0] + slack_rows(plan, split[1]), split[1])
        phase = lambda i, j: (i * dh) % sh * sw + (j * dw) % sw  # noqa: E731
        if _stages_phases(g, plan, plane, dtype):
            src = space.scratch("phase_tile", dtype, (g.cin, sh * sw) + plane)
            src_at = lambda b, c, i, j: src.index(c, 0, i, j)  # noqa: E731
            tap_at = lambda i, j: src.index(0, phase(i, j), (i * dh) // sh, (j * dw) // sw)  # noqa: E731
            stage = Stage(lambda b: _phase_stage(src, lambda c, r, q: load_x(b, g.in_group(c, g.cin), r, q), g, dtype),
                          lambda b, grp, part, parts: prefetch_rows(
                              x, lambda m, q: g.at(x, b, grp * g.cin + m // g.size[0], m % g.size[0], q),
                              (g.cin * g.size[0], g.size[1]), part, parts))
        else:
            shape = (g.batch, g.cin * groups) + plane
            src, k = phase_copy(space, dtype, shape, load_x, g.size, (plh, plw), g.stride, threads)
            src_at = lambda b, c, i, j: src.index(b, g.in_group(c, g.cin), 0, i, j)  # noqa: E731
            tap_at = lambda i, j: src.index(0, 0, phase(i, j), (i * dh) // sh, (j * dw) // sw)  # noqa: E731
            kernels.append(k)
    elif g.padded or x.dtype != dtype or plan.kind == "positions":
        shape = (g.batch, g.cin * groups, rows + slack_rows(plan, cols), cols)
        src, k = pad_copy(space, dtype, shape, load_x, g.size, (plh, plw), threads)
        kernels.append(k)
        src_at = lambda b, c, i, j: src.index(b, g.in_group(c, g.cin), i, j)  # noqa: E731
        inside = (plh, plh + g.size[0])
    else:
        src, src_at = x, lambda b, c, i, j: g.at(x, b, g.in_group(c, g.cin), i, j)  # noqa: E731
    filt, k = pack_filter(space, dtype, groups, g.cout, g.cin, g.kernel,
                          lambda ph, o, c, i, j: Load(w, g.at(w, ph * g.cout + o, c, i, j)), plan)
    kernels.append(k)
    flops = 2 * g.batch * g.cout * groups * g.out[0] * g.out[1] * g.cin * g.kernel[0] * g.kernel[1]
    spec = Correlation(g.batch, g.cin, g.cout, g.out, g.kernel, src, src_at, filt, out,
                       lambda b, o, i, j: g.coords(b, g.in_group(o, g.cout), i, j), flops,
                       step=(1, 1) if tap_at else g.stride, dilation=g.dilation, phases=groups,
                       phase_vars=groups_as_phases(groups), tap_at=tap_at, stage=stage, rows_inside=inside)
    kernels.append(correlate(spec, plan, dtype, finisher(epilogue, out.dtype), space.name("conv"), threads))
    return kernels


#: The most bytes of one image's stride-phase planes (of one group) copied inside the
#: correlation, per work item, instead of the whole input at once (they stay in L1/L2).
STAGE_BYTES = 1 << 17
#: ... and the fewest input pixels per plane: depthwise 3x3 stride 2 at batch 32, staged
#: against whole: 4x4 images 1.2-2x slower, 8x8 0.9-1.1x, 16x16 1.2x and 56x56 1.9x faster.
STAGE_MIN_PIXELS = 100


def _stages_phases(g: ConvGeometry, plan: Plan, plane: tuple[int, int], dtype: str) -> bool:
    """Whether the strided forward copies each work item's phase planes itself: its items
    cover all output channels of a group (else each would copy them again) and the
    planes are small."""
    planes = g.cin * g.stride[0] * g.stride[1] * plane[0] * plane[1]
    return (g.cout <= plan.block and planes * itemsize(dtype) <= STAGE_BYTES
            and g.size[0] * g.size[1] >= STAGE_MIN_PIXELS)


def prefetch_rows(buf: Buffer, at: Callable[[Expr, Expr], Expr], shape: tuple[int, int], part: Expr,
                  parts: ExprLike) -> Stmt:
    """Prefetches of part `part` of `parts` of the rows m < shape[0] of elements buf[at(m, q)],
    q < shape[1] (unit stride along q): each row's every cache line."""
    rows, cols = shape
    per_line = max(1, 64 // itemsize(buf.dtype))
    m, q = Var("pfm"), Var("pfq")
    first = part * rows // parts
    line = Prefetch(buf, at(m, minimum(q * per_line, cols - 1)))      # the last element's line too
    return loop(m, (part + 1) * rows // parts - first, loop(q, -(-cols // per_line) + 1, line), start=first)


def _phase_stage(src: Buffer, value_at: Callable[[Expr, Expr, Expr], Expr], g: ConvGeometry, dtype: str) -> Stmt:
    """src[c, ph] = the stride phases of one image's zero-padded plane of channel c of a group."""
    c = Var("sc")
    put = lambda k, i, j, v: src.store((c, k, i, j), v)  # noqa: E731
    planes = phase_planes(put, lambda r, q: value_at(c, r, q), src.shape[2:], g.size,
                          (g.padding[0][0], g.padding[1][0]), g.stride, dtype)
    return vectorize_rows(loop(c, g.cin, planes), dtype)


def conv_weight_grad(x: Buffer, gy: Buffer, out: Buffer, stride: Sequence[int], padding: Sequence[Sequence[int]],
                     space: Space, dtype: Optional[str] = None, epilogue: Optional[Epilogue] = None,
                     threads: int = 1, dilation: Sequence[int] = (), groups: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(dL/dw) of conv(x, w) given gy = dL/dy; out is (Cout, Cin/groups, *kernel)."""
    dtype = dtype or out.dtype
    g = ConvGeometry.of(x.shape, out.shape, stride, padding, dilation, groups)
    plan = plan_for(dtype, g.cout, g.kernel[1], None)
    kernels = []
    # only the padded rows and columns some output pixel reaches
    rows = (g.out[0] - 1) * g.stride[0] + g.extent(0)
    cols = (g.out[1] - 1) * g.stride[1] + g.extent(1)
    if g.padded or x.dtype != dtype:
        src, k = pad_copy(space, dtype, (g.batch, g.cin * groups, rows, cols),
                          lambda b, c, i, j: Load(x, g.at(x, b, c, i, j)), g.size,
                          (g.padding[0][0], g.padding[1][0]), threads)
        kernels.append(k)
        src_at = lambda c, n, i, j: src.index(n, g.in_group(c, g.cin), i, j)  # noqa: E731
    else:
        src, src_at = x, lambda c, n, i, j: g.at(x, n, g.in_group(c, g.cin), i, j)  # noqa: E731
    filt, k = pack_filter(space, dtype, groups, g.cout, g.batch, g.out,
                          lambda ph, o, n, i, j: Load(gy, g.at(gy, n, ph * g.cout + o, i, j)), plan, threads)
    kernels.append(k)
    flops = 2 * g.batch * g.cout * groups * g.out[0] * g.out[1] * g.cin * g.kernel[0] * g.kernel[1]
    spec = Correlation(g.cin, g.batch, g.cout, g.kernel, g.out, src, src_at, filt, out,
                       lambda c, o, i, j: g.coords(g.in_group(o, g.cout), c, i, j), flops,
                       step=g.dilation, dilation=g.stride, phases=groups, phase_vars=groups_as_phases(groups))
    kernels.append(correlate(spec, plan, dtype, finisher(epilogue, out.dtype), space.name("conv_wgrad"), threads))
    return kernels


@dataclass(frozen=True)
class Phases:
    """The stride phases r0 .. r0+count-1 of one axis that have `taps` kernel taps.

    Phase r holds the input pixels i*s + r - pad_lo for i = first(r) .. first(r)+size(r)-1.
    With dilation d and e = gcd(s, d), the taps reaching them are k = k0 + t*(s/e) for
    t < taps (k0 the least tap with k0*d = r mod s), and tap t reads output pixel
    i + offset - t*(d/e). Phases are grouped (count > 1) only without dilation, where
    k0 = r and the offset is 0, and only phases of one size, so a kernel's grid is
    constant (its position decoding divides by constants).
    """

    r0: int
    count: int
    taps: int
    stride: int
    pad_lo: int
    length: int
    k0: int = 0
    offset: int = 0
    tap_step: int = 1
    spacing: int = 1

    def first(self, r: Expr) -> Expr:
        return (self.pad_lo - r + (self.stride - 1)) // self.stride

    @property
    def pixels(self) -> int:
        """Pixels of each phase of the group (all of one size)."""
        return self._static()[0][1]

    def columns(self) -> Optional[tuple[int, ...]]:
        """When this group holds all `stride` phases: each phase's offset in a run of
        `stride` pixels (pixel i*s + r - pad_lo of phase r is (i - first)*s + offset, the
        offsets a permutation of 0 .. s-1), else None."""
        if self.count != self.stride:
            return None
        return tuple(first * self.stride + r - self.pad_lo
                     for r, (first, _) in zip(range(self.r0, self.r0 + self.count), self._static()))

    def _static(self) -> list[tuple[int, int]]:
        """(first, size) of each phase of the group, r0 first."""
        out = []
        for r in range(self.r0, self.r0 + self.count):
            first = -(-(self.pad_lo - r) // self.stride)
            out.append((first, max(0, (self.length - 1 + self.pad_lo - r) // self.stride - first + 1)))
        return out

    def tap(self, r: Expr, flipped: Expr) -> Expr:
        """The kernel tap of flipped tap index `flipped` (taps - 1 - t) in phase r."""
        return self.k0 + (r - self.r0) + (self.taps - 1 - flipped) * self.tap_step

    @property
    def reach(self) -> int:
        """How far before its pixel's own output row the phase's first flipped tap reads."""
        return (self.taps - 1) * self.spacing - self.offset

    def bounds(self) -> tuple[int, int, int]:
        """(pixels of a phase, least first, most first) over this group."""
        first, _ = zip(*self._static())
        return self.pixels, min(first), max(first)


def phase_groups(length: int, kernel: int, stride: int, pad_lo: int, dilation: int = 1) -> list[Phases]:
    """The phases of one axis, those of one tap count and one size grouped when there is
    no dilation."""
    e = math.gcd(stride, dilation)
    step, spacing = stride // e, dilation // e
    groups: list[Phases] = []
    for r in range(stride):
        k0 = next((k for k in range(step) if (k * dilation - r) % stride == 0), None)
        taps = 0 if k0 is None else max(0, -(-(kernel - k0) // step))
        offset = 0 if k0 is None else (r - k0 * dilation) // stride
        alone = Phases(r, 1, taps, stride, pad_lo, length, k0 or 0, offset, step, spacing)
        if dilation == 1 and groups and groups[-1].taps == taps and groups[-1].pixels == alone.pixels:
            last = groups[-1]
            groups[-1] = Phases(last.r0, last.count + 1, taps, stride, pad_lo, length, last.k0, 0, step, 1)
        else:
            groups.append(alone)
    return groups


def conv_input_grad(gy: Buffer, w: Buffer, out: Buffer, stride: Sequence[int], padding: Sequence[Sequence[int]],
                    space: Space, dtype: Optional[str] = None, epilogue: Optional[Epilogue] = None,
                    threads: int = 1, micro: Optional[str] = None, dilation: Sequence[int] = (),
                    groups: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(dL/dx) of conv(x, w) given gy = dL/dy; out is (N, Cin, *size).

    Phase r of an axis (taps k = k0 + t*step, t < T, see Phases): dx[i*s + r - pad] =
    sum over t of gy[i + offset - t*spacing] * w[k], a correlation over gy zero padded
    by A (the most any phase reaches back) with the taps flipped: source row
    u + v*spacing + first(r) + offset + A - (T-1)*spacing for position u = i - first(r)
    and flipped tap v = T - 1 - t. Groups multiply the phases.
    """
    dtype = dtype or out.dtype
    g = ConvGeometry.of(out.shape, w.shape, stride, padding, dilation, groups)
    finish = finisher(epilogue, out.dtype)
    axes = [phase_groups(n, k, s, lo, d)
            for n, k, s, (lo, _), d in zip(g.size, g.kernel, g.stride, g.padding, g.dilation)]
    A = [max(0, max(p.reach for p in groups if p.taps)) if any(p.taps for p in groups) else 0 for groups in axes]
    # source rows read: u + v*spacing + shift < size + first + offset + A over every group
    extent = [max(p.bounds()[0] + p.bounds()[2] + p.offset + a for p in groups) for groups, a in zip(axes, A)]
    plan = plan_for(dtype, g.cin, max(p.bounds()[0] for p in axes[1]), extent[1], micro,
                    max(p.bounds()[0] for p in axes[0]))
    kernels: list[Kernel] = []
    src_holder: list[Buffer] = []

    def source() -> Buffer:
        if not src_holder:
            rows = off_page(extent[0] + slack_rows(plan, extent[1]), extent[1], dtype)
            shape = (g.batch, g.cout * groups, rows, extent[1])
            buf, k = pad_copy(space, dtype, shape, lambda b, c, i, j: Load(gy, g.at(gy, b, c, i, j)),
                              g.out, tuple(A), threads)
            kernels.append(k)
            src_holder.append(buf)
        return src_holder[0]

    rh, rw = Var("rh"), Var("rw")
    for ph_h in axes[0]:
        for ph_w in axes[1]:
            def coords(n, c, i, j, ph_h=ph_h, ph_w=ph_w):
                return g.coords(n, g.in_group(c, g.cin),
                                (i + ph_h.first(rh)) * g.stride[0] + rh - g.padding[0][0],
                                (j + ph_w.first(rw)) * g.stride[1] + rw - g.padding[1][0])

            nw = ph_w.count
            inner = ph_h.count * nw
            phase_vars = (("rh", lambda ph, p=ph_h, nw=nw, inner=inner: p.r0 + (ph % inner) // nw),
                          ("rw", lambda ph, p=ph_w, nw=nw: p.r0 + ph % nw)) + groups_as_phases(groups, inner)
            grid = (ph_h.pixels, ph_w.pixels)
            if not grid[0] or not grid[1]:
                continue
            if not (ph_h.taps and ph_w.taps):
                kernels.append(_zero_phases(space.name("conv_dgrad_zero"), out, g.batch, g.cin, groups * inner,
                                            phase_vars, grid, coords, dtype, finish))
                continue
            src = source()
            Th, Tw = ph_h.taps, ph_w.taps

            def value_at(ph, c, o, i, j, ph_h=ph_h, ph_w=ph_w, nw=nw, inner=inner):
                r_h, r_w = ph_h.r0 + (ph % inner) // nw, ph_w.r0 + ph % nw
                return Load(w, g.at(w, (ph // inner) * g.cout + o, c, ph_h.tap(r_h, i), ph_w.tap(r_w, j)))

            filt, k = pack_filter(space, dtype, groups * inner, g.cin, g.cout, (Th, Tw), value_at, plan)
            kernels.append(k)
            pairs = ph_w.columns() if plan.kind == "channels" and ph_w.count == 2 else None
            flops = 2 * g.batch * g.cin * g.cout * Th * Tw * groups * inner * grid[0] * grid[1]
            shift = tuple(p.first(r) + p.offset + a - (p.taps - 1) * p.spacing
                          for p, r, a in zip((ph_h, ph_w), (rh, rw), A))
            spec = Correlation(
                g.batch, g.cout, g.cin, grid, (Th, Tw), src,
                lambda b, c, i, j, src=src: src.index(b, g.in_group(c, g.cout), i, j),
                filt, out, coords, flops, dilation=(ph_h.spacing, ph_w.spacing), shift=shift,
                phases=groups * inner, phase_vars=phase_vars, rows_inside=(A[0], A[0] + g.out[0]),
                interleave=pairs or ())
            kernels.append(correlate(spec, plan, dtype, finish, space.name("conv_dgrad"), threads))
    return kernels


def _zero_phases(name: str, out: Buffer, batch: int, chans: int, phases: int, phase_vars, grid, coords,
                 dtype: str, finish: Epilogue) -> Kernel:
    """Pixels no kernel tap reaches (kernel smaller than the stride): finish(0)."""
    ph = Var("zph")
    kernel = fill_kernel(name, out, (batch, chans) + tuple(grid), coords, const(0.0, dtype), finish)
    body = substitute(kernel.body, {n: fn(ph) for n, fn in phase_vars})
    return Kernel(name, loop(ph, phases, body))
