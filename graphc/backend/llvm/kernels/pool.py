"""Max and average pooling kernels, forward and backward, over the last 1 or 2 axes.

The leading axes (any number, any strides) form the rows of a parallel loop.
Output pixels are split by where their window lies: windows wholly inside the
input ("interior", a rectangle of the output grid) are computed in a loop
vectorised over output columns with the window's taps unrolled into one
expression and no bounds checks; windows that overlap the padding ("border",
and every window when the kernel is large) run scalar loops over the taps they
reach (taps may be `dilation` apart). Max pooling, its gather and its gradient
reduce a row's interior windows into per-row scratch a vector at a time, the last
vector overlapping (no scalar tail), stride-2 columns read as contiguous runs split
into even and odd lanes by shuffles, not gathered. The
max-pool gradient keeps each window's first maximum as an offset, then adds each
window's gy there: one read-modify-write per window. Semantics follow the ops
(graphc/ops/nn/pool.py): max pooling pads with
-inf and propagates NaN, average pooling counts the padding (divides by the
kernel size), the max-pool gradient goes to each window's first maximum
(padding included in "first", NaN counting as the maximum, as numpy's argmax).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from .. import schedule as S
from ..loopir import (Accumulate, Bin, Broadcast, Buffer, Cast, Expr, If, Kernel, Let, Load, Select, Shuffle, Stmt,
                      Store, Un, Var, block, const, identity, loop, maximum, minimum)
from .conv import Epilogue, cast_to, finisher
from .harness import Space
from .simd import host_simd

#: Windows with more taps than this are reduced by loops, not one unrolled expression.
UNROLLED_TAPS = 16
#: Below this many input elements a pooling kernel stays on one thread.
PARALLEL_MIN_ELEMENTS = 1 << 19


@dataclass(frozen=True)
class PoolGeometry:
    """A pooling's sizes, 1-D problems lifted to 2-D ones of height 1; `lead` are the
    leading (unpooled) axes."""

    rank: int
    lead: tuple[int, ...]
    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    out: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)

    @staticmethod
    def of(x_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
           padding: Sequence[Sequence[int]], op: str = "pool", dilation: Sequence[int] = ()) -> "PoolGeometry":
        rank = len(kernel)
        dilation = tuple(dilation) or (1,) * rank
        if rank not in (1, 2) or len(x_shape) < rank + 1:
            raise NotImplementedError(f"{op}: native kernels pool 1 or 2 axes, got kernel {tuple(kernel)} "
                                      f"on input {tuple(x_shape)}")
        lift = (lambda t, fill: (fill,) + tuple(t)) if rank == 1 else (lambda t, fill: tuple(t))
        size, kernel2 = lift(x_shape[-rank:], 1), lift(kernel, 1)
        stride2, pads, dilation2 = lift(stride, 1), lift([tuple(p) for p in padding], (0, 0)), lift(dilation, 1)
        extent = tuple((k - 1) * d + 1 for k, d in zip(kernel2, dilation2))
        out = tuple((n + lo + hi - e) // s + 1 for n, e, s, (lo, hi) in zip(size, extent, stride2, pads))
        if min(out) < 1:
            raise ValueError(f"{op}: kernel {tuple(kernel)} is larger than the padded input {tuple(x_shape)}")
        return PoolGeometry(rank, tuple(x_shape[:-rank]), size, kernel2, stride2, pads, out, dilation2)

    @property
    def rows(self) -> int:
        return math.prod(self.lead)

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def lead_index(self, r: Expr) -> tuple[Expr, ...]:
        """The leading-axes index of flat row r."""
        out, rest = [], r
        for k, n in enumerate(reversed(self.lead)):
            last = k == len(self.lead) - 1
            out.append(rest if last else rest % n)
            rest = rest // n
        return tuple(reversed(out))

    def coords(self, r: Expr, i: Expr, j: Expr) -> tuple[Expr, ...]:
        return self.lead_index(r) + ((j,) if self.rank == 1 else (i, j))

    def at(self, buf: Buffer, r: Expr, i: Expr, j: Expr) -> Expr:
        return buf.index(*self.coords(r, i, j))

    def interior(self, axis: int) -> tuple[int, int]:
        """Output indices [lo, hi) along `axis` whose windows lie inside the input."""
        n, s, (pad, _) = self.size[axis], self.stride[axis], self.padding[axis]
        extent = (self.kernel[axis] - 1) * self.dilation[axis] + 1
        lo = min(-(-pad // s), self.out[axis])
        hi = max(lo, min(self.out[axis], (n - extent + pad) // s + 1))
        return lo, hi

    def reach(self, axis: int, o: Expr) -> tuple[Expr, Expr]:
        """Taps [lo, hi) of output index o's window along `axis` that lie inside the input
        (a tap k lies at o * stride + k * dilation - pad; every window reaches the input)."""
        n, k, s, (pad, _) = self.size[axis], self.kernel[axis], self.stride[axis], self.padding[axis]
        d = self.dilation[axis]
        if d == 1:
            return maximum(pad - o * s, 0), minimum(k, n + pad - o * s)
        return maximum((pad - o * s + d - 1) // d, 0), minimum(k, (n + pad - o * s + d - 1) // d)

    def tap_offset(self, buf: Buffer, kh: int, kw: int) -> int:
        """How far tap (kh, kw) of a window lies from its tap (0, 0) in `buf`."""
        steps = (kh * self.dilation[0], kw * self.dilation[1])
        return sum(k * s for k, s in zip(steps[2 - self.rank:], buf.strides[-self.rank:]))

    def pixel(self, axis: int, o: Expr, k: Expr) -> Expr:
        """Input index along `axis` of tap k of output index o's window."""
        d = self.dilation[axis]
        return o * self.stride[axis] + (k if d == 1 else k * d) - self.padding[axis][0]


