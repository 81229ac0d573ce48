"""A 1x1 convolution as one matrix product per image: out[b] (Cout x HW) = w (Cout x Cin)
@ x[b] (Cin x HW), run by the blocked gemm of kernels/gemm.py.

The direct kernels read a tile's source one channel row at a time, each row on another
page of a large image, which no prefetcher follows; the gemm packs x[b] along its rows
(long unit-stride runs) and streams the packed panels. On small images the direct
kernels win instead: their tiles run over the positions of all images at once, while a
product per image pads its columns and packs the weights again for every image.
`prefers_gemm` is the per-shape choice (docs/performance.md has the measurements).
"""
from __future__ import annotations

from typing import Callable, Optional

from .. import schedule as S
from ..loopir import (Buffer, Expr, Kernel, Load, Stmt, Store, Var, const, free_vars, linear_coeff, loop, rewrite,
                      walk)
from .conv import ConvGeometry, Epilogue, cast_to, finisher
from .gemm import PARALLEL_MIN_FLOPS, Operands, gemm_nest, plan_gemm
from .harness import Space

#: A 1x1 convolution runs as a product per image from this many output positions per image
#: (28 x 28) and this many output channels on: packing x[b] copies each element once for
#: 2 * Cout flops, which does not pay for 16 channels.
GEMM_MIN_POSITIONS = 784
GEMM_MIN_OUTS = 24
#: The weight gradient of a 1x1 convolution of 1x1 images runs as a product from this many input
#: and output channels on (measured 0.6-0.7x the correlation kernel's time at 160-1280).
WGRAD_MIN_CHANNELS = 64


def applies(g: ConvGeometry, x: Buffer, dtype: str) -> bool:
    """Whether the convolution is a product per image: a 1x1 kernel at stride 1, no padding,
    no groups, float, and each image's positions one strided run of x."""
    if g.kernel != (1, 1) or g.stride != (1, 1) or g.padded or g.groups != 1 or dtype not in ("float32", "float64"):
        return False
    return g.rank == 1 or x.strides[-2] == x.shape[-1] * x.strides[-1]


def prefers_gemm(g: ConvGeometry) -> bool:
    """The measured choice: the product per image for large images and enough output channels."""
    return g.out[0] * g.out[1] >= GEMM_MIN_POSITIONS and g.cout >= GEMM_MIN_OUTS


def weight_grad_applies(g: ConvGeometry, x: Buffer, gy: Buffer, dtype: str) -> bool:
    """Whether weight_grad_1x1 takes a convolution's weight gradient: a 1x1 convolution of
    1x1 images (the images are then the product's reduction, read with unit or constant
    strides) with at least WGRAD_MIN_CHANNELS input and output channels. On larger images
    the reduction over (image, position) would gather, and the correlation kernel wins."""
    return (applies(g, x, dtype) and applies(g, gy, dtype) and g.out == (1, 1)
            and min(g.cin, g.cout) >= WGRAD_MIN_CHANNELS)


