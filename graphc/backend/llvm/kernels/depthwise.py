"""The weight gradient of a depthwise convolution (one input channel per group), a
kernel of its own.

The general weight-gradient correlation vectorises over output channels and kernel
taps; a depthwise layer has one output channel per group (or a few) and nine taps, so
most of its lanes would idle. Here every tap's sum runs in vector lanes along the
output pixels instead:

    gw[o, 0, kh, kw] = sum over n, u of xs[n, o // m, phase(kh, kw), u + offset(kh, kw)] * gyp[n, o, u]

with u = oh * M + ow the output pixels flattened over rows of M, gyp the output
gradient on those rows (zero past each row's OW pixels and past the last row), and xs
the zero-padded input split into its stride phases (phase_copy), so that every tap
reads consecutive elements whatever the stride. One work item per output channel keeps
the kernel's taps in as many vector registers; their lanes are added once at the end.
"""
from __future__ import annotations

from typing import Optional, Sequence

from .. import schedule as S
from ..loopir import Broadcast, Buffer, Expr, Fma, Kernel, Load, Stmt, Store, Var, block, const, loop
from .conv import PARALLEL_MIN_FLOPS, ConvGeometry, Epilogue, copy_kernel, finisher, padded_plane, phase_copy
from .harness import Space
from .simd import host_simd

#: Vector registers kept free of the taps' accumulators.
SPARE_REGISTERS = 4


def applies(x_shape: Sequence[int], w_shape: Sequence[int], groups: int) -> bool:
    """Whether this kernel takes the weight gradient: one input channel per group and few
    enough taps to keep one accumulator each in registers."""
    taps = 1
    for k in w_shape[2:]:
        taps *= k
    return groups > 1 and x_shape[1] == groups and taps <= host_simd().registers - SPARE_REGISTERS


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
    load_x = lambda b, c, i, j: Load(x, g.at(x, b, c, i, j))  # noqa: E731
    xs, copy_x = phase_copy(space, dtype, (g.batch, groups, rows, M), load_x, g.size, (plh, plw), g.stride, threads)
    gyp, copy_gy = _rows_of(space, dtype, gy, g, M, -(-vectors * W // M), threads)

    co, n, v = Var("co"), Var("n"), Var("v")
    acc = Buffer("acc", dtype, (len(taps) * W,), scope="local")
    grad_row = Load(gyp, gyp.index(n, co, 0, 0) + v * W, W)
    channel = co // g.cout if g.cout > 1 else co
    steps = [Store(acc, const(k * W), Fma(Load(xs, xs.index(n, channel, phase[t], 0, 0) + offset[t] + v * W, W),
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
        loop(n, g.batch, loop(v, vectors, block(*steps))),
        *stores))
    flops = 2 * g.batch * g.cout * groups * OH * OW * len(taps)
    if threads > 1 and flops >= PARALLEL_MIN_FLOPS:
        body = S.parallel(body, "co")
    return [copy_x, copy_gy, Kernel(space.name("dw_wgrad"), body, flops=flops)]


def _rows_of(space: Space, dtype: str, gy: Buffer, g: ConvGeometry, row: int, rows: int,
             threads: int) -> tuple[Buffer, Kernel]:
    """gy's planes on `rows` rows of `row` elements, zero past its own rows and columns."""
    channels = g.cout * g.groups
    dst = space.workspace("grad_rows", dtype, (g.batch, channels, rows, row))
    b, c = Var("b"), Var("c")
    plane = padded_plane(lambda i, j, value: dst.store((b, c, i, j), value),
                          lambda i, j: Load(gy, g.at(gy, b, c, i, j)), (rows, row), (0, g.out[0]), (0, g.out[1]),
                          dtype)
    parallel = threads > 1 and g.batch > 1 and g.batch * channels * rows * row >= 1 << 18
    return dst, copy_kernel(space, "grad_rows", loop(b, g.batch, loop(c, channels, plane)), dtype, parallel)
