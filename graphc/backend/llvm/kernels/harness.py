"""Running kernel builders outside the graph pipeline (tests, benchmarks).

Builders ask a `Space` for unique names and workspaces, as a lowering asks its
LowerContext. `StandaloneSpace` makes shared workspaces extra program params
whose arrays `KernelRunner` allocates once, and per-thread scratch buffers the
runtime owns.
"""
from __future__ import annotations

from typing import Optional, Protocol, Sequence

import numpy as np

from ..loopir import Buffer, Kernel, Program
from ..runtime import compile_program


class Space(Protocol):
    """What a kernel builder needs from its caller (LowerContext provides it)."""

    def name(self, tag: str) -> str: ...
    def scratch(self, tag: str, dtype: str, shape: Sequence[int]) -> Buffer: ...
    def workspace(self, tag: str, dtype: str, shape: Sequence[int]) -> Buffer: ...


class StandaloneSpace:
    """Names and workspaces for kernels compiled into a program of their own."""

    def __init__(self, prefix: str = "k"):
        self.prefix, self.buffers, self._count = prefix, [], 0

    def name(self, tag: str) -> str:
        self._count += 1
        return f"{self.prefix}_{tag}{self._count}"

    def scratch(self, tag: str, dtype: str, shape: Sequence[int]) -> Buffer:
        buf = Buffer(self.name(tag), dtype, tuple(shape), scope="scratch")
        self.buffers.append(buf)
        return buf

    def workspace(self, tag: str, dtype: str, shape: Sequence[int]) -> Buffer:
        buf = Buffer(self.name(tag), dtype, tuple(shape))
        self.buffers.append(buf)
        return buf


class KernelRunner:
    """`kernels` compiled as one program over `args` (then the space's workspaces);
    call it with one array per arg."""

    def __init__(self, name: str, kernels: Sequence[Kernel], args: Sequence[Buffer], space: StandaloneSpace):
        params = tuple(args) + tuple(space.buffers)
        self.compiled = compile_program(Program(name, params, tuple(kernels)))
        self._work = [np.empty(b.shape, b.dtype) for b in space.buffers if b.scope == "param"]

    def __call__(self, *arrays: np.ndarray, nthreads: Optional[int] = None) -> None:
        self.compiled(*arrays, *self._work, nthreads=nthreads)