class _Windows:
    """Loops over the output pixels of one row, interior ones vectorised, with a
    statement builder per kind of window."""

    def __init__(self, g: PoolGeometry, dtype: str, threads: int, narrow: bool = False):
        self.g, self.dtype = g, dtype
        self.r = Var("r")
        self.unrolled = g.taps <= UNROLLED_TAPS
        self.lanes = host_simd().lanes(dtype)
        # lanes of the interior loop: with `narrow`, rows narrower than a register use a
        # narrower vector (worth it where the scalar tail is costly, as max's NaN logic)
        width = g.interior(1)[1] - g.interior(1)[0]
        self.interior_lanes = max(2, min(self.lanes, 1 << max(1, width.bit_length() - 1))) if narrow else self.lanes
        self.parallel = threads > 1 and g.rows > 1 and g.rows * g.size[0] * g.size[1] >= PARALLEL_MIN_ELEMENTS

    def taps(self) -> list[tuple[int, int]]:
        return [(i, j) for i in range(self.g.kernel[0]) for j in range(self.g.kernel[1])]

    def over(self, interior: Callable[[Expr, Expr], Stmt], border: Callable[[Expr, Expr], Stmt],
             row: Optional[Callable[[Expr, int, int], Stmt]] = None) -> Stmt:
        """interior(oh, ow) on the interior rectangle (vectorised over ow), or row(oh, lo,
        hi) for its columns [lo, hi) of output row oh; border(oh, ow) on the other pixels
        (and everywhere when windows are too large to unroll)."""
        g = self.g
        (ra, rb), (ca, cb) = g.interior(0), g.interior(1)
        if not self.unrolled or ra == rb or ca == cb:
            ra = rb = ca = cb = 0
        oh, ow = Var("oh"), Var("ow")
        bh, bw, lw, rw = Var("bh"), Var("bw"), Var("lw"), Var("rw")
        full_rows = lambda v, start, stop: loop(v, stop - start, loop(bw, g.out[1], border(v, bw)), start=start)  # noqa
        middle = None
        if rb > ra:
            middle = loop(oh, rb - ra, block(
                loop(lw, ca, border(oh, lw)) if ca else None,
                row(oh, ca, cb) if row else S.vectorize(loop(ow, cb - ca, interior(oh, ow), start=ca), "ow",
                                                        self.interior_lanes),
                loop(rw, g.out[1] - cb, border(oh, rw), start=cb) if cb < g.out[1] else None), start=ra)
        return block(full_rows(bh, 0, ra) if ra else None, middle,
                     full_rows(Var("bb"), rb, g.out[0]) if rb < g.out[0] else None)

    def per_row(self, body: Stmt, name: str, flops: int) -> Kernel:
        nest = loop(self.r, self.g.rows, body)
        if self.parallel:
            nest = S.parallel(nest, "r")
        return Kernel(name, nest, flops=flops)

    def scalar_window(self, oh: Expr, ow: Expr, visit: Callable[[Expr, Expr], Stmt]) -> Stmt:
        """visit(kh, kw) for each tap of the window that lies inside the input."""
        g = self.g
        (h0, h1), (w0, w1) = g.reach(0, oh), g.reach(1, ow)
        kh, kw = Var("kh"), Var("kw")
        return loop(kh, h1 - h0, loop(kw, w1 - w0, visit(kh, kw), start=w0), start=h0)


