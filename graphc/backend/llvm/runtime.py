"""Compiling a program to a native entry point, and calling it on numpy arrays.

`compile_program` looks the program up in the process (already loaded), then
in the disk cache, and only then emits and optimises it. The cache key is the
program's structure (its repr: loops, buffers, shapes, strides, dtypes), the
host CPU, the toolchain and graphc's version.
"""
from __future__ import annotations

import ctypes
import os
from typing import Optional

import numpy as np

from ..._version import __version__
from . import cache, jit
from .emitter import emit_program, scratch_stride
from .loopir import Buffer, Program

#: Bump when the emitter's output changes for the same loop IR.
CODEGEN_VERSION = "1"
_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64)


def default_threads() -> int:
    """GRAPHC_NUM_THREADS if set, else the cores this process may run on."""
    env = os.environ.get("GRAPHC_NUM_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def program_key(program: Program) -> str:
    triple, cpu, features = jit.host()
    return cache.make_key(repr(program), triple, cpu, features, jit.toolchain_id(), __version__, CODEGEN_VERSION)


class CompiledProgram:
    """A program's native entry point. Call it with one array per "param" buffer.

    Arrays must match the buffers' dtypes, shapes and strides exactly; scratch
    space is owned here (so one object must not be called from two threads at
    once).
    """

    def __init__(self, program: Program, symbol: str, address: int, from_cache: bool):
        self.program, self.symbol, self.from_cache = program, symbol, from_cache
        self._fn = _ENTRY(address)
        self._args = [b for b in program.params if b.scope == "param"]
        self._scratch = [b for b in program.params if b.scope == "scratch"]
        self._ptrs = (ctypes.c_void_p * len(program.params))()
        self._scratch_mem: Optional[tuple[int, list[np.ndarray]]] = None

    def __call__(self, *arrays: np.ndarray, nthreads: Optional[int] = None) -> None:
        if len(arrays) != len(self._args):
            raise TypeError(f"{self.program.name}: expected {len(self._args)} arrays, got {len(arrays)}")
        nthreads = default_threads() if nthreads is None else max(1, int(nthreads))
        slot = {b.name: i for i, b in enumerate(self.program.params)}
        for buf, arr in zip(self._args, arrays):
            self._ptrs[slot[buf.name]] = _check(buf, arr)
        for buf, mem in zip(self._scratch, self._scratch_for(nthreads)):
            self._ptrs[slot[buf.name]] = mem.__array_interface__["data"][0]
        self._fn(ctypes.addressof(self._ptrs), nthreads)

    def _scratch_for(self, nthreads: int) -> list[np.ndarray]:
        """Scratch for at least `nthreads` threads, grown when more are asked for."""
        have = self._scratch_mem[0] if self._scratch_mem else 0
        if nthreads > have:
            mems = []
            for buf in self._scratch:
                raw = np.empty(scratch_stride(buf) * nthreads + 64, dtype=np.uint8)
                skip = -raw.__array_interface__["data"][0] % 64
                mems.append(raw[skip:])
            self._scratch_mem = (nthreads, mems)
        return self._scratch_mem[1]

    def llvm_ir(self, optimized: bool = True) -> str:
        """The module's LLVM IR (before or after optimisation)."""
        text = str(emit_program(self.program, self.symbol))
        return str(jit.optimize(text)[0]) if optimized else text

    def assembly(self) -> str:
        return jit.assembly(str(emit_program(self.program, self.symbol)))


def _check(buf: Buffer, arr: np.ndarray) -> int:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{buf.name}: expected a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.dtype(buf.dtype) or arr.shape != buf.shape:
        raise ValueError(f"{buf.name}: expected {buf.dtype}{list(buf.shape)}, got {arr.dtype}{list(arr.shape)}")
    strides = tuple(s // arr.itemsize for s in arr.strides)
    if any(n > 1 and s != t for n, s, t in zip(buf.shape, strides, buf.strides)):
        raise ValueError(f"{buf.name}: expected element strides {buf.strides}, got {strides}")
    return arr.__array_interface__["data"][0]


def compile_program(program: Program) -> CompiledProgram:
    """The native entry point of `program`, from memory, the disk cache or LLVM."""
    key = program_key(program)
    symbol = f"gc_{key[:32]}"
    eng = jit.engine()
    address = eng.address(symbol)
    if address is not None:
        return CompiledProgram(program, symbol, address, from_cache=True)
    obj = cache.get(key)
    from_cache = obj is not None
    if obj is None:
        obj = jit.compile_ir(str(emit_program(program, symbol)))
        cache.put(key, obj)
    return CompiledProgram(program, symbol, eng.load(obj, symbol), from_cache)
