"""Running the conv and pool kernel builders on numpy arrays, for their tests."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from graphc.backend.llvm.kernels import pool
from graphc.backend.llvm.kernels.harness import KernelRunner, StandaloneSpace
from graphc.backend.llvm.loopir import Buffer, Kernel
from graphc.ops.nn.pool import AvgPool, AvgPoolGrad, MaxPool, MaxPoolGather, MaxPoolGrad

TOL = {"float32": 2e-5, "float64": 1e-12}


def run_builder(build: Callable[..., list[Kernel]], inputs: Sequence[np.ndarray], out_shape: Sequence[int],
                out_dtype: str, *, nthreads: int = 1, extra: Sequence[np.ndarray] = (),
                **options) -> tuple[np.ndarray, list[Kernel]]:
    """build(*input_buffers, out_buffer, space=..., **options) compiled and run.

    `extra` arrays become buffers e0, e1, ... that an epilogue may read; the output
    starts as NaN so an element the kernels skip shows.
    """
    names = [f"in{k}" for k in range(len(inputs))]
    bufs = [Buffer(n, a.dtype.name, a.shape, tuple(s // a.itemsize for s in a.strides))
            for n, a in zip(names, inputs)]
    extras = [Buffer(f"e{k}", a.dtype.name, a.shape) for k, a in enumerate(extra)]
    out = Buffer("out", out_dtype, tuple(out_shape))
    space = StandaloneSpace()
    kernels = build(*bufs, out, space=space, **options)
    runner = KernelRunner("test", kernels, bufs + extras + [out], space)
    result = np.full(tuple(out_shape), np.nan, out_dtype)
    runner(*inputs, *extra, result, nthreads=nthreads)
    return result, kernels


def conv_micros(kind):
    """The micro-kernels that can run `kind` (None: chosen by shape)."""
    return [None] if kind == "weight_grad" else [None, "channels", "positions"]


def assert_matches(got: np.ndarray, want: np.ndarray, dtype: Optional[str] = None) -> None:
    """Within float tolerance of the reference, relative to its magnitude."""
    tol = TOL[dtype or got.dtype.name]
    scale = max(1.0, float(np.abs(want[np.isfinite(want)]).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def pool_case(kind, x, rng, *geometry):
    """(builder, inputs, reference) of `kind` on x; `geometry` is the ops' (kernel, stride,
    padding[, dilation])."""
    if kind in ("max", "avg"):
        op = (MaxPool if kind == "max" else AvgPool)(*geometry)
        return (lambda *a, **o: pool.pool_forward(kind, *a, **o)), [x], op.reference(x)
    gy = rng.normal(size=MaxPool(*geometry).reference(x).shape).astype(x.dtype)
    if kind == "max_grad":
        return pool.max_pool_grad, [x, gy], MaxPoolGrad(*geometry).reference(x, gy)
    if kind == "avg_grad":
        return pool.avg_pool_grad, [gy], AvgPoolGrad(*geometry).reference(gy, x)
    g = rng.normal(size=x.shape).astype(x.dtype)
    return pool.max_pool_gather, [x, g], MaxPoolGather(*geometry).reference(x, g)
