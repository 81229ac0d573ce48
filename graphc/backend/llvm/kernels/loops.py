"""Loop nests over a broadcast iteration domain, shared by the elementwise and reduction kernels.

Every buffer is read through strides aligned to the domain (0 on broadcast
axes); adjacent axes that are contiguous for every buffer are merged so the
innermost loop is as long as possible before it is vectorised.
"""
from __future__ import annotations

from typing import Sequence

from ..loopir import Buffer, Expr, Var, const, itemsize


def domain_strides(buf: Buffer, shape: Sequence[int]) -> tuple[int, ...]:
    """`buf`'s element strides over a domain of `shape` (numpy broadcasting, right aligned)."""
    lead = len(shape) - len(buf.shape)
    if lead < 0:
        raise ValueError(f"{buf.name}{list(buf.shape)} has more dims than the domain {list(shape)}")
    out = [0] * lead
    for n, s, d in zip(buf.shape, buf.strides, shape[lead:]):
        if n not in (1, d):
            raise ValueError(f"{buf.name}{list(buf.shape)} does not broadcast to {list(shape)}")
        out.append(s if n == d and d != 1 else 0)
    return tuple(out)


def merge_axes(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 axes and merge neighbours that are contiguous in every stride list."""
    keep = [d for d, n in enumerate(shape) if n != 1]
    dims = [shape[d] for d in keep]
    strs = [[s[d] for d in keep] for s in strides]
    d = len(dims) - 1
    while d > 0:
        if all(s[d - 1] == s[d] * dims[d] for s in strs):
            dims[d - 1:d + 1] = [dims[d - 1] * dims[d]]
            for s in strs:
                s[d - 1:d + 1] = [s[d]]
        d -= 1
    return dims, strs


def offset(vars_: Sequence[Var], strides: Sequence[int]) -> Expr:
    total: Expr = const(0)
    for v, s in zip(vars_, strides):
        total = total + v * s
    return total


def vector_width(dtype: str) -> int:
    """Lanes per vectorised iteration: one 256-bit register of 32-bit values, else 4."""
    return 8 if itemsize(dtype) <= 4 else 4
