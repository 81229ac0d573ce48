"""What the disk cache keeps of a compiled function besides its kernels: how to call them.

A plan is small and picklable, and this module imports nothing of the compiler, so a
warm start (a plan and its kernels found on disk) loads no lowering or emitting code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KernelInfo:
    """What a listing shows of one kernel."""

    name: str
    group: int                                # kernels of one group store one value together
    ops: tuple[str, ...]                      # the graph ops fused into its group
    shape: tuple[int, ...]                    # of the value it stores
    input_shapes: tuple[tuple[int, ...], ...]
    dtype: str
    flops: int


@dataclass
class CallPlan:
    """How to call a graph's Program: which argument is which (small and picklable,
    so the disk cache keeps it with the object code)."""

    params: list[str]                         # the program's arguments, in order
    inputs: list[str]                         # arg names of the graph inputs, in order
    outputs: list[str]                        # arg name per output position (repeats allowed)
    output_types: dict[str, tuple[tuple[int, ...], str]]
    constants: dict[str, np.ndarray]
    arena_offsets: dict[str, int]             # arg name -> byte offset in the arena
    arena_bytes: int
    kernels: list[KernelInfo]
    threads: int
    calls: list[tuple[str, tuple[tuple[int, int], ...]]]  # per kernel: its key, its args (param position, byte offset)
