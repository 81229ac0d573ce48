"""Compiling a program to a native entry point, and calling it on numpy arrays.

`compile_program` looks the program up in the process (already loaded), then
in the disk cache, and only then emits and optimises it. The cache key is the
program's structure (its repr: loops, buffers, shapes, strides, dtypes), the
host CPU, the toolchain and graphc's version.

`load_or_build` does the same for a key the caller computes before building
anything (e.g. from a graph), storing a picklable plan with the object code, so
that a hit costs neither building the program nor compiling it; it records the
seconds of each phase in a `CompileTimes`.
"""
from __future__ import annotations

import ctypes
import gc
import os
import pickle
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..._version import __version__
from . import cache, jit
from .emitter import emit_program, scratch_stride
from .loopir import Buffer, Program

#: Bump when the emitter's output changes for the same loop IR.
CODEGEN_VERSION = "3"


class _Status(ctypes.Structure):
    """What an entry point returns (emitter.STATUS): a failed check's message or null, and its detail."""

    _fields_ = [("message", ctypes.c_char_p), ("detail", ctypes.c_int64)]


_ENTRY = ctypes.CFUNCTYPE(_Status, ctypes.c_void_p, ctypes.c_int64)


def default_threads() -> int:
    """GRAPHC_NUM_THREADS if set, else the cores this process may run on."""
    from ..threads import num_threads  # parsed and checked there
    return num_threads()


def native_entry(address: int) -> Callable[[int, int], None]:
    """The entry point at `address` as a function `(address of the argument table, nthreads)`
    that raises ValueError with the message of a failed run-time check (loopir.Check)."""
    fn = _ENTRY(address)

    def call(args_address: int, nthreads: int) -> None:
        status = fn(args_address, nthreads)
        if status.message is not None:
            raise ValueError(status.message.decode().format(status.detail))

    return call


def program_key(program: Program, profile: bool = False) -> str:
    return cache.make_key(repr(program), *host_key(), "profile" if profile else "")


class CompiledProgram:
    """A program's native entry point. Call it with one array per "param" buffer.

    Arrays must match the buffers' dtypes, shapes and strides exactly; scratch
    space is owned here (so one object must not be called from two threads at
    once).
    """

    def __init__(self, program: Program, symbol: str, address: int, from_cache: bool, profile: bool = False):
        self.program, self.symbol, self.from_cache, self.profile = program, symbol, from_cache, profile
        self._fn = native_entry(address)
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

    def call_raw(self, args_address: int, nthreads: int) -> None:
        """Run with a ready array of argument addresses (one per param, in order);
        the caller owns every buffer, scratch included."""
        self._fn(args_address, nthreads)

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
        text = str(emit_program(self.program, self.symbol, self.profile))
        return str(jit.optimize(text)[0]) if optimized else text

    def assembly(self) -> str:
        return jit.assembly(str(emit_program(self.program, self.symbol, self.profile)))


def _check(buf: Buffer, arr: np.ndarray) -> int:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{buf.name}: expected a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.dtype(buf.dtype) or arr.shape != buf.shape:
        raise ValueError(f"{buf.name}: expected {buf.dtype}{list(buf.shape)}, got {arr.dtype}{list(arr.shape)}")
    strides = tuple(s // arr.itemsize for s in arr.strides)
    if any(n > 1 and s != t for n, s, t in zip(buf.shape, strides, buf.strides)):
        raise ValueError(f"{buf.name}: expected element strides {buf.strides}, got {strides}")
    return arr.__array_interface__["data"][0]


@dataclass
class Loaded:
    """An entry point found or built by `load_or_build`; `program` is None unless built here."""

    plan: Any
    symbol: str
    address: int
    program: Optional[Program]

    def entry(self) -> Callable[[int, int], None]:
        """The native function `(address of the argument table, nthreads)`."""
        return native_entry(self.address)


_plans: dict[str, Any] = {}


class CompileTimes(dict):
    """Seconds spent in each phase of compiling one function (phase -> seconds, in the order run)."""

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        return sum(self.values())

    def __str__(self) -> str:
        rows = [f"{name:<14} {seconds * 1e3:>9.1f} ms" for name, seconds in self.items()]
        return "\n".join(rows + [f"{'total':<14} {self.total * 1e3:>9.1f} ms"])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off while building code: building loop IR and LLVM IR
    allocates millions of small objects, and collections would double the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_or_build(key: str, build: Callable[[], tuple[Program, Any]], profile: bool = False,
                  times: Optional[CompileTimes] = None) -> Loaded:
    """The entry point stored under `key` (this process, then the disk cache), else
    `build()`'s (program, plan) compiled and stored. `key` must name everything the
    program depends on (the caller's inputs, plus host_key()). The phases' seconds go
    to `times` (build() may add its own)."""
    times = CompileTimes() if times is None else times
    symbol = f"gc_{key[:32]}"
    address = jit.engine().address(symbol) if key in _plans else None
    if address is not None:
        return Loaded(_plans[key], symbol, address, None)
    with times.phase("cache read"):
        payload = cache.get(key)
        if payload is not None:
            try:
                plan, obj = pickle.loads(payload)
            except Exception:   # an entry from an incompatible version: rebuild it
                payload = None
    program = None
    if payload is None:
        with gc_paused():
            program, plan = build()
            obj = _object_code(program, symbol, profile, times)
        with times.phase("cache write"):
            cache.put(key, pickle.dumps((plan, obj), protocol=pickle.HIGHEST_PROTOCOL))
    _plans[key] = plan
    with times.phase("load"):                 # (creating the process's JIT engine included)
        address = jit.engine().load(obj, symbol)
    return Loaded(plan, symbol, address, program)


def _object_code(program: Program, symbol: str, profile: bool, times: CompileTimes) -> bytes:
    """Host object code of `program` with entry point `symbol`."""
    with times.phase("emit"):
        text = str(emit_program(program, symbol, profile))
    with times.phase("optimise"):
        module, machine = jit.optimize(text)
    with times.phase("codegen"):
        return machine.emit_object(module)


def host_key() -> tuple[str, ...]:
    """What every compiled object depends on besides its program: host, toolchain, versions."""
    return (*jit.host(), jit.toolchain_id(), __version__, CODEGEN_VERSION)


def compile_program(program: Program, profile: bool = False) -> CompiledProgram:
    """The native entry point of `program`, from memory, the disk cache or LLVM.

    `profile` builds the variant that records a clock reading around each kernel
    (see emitter.emit_program).
    """
    key = program_key(program, profile)
    symbol = f"gc_{key[:32]}"
    eng = jit.engine()
    address = eng.address(symbol)
    if address is not None:
        return CompiledProgram(program, symbol, address, True, profile)
    obj = cache.get(key)
    from_cache = obj is not None
    if obj is None:
        with gc_paused():
            obj = _object_code(program, symbol, profile, CompileTimes())
        cache.put(key, obj)
    return CompiledProgram(program, symbol, eng.load(obj, symbol), from_cache, profile)