def conv_1x1(x: Buffer, w: Buffer, out: Buffer, space: Space, dtype: Optional[str] = None,
             epilogue: Optional[Epilogue] = None, threads: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(conv(x, w)) for a 1x1 convolution that `applies`:
    one blocked product per image, over the images' loop (split over threads when
    there are several images, else inside the product)."""
    dtype = dtype or out.dtype
    rank = len(x.shape) - 2
    g = ConvGeometry.of(x.shape, w.shape, (1,) * rank, ((0, 0),) * rank)
    if not applies(g, x, dtype):
        raise ValueError(f"conv_1x1: not a 1x1 product per image: input {x.shape}, weight {w.shape}")
    M, N, K = g.cout, g.out[0] * g.out[1], g.cin
    z = const(0)
    img = Var("pimg") if g.batch > 1 else z
    c = out if out.dtype == dtype else space.workspace("acc", dtype, out.shape)
    row = lambda buf, ch: g.at(buf, img, ch, z, z)  # noqa: E731 - channel `ch`'s run of the image
    finish = finisher(epilogue, out.dtype)
    coords = _flat_coords(g, finish, dtype)

    def store(i: Expr, j: Expr) -> Stmt:
        return Store(out, row(c, i) + j, finish(Load(c, row(c, i) + j), coords(img, i, j)))

    ops = Operands(lambda i, k: cast_to(Load(w, g.at(w, i, k, z, z)), dtype),
                   lambda k, j: cast_to(Load(x, row(x, k) + j * x.strides[-1]), dtype),
                   c, lambda i, j: row(c, i) + j,
                   a_rows_contiguous=w.strides[1] == 1 or w.strides[0] != 1,
                   b_rows_contiguous=x.strides[-1] == 1 or x.strides[1] != 1,
                   finish=None if c is out and epilogue is None else store)
    flops = 2 * g.batch * M * N * K
    plan = plan_gemm(M, N, K, dtype, 1 if g.batch > 1 else threads)
    a_size, b_size = plan.pack_sizes
    a_pack, b_pack = space.scratch("a_pack", dtype, (a_size,)), space.scratch("b_pack", dtype, (b_size,))
    body = gemm_nest(ops, M, N, K, a_pack, b_pack, plan)
    if g.batch > 1:
        body = loop(img, g.batch, body)
        if threads > 1 and flops >= PARALLEL_MIN_FLOPS:
            body = S.parallel(body, img.name)
    return [Kernel(space.name("pointwise"), body, flops=flops)]


def _flat_coords(g: ConvGeometry, finish: Epilogue, dtype: str) -> Callable[[Expr, Expr, Expr], tuple[Expr, ...]]:
    """(b, o, j) -> the output coordinates of flat position j of an image. (b, o, 0, j)
    when every load of the epilogue steps along rows by a row's worth of columns, so
    its loads stay unit-stride; else (b, o, j // OW, j % OW)."""
    if g.rank == 1:
        return lambda b, o, j: (b, o, j)
    OW = g.out[1]
    ph, pw = Var("_ph"), Var("_pw")
    probe = finish(Var("_v", dtype), (Var("_b"), Var("_o"), ph, pw))
    flat = all(linear_coeff(n.index, ph.name) == OW * (linear_coeff(n.index, pw.name) or 0)
               and linear_coeff(n.index, pw.name) is not None
               for n in walk(probe) if isinstance(n, Load))
    loads_hidden = rewrite(probe, lambda n: Var("_load", n.buf.dtype) if isinstance(n, Load) else None)
    only_in_loads = not {ph.name, pw.name} & free_vars(loads_hidden)
    if flat and only_in_loads:
        return lambda b, o, j: (b, o, const(0), j)
    return lambda b, o, j: (b, o, j // OW, j % OW)


def weight_grad_1x1(x: Buffer, gy: Buffer, out: Buffer, space: Space, dtype: Optional[str] = None,
                    epilogue: Optional[Epilogue] = None, threads: int = 1) -> list[Kernel]:
    """Kernels computing out = finish(dL/dw) of a 1x1 convolution of 1x1 images given gy: one
    blocked product gw (Cout x Cin) = gy^T (Cout x B) @ x (B x Cin) reducing over the images."""
    dtype = dtype or out.dtype
    rank = len(x.shape) - 2
    g = ConvGeometry.of(x.shape, out.shape, (1,) * rank, ((0, 0),) * rank)
    if not weight_grad_applies(g, x, gy, dtype):
        raise ValueError(f"weight_grad_1x1: not a 1x1 convolution of 1x1 images: input {x.shape}, "
                         f"gradient {gy.shape}")
    M, N, K = g.cout, g.cin, g.batch
    z = const(0)
    c = out if out.dtype == dtype else space.workspace("acc", dtype, out.shape)
    read = lambda buf, b, ch: cast_to(Load(buf, g.at(buf, b, ch, z, z)), dtype)  # noqa: E731
    finish = finisher(epilogue, out.dtype)

    def store(i: Expr, j: Expr) -> Stmt:
        at = g.at(c, i, j, z, z)
        return Store(out, at, finish(Load(c, at), g.coords(i, j, z, z)))

    ops = Operands(lambda i, k: read(gy, k, i), lambda k, j: read(x, k, j), c, lambda i, j: g.at(c, i, j, z, z),
                   a_rows_contiguous=gy.strides[0] == 1 or gy.strides[1] != 1,
                   b_rows_contiguous=x.strides[1] == 1 or x.strides[0] != 1,
                   finish=None if c is out and epilogue is None else store)
    plan = plan_gemm(M, N, K, dtype, threads)
    a_size, b_size = plan.pack_sizes
    a_pack, b_pack = space.scratch("a_pack", dtype, (a_size,)), space.scratch("b_pack", dtype, (b_size,))
    return [Kernel(space.name("pointwise_wgrad"), gemm_nest(ops, M, N, K, a_pack, b_pack, plan), flops=2 * M * N * K)]