def _reduce_op(kind: str) -> str:
    if kind not in ("max", "avg"):
        raise ValueError(f"unknown pooling {kind!r}")
    return "max" if kind == "max" else "add"


def pool_forward(kind: str, x: Buffer, out: Buffer, kernel: Sequence[int], stride: Sequence[int],
                 padding: Sequence[Sequence[int]], space: Space, dtype: Optional[str] = None,
                 epilogue: Optional[Epilogue] = None, threads: int = 1, dilation: Sequence[int] = ()) -> list[Kernel]:
    """out = finish(max or mean over each window of x); kind is "max" or "avg"."""
    dtype = dtype or out.dtype
    g = PoolGeometry.of(x.shape, kernel, stride, padding, f"{kind}_pool", dilation)
    op, finish = _reduce_op(kind), finisher(epilogue, out.dtype)
    win = _Windows(g, dtype, threads, narrow=kind == "max")
    r = win.r
    scale = const(1.0 / g.taps, dtype)
    done = (lambda v: v) if kind == "max" else (lambda v: v * scale)  # noqa: E731

    def load(oh, ow, kh, kw):
        return cast_to(Load(x, g.at(x, r, g.pixel(0, oh, kh), g.pixel(1, ow, kw))), dtype)

    def reduce(tap: Taps) -> Expr:
        value = None
        for kh, kw in win.taps():
            value = tap(x, kh, kw) if value is None else Bin(op, value, tap(x, kh, kw))
        return done(value)

    def interior(oh, ow):
        idx = g.coords(r, oh, ow)
        return Store(out, out.index(*idx), finish(reduce(lambda buf, kh, kw: load(oh, ow, const(kh), const(kw))), idx))

    acc = Buffer("acc", dtype, (1,), scope="local")

    def border(oh, ow):
        idx = g.coords(r, oh, ow)
        return block(
            Store(acc, const(0), identity(op, dtype)),
            win.scalar_window(oh, ow, lambda kh, kw: Accumulate(acc, const(0), op, load(oh, ow, kh, kw))),
            Store(out, out.index(*idx), finish(done(Load(acc, const(0))), idx)))

    row = _finished_rows(g, win, space, r, reduce, [x], out, finish, dtype)
    flops = g.rows * g.out[0] * g.out[1] * g.taps
    return [win.per_row(win.over(interior, border, row), space.name(f"{kind}_pool"), flops)]


def _finished_rows(g: PoolGeometry, win: _Windows, space: Space, r: Expr, reduce: Callable[[Taps], Expr],
                   sources: Sequence[Buffer], out: Buffer, finish: Epilogue,
                   dtype: str) -> Optional[Callable[[Expr, int, int], Stmt]]:
    """Where runs apply (_run_lanes) and pay, a row builder for win.over: the row's
    reductions into scratch by _window_rows, then out = finish(them) in a vectorised loop
    (the epilogue sees ordinary output indices). Stride-1 rows that whole vectors fill
    need no gathers and leave no scalar tail: they stay in win.over's vectorised loop."""
    lo, hi = g.interior(1)
    if not _run_lanes(g, win, sources) or (g.stride[1] == 1 and (hi - lo) % win.interior_lanes == 0):
        return None
    values = space.scratch("row", dtype, (g.out[1],))
    ow = Var("fo")

    def row(oh: Expr, lo: int, hi: int) -> Stmt:
        idx = g.coords(r, oh, ow)
        store = Store(out, out.index(*idx), finish(Load(values, ow), idx))
        return block(_window_rows(g, win, values, r, oh, lo, hi, reduce, sources, dtype),
                     S.vectorize(loop(ow, hi - lo, store, start=lo), "fo", win.interior_lanes))
    return row


