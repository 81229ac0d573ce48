"""The weight gradient of a depthwise convolution (one input channel per group), a
kernel of its own; its strided input gradient as one unit-stride correlation; and its
forward pass on small images with vectors along the channels.

The general weight-gradient correlation vectorises over output channels and kernel
taps; a depthwise layer has one output channel per group (or a few) and nine taps, so
most of its lanes would idle. Here every tap's sum runs in vector lanes along the
output pixels instead:

    gw[o, 0, kh, kw] = sum over n, u of xs[n, o // m, phase(kh, kw), u + offset(kh, kw)] * gyp[n, o, u]

with u = oh * M + ow the output pixels flattened over rows of M, gyp the output
gradient on those rows (zero past each row's OW pixels and past the last row), and xs
the zero-padded input split into its stride phases (conv.phase_planes), so that every
tap reads consecutive elements whatever the stride. One work item per output channel
keeps the kernel's taps in as many vector registers; their lanes are added once at the
end. xs and gyp are made per image and channel in per-thread scratch (they stay in the
caches), while the next image's input rows are prefetched: no whole-tensor copy.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

from .. import schedule as S
from ..loopir import Broadcast, Buffer, Expr, Fma, Kernel, Load, Stmt, Store, Var, block, const, loop, minimum
from .conv import (PARALLEL_MIN_FLOPS, ConvGeometry, Correlation, Epilogue, Stage, cast_to, copy_kernel, correlate,
                   fill_transposed, finisher, groups_as_phases, pack_filter, padded_plane, phase_copy, phase_planes,
                   plan_for, prefetch_rows, slack_rows, vectorize_rows)
from .harness import Space
from .simd import host_simd

#: Vector registers kept free of the taps' accumulators.
SPARE_REGISTERS = 4
#: Input planes of at least this many pixels are made plane by plane inside the weight
#: gradient and the strided input gradient (per-thread scratch), smaller ones copied whole
#: first. Staged against whole, kernel time: weight gradient 1x1 and 2x2 images (batch 32)
#: 1.2-1.3x slower, 4x4 and 16x16 1.2x faster, 14x14 (batch 4, 384 channels) 1.2x slower,
#: 56x56 1.1-1.45x faster; input gradient 2x2 and 8x8 2x and 1.1x slower, 16x16 level,
#: 56x56 1.1x faster.
STAGE_MIN_PIXELS = 1024


def applies(x_shape: Sequence[int], w_shape: Sequence[int], groups: int) -> bool:
    """Whether this kernel takes the weight gradient: one input channel per group and few
    enough taps to keep one accumulator each in registers."""
    return groups > 1 and x_shape[1] == groups and math.prod(w_shape[2:]) <= host_simd().registers - SPARE_REGISTERS


def weight_grad(x: Buffer, gy: Buffer, out: Buffer, stride: Sequence[int], padding: Sequence[Sequence[int]],
                space: Space, dtype: Optional[str] = None, epilogue: Optional[Epilogue] = None,
                threads: int = 1, dilation: Sequence[int] = (), groups: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(dL/dw) of a depthwise conv(x, w) given gy = dL/dy."""
    dtype = dtype or out.dtype
    g = ConvGeometry.of(x.shape, out.shape, stride, padding, dilation, groups)
    if g.cin != 1:
        raise ValueError(f"depthwise weight gradient: {g.cin} input channels per group, expected 1")
    W = host_simd().lanes(dtype)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    (plh, phh), (plw, phw) = g.padding
    OH, OW = g.out
    M = -(-(g.size[1] + plw + phw) // sw)                      # a phase row; >= OW + the widest tap offset
    vectors = -(-OH * M // W)
    taps = [(kh, kw) for kh in range(g.kernel[0]) for kw in range(g.kernel[1])]
    phase = {t: (t[0] * dh % sh) * sw + t[1] * dw % sw for t in taps}
    offset = {t: (t[0] * dh // sh) * M + t[1] * dw // sw for t in taps}
    reach = vectors * W + max(offset.values())                # elements of a phase plane read
    rows = max(-(-(g.size[0] + plh + phh) // sh), -(-reach // M))
    grad_rows = -(-vectors * W // M)
    co, n, v = Var("co"), Var("n"), Var("v")
    channel = co // g.cout if g.cout > 1 else co
    kernels: list[Kernel] = []
    if g.size[0] * g.size[1] >= STAGE_MIN_PIXELS:
        xs = space.scratch("phase_tile", dtype, (g.stride[0] * g.stride[1], rows, M))
        gyp = space.scratch("grad_rows", dtype, (grad_rows, M))
        x_at, gy_at = (lambda ph: xs.index(ph, 0, 0)), gyp.index(0, 0)
        items = g.cout * groups * g.batch                      # (channel, image) pairs, image fastest
        after = minimum(co * g.batch + n + 1, items - 1)
        image, chan = after % g.batch, after // g.batch      # the next pair's planes are prefetched
        fill = _fill(xs, gyp, x, gy, g, n, channel, co, dtype)
        ahead: Optional[Stmt] = block(
            prefetch_rows(x, lambda r, q: g.at(x, image, chan // g.cout, r, q), g.size, v, vectors),
            prefetch_rows(gy, lambda r, q: g.at(gy, image, chan, r, q), g.out, v, vectors))
    else:
        load_x = lambda b, c, i, j: Load(x, g.at(x, b, c, i, j))  # noqa: E731
        xs, copy_x = phase_copy(space, dtype, (g.batch, groups, rows, M), load_x, g.size, (plh, plw), g.stride,
                                threads)
        gyp, copy_gy = _rows_of(space, dtype, gy, g, M, grad_rows, threads)
        x_at, gy_at = (lambda ph: xs.index(n, channel, ph, 0, 0)), gyp.index(n, co, 0, 0)
        fill, ahead, kernels = None, None, [copy_x, copy_gy]
    acc = Buffer("acc", dtype, (len(taps) * W,), scope="local")
    grad_row = Load(gyp, gy_at + v * W, W)
    steps = [Store(acc, const(k * W), Fma(Load(xs, x_at(phase[t]) + offset[t] + v * W, W),
                                          grad_row, Load(acc, const(k * W), W)))
             for k, t in enumerate(taps)]
    zero = Broadcast(const(0.0, dtype), W)
    finish = finisher(epilogue, out.dtype)
    stores: list[Stmt] = []
    for k, (kh, kw) in enumerate(taps):
        total: Expr = Load(acc, const(k * W))
        for lane in range(1, W):
            total = total + Load(acc, const(k * W + lane))
        coords = g.coords(co, const(0), const(kh), const(kw))
        stores.append(Store(out, out.index(*coords), finish(total, coords)))
    body: Stmt = loop(co, g.cout * groups, block(
        *(Store(acc, const(k * W), zero) for k in range(len(taps))),
        loop(n, g.batch, block(fill, loop(v, vectors, block(*steps, ahead)))),
        *stores))
    flops = 2 * g.batch * g.cout * groups * OH * OW * len(taps)
    if threads > 1 and flops >= PARALLEL_MIN_FLOPS:
        body = S.parallel(body, "co")
    return kernels + [Kernel(space.name("dw_wgrad"), body, flops=flops)]


def _rows_of(space: Space, dtype: str, gy: Buffer, g: ConvGeometry, row: int, rows: int,
             threads: int) -> tuple[Buffer, Kernel]:
    """gy's planes on `rows` rows of `row` elements, zero past its own rows and columns."""
    channels = g.cout * g.groups
    dst = space.workspace("grad_rows", dtype, (g.batch, channels, rows, row))
    b, c = Var("b"), Var("c")
    plane = _grad_rows(lambda i, j, value: dst.store((b, c, i, j), value), gy, g, b, c, (rows, row), dtype)
    parallel = threads > 1 and g.batch > 1 and g.batch * channels * rows * row >= 1 << 18
    return dst, copy_kernel(space, "grad_rows", loop(b, g.batch, loop(c, channels, plane)), dtype, parallel)


def _grad_rows(put: Callable[[Expr, Expr, Expr], Stmt], gy: Buffer, g: ConvGeometry, n: Expr, c: Expr,
               shape: tuple[int, int], dtype: str) -> Stmt:
    """put(i, j, gy[n, c, i, j]) for i, j < `shape` inside gy's plane, else put(i, j, 0)."""
    return padded_plane(put, lambda i, j: Load(gy, g.at(gy, n, c, i, j)), shape, (0, g.out[0]), (0, g.out[1]), dtype)


def _fill(xs: Buffer, gyp: Buffer, x: Buffer, gy: Buffer, g: ConvGeometry, n: Expr, channel: Expr, co: Expr,
          dtype: str) -> Stmt:
    """xs = image n's plane of input channel `channel`, zero padded and split into its stride
    phases; gyp = its output gradient's plane of channel co on gyp's rows, zero past its own
    rows and columns."""
    phases = phase_planes(lambda k, i, j, value: xs.store((k, i, j), value),
                          lambda r, q: Load(x, g.at(x, n, channel, r, q)), xs.shape[1:], g.size,
                          (g.padding[0][0], g.padding[1][0]), g.stride, dtype)
    grads = _grad_rows(lambda i, j, value: gyp.store((i, j), value), gy, g, n, co, gyp.shape, dtype)
    return vectorize_rows(block(phases, grads), dtype)


def input_grad_applies(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int],
                       padding: Sequence[Sequence[int]], dilation: Sequence[int], groups: int) -> bool:
    """Whether input_grad takes a convolution's input gradient: depthwise, strided, and
    padded by at most the dilated kernel's extent less one on the low side."""
    dilation = tuple(dilation) or (1,) * len(stride)
    return (groups > 1 and x_shape[1] == groups and any(s > 1 for s in stride)
            and all(lo <= (k - 1) * d for (lo, _), k, d in zip(padding, w_shape[2:], dilation)))


def input_grad(gy: Buffer, w: Buffer, out: Buffer, stride: Sequence[int], padding: Sequence[Sequence[int]],
               space: Space, dtype: Optional[str] = None, epilogue: Optional[Epilogue] = None,
               threads: int = 1, micro: Optional[str] = None, dilation: Sequence[int] = (),
               groups: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(dL/dx) of a strided depthwise conv(x, w) given gy.

    With U the output gradient spread out by the stride (gy[q] at s*q, zeros between),
    dx[p] = sum over k of U[p + pad - k*d] * w[k]: one stride-1 correlation of U, shifted
    by A = (K-1)*d - pad, with the taps flipped. For one input channel per group the
    zeros cost less than the stride phases' scattered stores (each phase of the general
    input gradient stores its outputs s apart, one element at a time)."""
    dtype = dtype or out.dtype
    g = ConvGeometry.of(out.shape, w.shape, stride, padding, dilation, groups)
    (sh, sw), (dh, dw), (kh, kw), (H, Wd), (OH, OW) = g.stride, g.dilation, g.kernel, g.size, g.out
    shift = ((kh - 1) * dh - g.padding[0][0], (kw - 1) * dw - g.padding[1][0])
    rows = max(H + (kh - 1) * dh, (OH - 1) * sh + shift[0] + 1)
    cols = max(Wd + (kw - 1) * dw, (OW - 1) * sw + shift[1] + 1)
    plan = plan_for(dtype, g.cin, Wd, cols, micro, H)
    plane = (rows + slack_rows(plan, cols), cols)
    kernels, stage = [], None
    if plan.kind == "positions" and H * Wd >= STAGE_MIN_PIXELS:   # each item spreads its own planes
        spread = space.scratch("spread_tile", dtype, (g.cout,) + plane)
        src_at = lambda b, c, i, j: spread.index(c, i, j)  # noqa: E731
        c = Var("sc")
        stage = Stage(lambda b: loop(c, g.cout, _spread_plane(lambda i, j, v: spread.store((c, i, j), v),
                                                               b, g.in_group(c, g.cout), gy, g, plane, shift, dtype)),
                      lambda b, grp, part, parts: prefetch_rows(
                          gy, lambda m, q: g.at(gy, b, grp * g.cout + m // OH, m % OH, q), (g.cout * OH, OW),
                          part, parts))
    else:
        spread, copy = _spread(space, dtype, gy, g, plane, shift, threads)
        src_at = lambda b, c, i, j: spread.index(b, g.in_group(c, g.cout), i, j)  # noqa: E731
        kernels.append(copy)
    filt, pack = pack_filter(space, dtype, groups, g.cin, g.cout, g.kernel,
                             lambda ph, o, c, i, j: Load(w, g.at(w, ph * g.cout + c, o, kh - 1 - i, kw - 1 - j)), plan)
    flops = 2 * g.batch * g.cin * g.cout * groups * H * Wd * kh * kw
    spec = Correlation(g.batch, g.cout, g.cin, g.size, g.kernel, spread, src_at, filt, out,
                       lambda b, o, i, j: g.coords(b, g.in_group(o, g.cin), i, j), flops, dilation=g.dilation,
                       phases=groups, phase_vars=groups_as_phases(groups), stage=stage)
    return kernels + [pack, correlate(spec, plan, dtype, finisher(epilogue, out.dtype), space.name("dw_dgrad"), threads)]


def _spread(space: Space, dtype: str, gy: Buffer, g: ConvGeometry, plane: tuple[int, int],
            shift: tuple[int, int], threads: int) -> tuple[Buffer, Kernel]:
    """dst[b, c] = _spread_plane of gy[b, c] for every image and channel."""
    channels = g.cout * g.groups
    dst = space.workspace("spread", dtype, (g.batch, channels) + plane)
    b, c = Var("b"), Var("c")
    body: Stmt = loop(b, g.batch, loop(c, channels, _spread_plane(lambda i, j, v: dst.store((b, c, i, j), v),
                                                                  b, c, gy, g, plane, shift, dtype)))
    if threads > 1 and g.batch > 1 and g.batch * channels * plane[0] * plane[1] >= 1 << 18:
        body = S.parallel(body, "b")
    return dst, Kernel(space.name("spread"), body)


def _spread_plane(put: Callable[[Expr, Expr, Expr], Stmt], b: Expr, c: Expr, gy: Buffer, g: ConvGeometry,
                  plane: tuple[int, int], shift: tuple[int, int], dtype: str) -> Stmt:
    """put(qh*sh + shift_h, qw*sw + shift_w, gy[b, c, qh, qw]) and put(i, j, 0) at every other
    (i, j) of a `plane` (rows, cols)."""
    r, q, qh, qw = (Var(n) for n in ("zr", "zq", "qh", "qw"))
    (sh, sw), (ah, aw) = g.stride, shift
    zero = S.vectorize(loop(r, plane[0], loop(q, plane[1], put(r, q, const(0.0, dtype)))), q.name,
                       host_simd().lanes(dtype))
    value = cast_to(Load(gy, g.at(gy, b, c, qh, qw)), dtype)
    return block(zero, loop(qh, g.out[0], loop(qw, g.out[1], put(qh * sh + ah, qw * sw + aw, value))))


#: Output images of at most this many pixels take `forward_small`; with a fused epilogue, up to
#: SMALL_PLANE_FUSED (14 x 14). Measured against the positions kernel (docs/performance.md): faster
#: up to 4 x 4 output pixels either way; at 7 x 7 to 14 x 14 faster with a fused epilogue (which
#: the positions kernel applies run by run along the rows) and 1.3-3x slower without one; 2.8x
#: slower at 28 x 28 even with one.
SMALL_PLANE = 16
SMALL_PLANE_FUSED = 196


def forward_small_applies(g: ConvGeometry, fused: bool = False) -> bool:
    """Whether `forward_small` takes a convolution: depthwise with one output channel per
    group, on output images small enough (`fused`: whether an epilogue is fused into it)."""
    plane = g.out[0] * g.out[1]
    return (g.groups > 1 and g.cin == 1 and g.cout == 1
            and plane <= (SMALL_PLANE_FUSED if fused else SMALL_PLANE))


def forward_small(x: Buffer, w: Buffer, out: Buffer, stride: Sequence[int], padding: Sequence[Sequence[int]],
                  space: Space, dtype: Optional[str] = None, epilogue: Optional[Epilogue] = None,
                  threads: int = 1, dilation: Sequence[int] = (), groups: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(conv(x, w)) for a depthwise convolution that
    `forward_small_applies` to, with vectors along the channels: x copied channels-last and
    zero padded, xt[b, row, col, c]; the weight as wt[tap, c]; then each output pixel of
    W channels is the sum over taps of xt's vector at the tap times wt's, stored W
    channels apart (the epilogue's per-channel operands load as vectors)."""
    dtype = dtype or out.dtype
    g = ConvGeometry.of(x.shape, w.shape, stride, padding, dilation, groups)
    if not forward_small_applies(g, fused=True):
        raise ValueError(f"depthwise forward_small: not a small depthwise convolution: x {x.shape}, w {w.shape}")
    lanes = host_simd().lanes(dtype)
    C, (plh, phh), (plw, phw) = groups, g.padding[0], g.padding[1]
    rows, cols = g.size[0] + plh + phh, g.size[1] + plw + phw
    taps = [(kh, kw) for kh in range(g.kernel[0]) for kw in range(g.kernel[1])]
    xt = space.workspace("channels_last", dtype, (g.batch, rows, cols, C))
    wt = space.workspace("taps", dtype, (len(taps), C))
    b, c, i, j, t = (Var(n) for n in ("b", "cv", "i", "j", "t"))
    copy = Kernel(space.name("channels_last"), _channels_last(x, xt, g, b, c, dtype))
    pack = Kernel(space.name("pack_taps"), S.vectorize(block(*(
        loop(c, C, wt.store((k, c), cast_to(Load(w, g.at(w, c, const(0), const(kh), const(kw))), dtype)))
        for k, (kh, kw) in enumerate(taps))), c.name, lanes))
    (sh, sw), (dh, dw) = g.stride, g.dilation
    total: Optional[Expr] = None
    for k, (kh, kw) in enumerate(taps):
        xv = Load(xt, xt.index(b, i * sh + kh * dh, j * sw + kw * dw, c))
        total = xv * Load(wt, wt.index(k, c)) if total is None else Fma(xv, Load(wt, wt.index(k, c)), total)
    coords = g.coords(b, c, i, j)
    body: Stmt = loop(b, g.batch, loop(i, g.out[0], loop(j, g.out[1], loop(
        c, C, Store(out, out.index(*coords), finisher(epilogue, out.dtype)(total, coords))))))
    flops = 2 * g.batch * C * g.out[0] * g.out[1] * len(taps)
    body = S.vectorize(body, c.name, lanes)
    if threads > 1 and g.batch > 1 and flops >= PARALLEL_MIN_FLOPS:
        body = S.parallel(body, b.name)
    return [copy, pack, Kernel(space.name("dw_small"), body, flops=flops)]


def _channels_last(x: Buffer, xt: Buffer, g: ConvGeometry, b: Var, c: Var, dtype: str) -> Stmt:
    """xt[b, r, q, c] = x[b, c, r - pad_h, q - pad_w] inside x, else 0. Rows of W columns or
    more are transposed W x W blocks at a time in registers (conv.fill_transposed, reading
    along x's rows); narrower ones are copied with vectors along the channels (gathers)."""
    lanes = host_simd().lanes(dtype)
    C, (plh, phh), (plw, phw) = xt.shape[3], g.padding[0], g.padding[1]
    rows, cols = xt.shape[1], xt.shape[2]
    value = lambda r, q, ch: cast_to(Load(x, g.at(x, b, ch, r - plh, q - plw)), dtype)  # noqa: E731
    if g.size[1] < lanes or x.strides[-1] != 1:
        plane = padded_plane(lambda r, q, v: loop(c, C, xt.store((b, r, q, c), v)), lambda r, q: value(r, q, c),
                             (rows, cols), (plh, plh + g.size[0]), (plw, plw + g.size[1]), dtype)
        return S.vectorize(loop(b, g.batch, plane), c.name, lanes)
    r, q = Var("cr"), Var("cq")
    zero = lambda row, col: S.vectorize(loop(c, C, xt.store((b, row, col, c), const(0.0, dtype))), c.name, lanes)  # noqa: E731
    blank_rows = [loop(r, n, loop(q, cols, zero(r, q)), start=first) for first, n in ((0, plh), (plh + g.size[0], phh))]
    blank_cols = [loop(q, n, zero(r, q), start=first) for first, n in ((0, plw), (plw + g.size[1], phw))]
    inside = fill_transposed(xt, lambda ch, col: xt.index(b, r, col + plw, ch), lambda ch, col: value(r, col + plw, ch),
                             lanes, C, g.size[1])
    return loop(b, g.batch, block(*blank_rows, loop(r, g.size[0], block(*blank_cols, inside), start=plh)))