def first_max(values: list[Expr], keys: Sequence[int] = ()) -> Expr:
    """keys[t] (int32; default t) of the first maximum of a window's tap values in
    row-major order, NaN counting as the maximum (numpy's argmax). Each running best
    is bound once by a Let, so the expression stays linear in the number of taps."""
    dtype = values[0].type.dtype
    keys = tuple(keys) or tuple(range(len(values)))
    best_v, best_k = Var("bv0", dtype), Var("bk0", "int32")

    def fold(t: int, bv: Var, bk: Var) -> Expr:
        if t == len(values):
            return bk
        v, nv, nk = Var(f"v{t}", dtype), Var(f"bv{t}", dtype), Var(f"bk{t}", "int32")
        take = Bin("or", v.gt(bv), Bin("and", v.ne(v), bv.eq(bv)))
        return Let(v, values[t], Let(nv, Select(take, v, bv), Let(nk, Select(take, const(keys[t], "int32"), bk),
                                                                  fold(t + 1, nv, nk))))

    return Let(best_v, values[0], Let(best_k, const(keys[0], "int32"), fold(1, best_v, best_k)))


def max_pool_grad(x: Buffer, gy: Buffer, out: Buffer, kernel: Sequence[int], stride: Sequence[int],
                  padding: Sequence[Sequence[int]], space: Space, dtype: Optional[str] = None,
                  epilogue: Optional[Epilogue] = None, threads: int = 1, dilation: Sequence[int] = ()) -> list[Kernel]:
    """out = finish(gx): each window's gy added at the window's first maximum in x."""
    return _scatter_grad("max", x, gy, out, kernel, stride, padding, space, dtype, epilogue, threads, dilation)


def avg_pool_grad(gy: Buffer, out: Buffer, kernel: Sequence[int], stride: Sequence[int],
                  padding: Sequence[Sequence[int]], space: Space, dtype: Optional[str] = None,
                  epilogue: Optional[Epilogue] = None, threads: int = 1, dilation: Sequence[int] = ()) -> list[Kernel]:
    """out = finish(gx): each window's gy spread evenly over its kernel (padding included)."""
    return _scatter_grad("avg", None, gy, out, kernel, stride, padding, space, dtype, epilogue, threads, dilation)


def _scatter_grad(kind: str, x: Optional[Buffer], gy: Buffer, out: Buffer, kernel, stride, padding,
                  space: Space, dtype: Optional[str], epilogue: Optional[Epilogue], threads: int,
                  dilation: Sequence[int]) -> list[Kernel]:
    """gx = 0, then every window adds its share of gy to the pixels it picks, then
    gx = finish(gx); one row (leading index) at a time, so rows run in parallel."""
    dtype = dtype or out.dtype
    g = PoolGeometry.of(out.shape, kernel, stride, padding, f"{kind}_pool_grad", dilation)
    win = _Windows(g, dtype, threads, narrow=kind == "max")
    r = win.r
    gx = out if out.dtype == dtype else space.workspace("gx", dtype, out.shape)
    zero = const(0.0, dtype)

    def gx_at(oh, ow, kh, kw):
        return gx.index(*g.coords(r, g.pixel(0, oh, kh), g.pixel(1, ow, kw)))

    def grad(oh, ow):
        v = cast_to(Load(gy, gy.index(*g.coords(r, oh, ow))), dtype)
        return v if kind == "max" else v * const(1.0 / g.taps, dtype)

    def xval(oh, ow, kh, kw):
        return cast_to(Load(x, g.at(x, r, g.pixel(0, oh, kh), g.pixel(1, ow, kw))), dtype)

    def spread(oh, ow):
        """Average pooling's interior window: its share of gy to every tap (max pooling's
        interior rows go through `row`)."""
        return block(*(Accumulate(gx, gx_at(oh, ow, kh, kw), "add", grad(oh, ow)) for kh, kw in win.taps()))

    # int64 offsets in memory: LLVM (znver4) loaded an int32 lane just stored from a 2-lane vector as 64 bits
    choice = space.scratch("argmax", "int64", (g.out[1],)) if kind == "max" and win.unrolled else None

    def row(oh, lo, hi):
        """choice[ow] = the offset in gx of window (oh, ow)'s first maximum from its tap
        (0, 0), vectorised; then one read-modify-write per window, at that offset."""
        ow = Var("sw")
        keys = [g.tap_offset(gx, kh, kw) for kh, kw in win.taps()]
        scatter = Accumulate(gx, gx_at(oh, ow, 0, 0) + Load(choice, ow), "add", grad(oh, ow))
        first = lambda tap: Cast(first_max([tap(x, kh, kw) for kh, kw in win.taps()], keys), "int64")  # noqa: E731
        return block(_window_rows(g, win, choice, r, oh, lo, hi, first, [x], dtype),
                     loop(ow, hi - lo, scatter, start=lo))

    found = Buffer("found", "bool", (1,), scope="local")
    top = Buffer("top", dtype, (1,), scope="local")

    def border(oh, ow):
        if kind == "avg":
            return win.scalar_window(oh, ow, lambda kh, kw: Accumulate(gx, gx_at(oh, ow, kh, kw), "add",
                                                                       grad(oh, ow)))
        return _first_max_scalar(g, win, oh, ow, lambda kh, kw: xval(oh, ow, kh, kw),
                                 lambda kh, kw: Accumulate(gx, gx_at(oh, ow, kh, kw), "add", grad(oh, ow)),
                                 found, top, dtype)

    h, w = Var("zh"), Var("zw")
    plane = lambda v, body: loop(h, g.size[0], loop(v, g.size[1], body))  # noqa: E731
    clear = plane(w, Store(gx, gx.index(*g.coords(r, h, w)), zero))
    fw = Var("fw")
    idx = g.coords(r, h, fw)
    final = None
    if epilogue is not None or gx is not out:
        final = plane(fw, Store(out, out.index(*idx), finisher(epilogue, out.dtype)(Load(gx, gx.index(*idx)), idx)))
    body = S.vectorize(block(clear, win.over(spread, border, row if kind == "max" else None), final), "zw",
                       win.lanes)
    if final is not None:
        body = S.vectorize(body, "fw", win.lanes)
    flops = g.rows * g.out[0] * g.out[1] * g.taps
    return [win.per_row(body, space.name(f"{kind}_pool_grad"), flops)]


#: A row builder's view of a window's taps: tap(buf, kh, kw) is buf's value(s) at that tap.
Taps = Callable[[Buffer, int, int], Expr]


def _run_lanes(g: PoolGeometry, win: _Windows, sources: Sequence[Buffer]) -> int:
    """How many windows one vector of a row's interior covers in _window_rows' runs (0
    where runs do not apply: a column stride above 2, columns not contiguous in a
    source, or a single interior column)."""
    lo, hi = g.interior(1)
    width = hi - lo
    lanes = min(win.lanes, 1 << (width.bit_length() - 1)) if width else 1
    unit = all(b.strides[-1] == 1 for b in sources)
    return lanes if g.stride[1] in (1, 2) and unit and lanes >= 2 and win.unrolled else 0


def _window_rows(g: PoolGeometry, win: _Windows, dst: Buffer, r: Expr, oh: Expr, lo: int, hi: int,
                 reduce: Callable[[Taps], Expr], sources: Sequence[Buffer], dtype: str) -> Stmt:
    """dst[ow] = reduce(taps of window (oh, ow)) for ow in [lo, hi), whose windows lie
    inside the `sources`, L windows at a time, the last L ending at hi (recomputing some:
    the stores are idempotent; no scalar tail). Stride-2 columns are read as runs of 2L
    contiguous elements split into even and odd lanes by a shuffle (a stride-2 vector
    load would gather element by element), stride-1 ones as vectors; other strides go
    through the vectorised loop."""
    lanes = _run_lanes(g, win, sources)
    if not lanes:
        ow = Var("cw")
        at = lambda buf, kh, kw: cast_to(Load(buf, g.at(buf, r, g.pixel(0, oh, const(kh)),  # noqa: E731
                                                       g.pixel(1, ow, const(kw)))), dtype)
        return S.vectorize(loop(ow, hi - lo, Store(dst, ow, reduce(at)), start=lo), "cw", win.interior_lanes)

    def run(j0: Expr, buf: Buffer, kh: int, kw: int) -> Expr:
        if g.stride[1] == 1:
            return cast_to(Load(buf, g.at(buf, r, g.pixel(0, oh, const(kh)), g.pixel(1, j0, const(kw))), lanes), dtype)
        # the run's elements p, p + 2, ..., p + 2L - 2 from an even column (p: the tap's parity): the first
        # vector's, then the second's, which ends at the run's last element (not past it: a row's last)
        parity = kw * g.dilation[1] % 2
        start = g.at(buf, r, g.pixel(0, oh, const(kh)), j0 * 2 + (kw * g.dilation[1] - parity - g.padding[1][0]))
        lanes_of = tuple(range(parity, lanes, 2)) + tuple(range(lanes + 1, 2 * lanes, 2))
        pair = Shuffle(Load(buf, start, lanes), Load(buf, start + (lanes - 1 + parity), lanes), lanes_of)
        return cast_to(pair, dtype)

    t = Var("ct")
    j0 = minimum(lo + t * lanes, hi - lanes)    # one loop body: the last vector moved back to end at hi
    value = reduce(lambda buf, kh, kw: run(j0, buf, kh, kw))
    return loop(t, -(-(hi - lo) // lanes), Store(dst, j0, Broadcast(value, lanes)))  # (one tap: a scalar)


def _first_max_scalar(g: PoolGeometry, win: _Windows, oh: Expr, ow: Expr, value: Callable[[Expr, Expr], Expr],
                      act: Callable[[Expr, Expr], Stmt], found: Buffer, top: Buffer, dtype: str) -> Stmt:
    """act(kh, kw) at the window's first maximum, scanning every tap in row-major
    order with padding taps as -inf (a window of -inf values can pick a padding tap,
    which then takes the gradient out of the input)."""
    zero = const(0)
    kh, kw = Var("kh"), Var("kw")
    find_max = block(Store(top, zero, identity("max", dtype)),
                     win.scalar_window(oh, ow, lambda i, j: Accumulate(top, zero, "max", value(i, j))))
    m = Load(top, zero)
    (h0, h1), (w0, w1) = g.reach(0, oh), g.reach(1, ow)
    inside = Bin("and", Bin("and", kh.ge(h0), kh.lt(h1)), Bin("and", kw.ge(w0), kw.lt(w1)))
    v = value(kh, kw)
    free = Un("not", Load(found, zero))
    mark = Store(found, zero, const(True))
    pick = If(Bin("and", free, Bin("or", v.eq(m), v.ne(v))), block(act(kh, kw), mark))
    pad_pick = If(Bin("and", free, m.eq(const(-math.inf, dtype))), mark)
    scan = loop(kh, g.kernel[0], loop(kw, g.kernel[1], If(inside, pick, pad_pick)))
    return block(find_max, Store(found, zero, const(False)), scan)


def max_pool_gather(x: Buffer, src: Buffer, out: Buffer, kernel: Sequence[int], stride: Sequence[int],
                    padding: Sequence[Sequence[int]], space: Space, dtype: Optional[str] = None,
                    epilogue: Optional[Epilogue] = None, threads: int = 1,
                    dilation: Sequence[int] = ()) -> list[Kernel]:
    """out = finish(src at each window's first maximum in x) (0 when that is a padding tap)."""
    dtype = dtype or out.dtype
    g = PoolGeometry.of(x.shape, kernel, stride, padding, "max_pool_gather", dilation)
    finish = finisher(epilogue, out.dtype)
    win = _Windows(g, dtype, threads, narrow=True)
    r = win.r
    zero = const(0.0, dtype)

    def at(buf, oh, ow, kh, kw):
        return cast_to(Load(buf, g.at(buf, r, g.pixel(0, oh, kh), g.pixel(1, ow, kw))), dtype)

    def reduce(tap: Taps) -> Expr:
        k = Var("first", "int32")
        value: Expr = zero
        for t, (kh, kw) in enumerate(win.taps()):
            value = Select(k.eq(const(t, "int32")), tap(src, kh, kw), value)
        return Let(k, first_max([tap(x, kh, kw) for kh, kw in win.taps()]), value)

    def interior(oh, ow):
        idx = g.coords(r, oh, ow)
        return Store(out, out.index(*idx), finish(reduce(lambda buf, kh, kw: at(buf, oh, ow, const(kh), const(kw))),
                                                  idx))

    found = Buffer("found", "bool", (1,), scope="local")
    top = Buffer("top", dtype, (1,), scope="local")
    picked = Buffer("picked", dtype, (1,), scope="local")

    def border(oh, ow):
        idx = g.coords(r, oh, ow)
        return block(
            Store(picked, const(0), zero),
            _first_max_scalar(g, win, oh, ow, lambda kh, kw: at(x, oh, ow, kh, kw),
                              lambda kh, kw: Store(picked, const(0), at(src, oh, ow, kh, kw)), found, top, dtype),
            Store(out, out.index(*idx), finish(Load(picked, const(0)), idx)))

    row = _finished_rows(g, win, space, r, reduce, [x, src], out, finish, dtype)
    flops = g.rows * g.out[0] * g.out[1] * g.taps
    return [win.per_row(win.over(interior, border, row), space.name("max_pool_gather"), flops)]
