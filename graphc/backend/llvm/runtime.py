"""Compiling kernels to native code, and running programs through the runner.

Each distinct kernel (by its canonical key, see canonical.py) is one LLVM
module compiled once: looked up among the kernels loaded in this process, then
in the disk cache (an entry per kernel), and only then emitted, optimised and
code-generated. So identical kernels inside a function, and the same kernel in
another function or process, cost nothing more. A program runs as one native
call of the runner (emitter.emit_runner) over a table of its calls: each
kernel's address and the program arguments it takes.

`compile_program` does this for a Program. `load_or_build` does it for a key the
caller computes before building anything (e.g. from a graph): the disk keeps a
picklable plan under that key (which kernels, on which arguments), so a hit
costs neither building the program nor compiling, only loading its kernels.
Both record the seconds of each phase, and counts of kernels, in a `CompileTimes`.
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
import math
import os
import pickle
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..._version import __version__
from ..threads import positive_threads
from . import cache, helpers, hostcalls, jit

if TYPE_CHECKING:       # the emitter and the loop IR are imported by what compiles, not by what loads
    from .loopir import Buffer, Kernel, Program

#: The runner's symbol; a new version when its calling convention changes.
RUNNER_SYMBOL = "graphc_run_v7"

#: One kernel call of a plan: the kernel's key and, per argument, its index among the
#: program's and a byte offset into it.
CallSlots = tuple[str, tuple[tuple[int, int], ...]]


class _Status(ctypes.Structure):
    """What the runner returns (emitter.STATUS): a failed check's message or null, and its detail."""

    _fields_ = [("message", ctypes.c_char_p), ("detail", ctypes.c_int64)]


_RUNNER = ctypes.CFUNCTYPE(_Status, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_void_p, ctypes.c_void_p)


def default_threads() -> int:
    """GRAPHC_NUM_THREADS if set, else the cores this process may run on."""
    from ..threads import num_threads  # parsed and checked there
    return num_threads()


class CompileTimes(dict):
    """Seconds spent in each phase of compiling one function (phase -> seconds, in the order
    run), and `counts` of its kernels: calls in the program, distinct kernels, reused (calls of
    a kernel that another call already has), found loaded in this process, loaded from the
    disk cache, and compiled (of those, how many by helper processes)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.from_disk: set[str] = set()        # kernels this compile loaded from the disk cache

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start

    def count(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    @property
    def total(self) -> float:
        return sum(self.values())

    def __str__(self) -> str:
        rows = [f"{name:<14} {seconds * 1e3:>9.1f} ms" for name, seconds in self.items()]
        rows.append(f"{'total':<14} {self.total * 1e3:>9.1f} ms")
        if self.counts:
            rows.append("kernels: " + ", ".join(f"{n} {name}" for name, n in self.counts.items()))
        return "\n".join(rows)


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


@lru_cache(maxsize=None)
def source_digest() -> str:
    """A digest of graphc's Python source files: each one's path, size and modification
    time in nanoseconds, as Python's own bytecode cache decides whether a source changed
    (about 1 ms, once per process; reading every file took 10)."""
    root = str(Path(__file__).resolve().parents[2])
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                info = os.stat(path)
                entries.append(f"{path[len(root):]} {info.st_size} {info.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


def host_key() -> tuple[str, ...]:
    """What every compiled object depends on besides its IR: host, toolchain, graphc's
    version and source (so an edited emitter cannot bring back stale kernels)."""
    return (*jit.host(), jit.toolchain_id(), __version__, source_digest())


def build_identity() -> bytes:
    """host_key() as bytes: what a compile helper must share with its parent."""
    return "\0".join(host_key()).encode()


def kernel_symbol(key: str) -> str:
    return f"k_{key[:40]}"


def kernel_cache_key(key: str) -> str:
    """The disk-cache key of the object code of the kernel with canonical key `key`."""
    return cache.make_key("kernel", key, *host_key())


#: A compile job: an emitter function of this backend and its arguments, e.g. emit_kernel
#: and (kernel, symbol); picklable, so that helper processes take jobs too.
Job = tuple[Callable[..., Any], tuple]


def job_object(job: Job, times: CompileTimes) -> bytes:
    """Host object code of the module a job emits (callers hold jit.lock)."""
    emit, args = job
    with times.phase("emit"):
        text = str(emit(*args))
    with times.phase("optimise"):
        module, machine = jit.optimize(text)
    with times.phase("codegen"):
        return jit.emit_object(module, machine, getattr(args[0], "strength_reduce", True))


def helper_count() -> int:
    """How many helper processes compile kernels beside this one: one per thread the
    process may use, beyond its own."""
    return default_threads() - 1


#: The job key of the runner, when a build compiles it beside its kernels.
RUNNER_JOB = "runner"


class KernelCompiles:
    """The kernels of one build, compiled as soon as they are lowered: `offer` (the
    builder's hook) hands each kernel that is neither loaded in this process nor in the
    disk cache to the helper processes at once, so that they work while the rest of the
    program is lowered; `finish` compiles what is left here and with the helpers. The
    runner, if this host has none yet, is the first job (a fresh cache would otherwise
    compile it here after the kernels) and goes to the disk cache, where `runner()` finds
    it. `times` gets the seconds this thread spent emitting, optimising and generating
    code, and waiting for helpers ("helpers"). At most `helpers_wanted` helper processes
    take part (all there are by default). Close it when done (finish does)."""

    def __init__(self, times: CompileTimes, helpers_wanted: Optional[int] = None):
        self.times = times
        count = helper_count() if helpers_wanted is None else min(helper_count(), helpers_wanted)
        self._jobs = helpers.Compiles(max(count, 0), build_identity(), self._here)
        self._helped = count > 0
        if _runner.cache_info().currsize == 0 and not cache.exists(runner_cache_key()):
            from .emitter import emit_runner
            self._jobs.offer(RUNNER_JOB, (emit_runner, (RUNNER_SYMBOL,)), math.inf)

    def _here(self, job: Job) -> bytes:
        return job_object(job, self.times)

    def offer(self, key: str, kernel: Kernel) -> None:
        from .emitter import emit_kernel
        if jit.engine().address(kernel_symbol(key)) is None and not cache.exists(kernel_cache_key(key)):
            self._jobs.offer(key, (emit_kernel, (kernel, kernel_symbol(key))), kernel.flops)

    def finish(self, kernels: Mapping[str, Kernel]) -> tuple[dict[str, bytes], int]:
        """Object code of each of `kernels` and of those offered, and how many the helpers compiled."""
        from .emitter import emit_kernel
        start, busy = time.perf_counter(), self.times.total
        objects, helped = self._jobs.finish({key: ((emit_kernel, (k, kernel_symbol(key))), k.flops)
                                             for key, k in kernels.items()})
        if self._helped:
            waited = (time.perf_counter() - start) - (self.times.total - busy)
            self.times["helpers"] = self.times.get("helpers", 0.0) + waited
        runner_object = objects.pop(RUNNER_JOB, None)
        if runner_object is not None:
            cache.put(runner_cache_key(), runner_object)
        return objects, len(helped - {RUNNER_JOB})

    def close(self) -> None:
        self._jobs.close()


def _load(items: Sequence[tuple[str, bytes]], times: CompileTimes) -> dict[str, int]:
    """Load (symbol, object code) pairs; the address of each symbol an object defined."""
    if not items:
        return {}
    with times.phase("load"):
        addresses = jit.engine().load_many(items)
    return {sym: addr for (sym, _), addr in zip(items, addresses) if addr is not None}


def kernel_addresses(keys: Sequence[str], kernels: Optional[Mapping[str, Kernel]], times: CompileTimes,
                     compiles: Optional[KernelCompiles] = None) -> Optional[dict[str, int]]:
    """The address of each kernel in `keys` (one per call; repeats are reused): found
    loaded, loaded from the disk cache, else compiled from `kernels[key]` (by `compiles`,
    which may have started on them) and cached. Without `kernels`, None when a kernel is
    neither loaded nor cached.

    A disk entry that does not define its kernel's symbol counts as missing (and is
    rewritten), never as an error.
    """
    distinct = list(dict.fromkeys(keys))
    eng = jit.engine()
    found = {key: eng.address(kernel_symbol(key)) for key in distinct}
    found = {key: addr for key, addr in found.items() if addr is not None}
    in_process = sum(key not in times.from_disk for key in found)
    with times.phase("cache read"):
        stored = [(kernel_symbol(key), cache.get(kernel_cache_key(key))) for key in distinct if key not in found]
    loaded = _load([(sym, obj) for sym, obj in stored if obj is not None], times)
    for key in distinct:
        if kernel_symbol(key) in loaded:
            found[key] = loaded[kernel_symbol(key)]
            times.from_disk.add(key)
    missing = [key for key in distinct if key not in found]
    if missing and kernels is None:
        return None
    objects, by_helpers = {}, 0
    if missing:
        own = compiles is None
        compiles = KernelCompiles(times, len(missing) - 1) if own else compiles
        try:
            objects, by_helpers = compiles.finish({key: kernels[key] for key in missing})
        finally:
            if own:
                compiles.close()
    if objects:
        with times.phase("cache write"):
            for key, obj in objects.items():
                cache.put(kernel_cache_key(key), obj)
    compiled = _load([(kernel_symbol(key), obj) for key, obj in objects.items()], times) if objects else {}
    for key in missing:
        if kernel_symbol(key) not in compiled:
            raise RuntimeError(f"llvm backend: the object code of kernel {key[:12]} does not define its symbol")
        found[key] = compiled[kernel_symbol(key)]
    for name, n in (("calls", len(keys)), ("distinct", len(distinct)), ("reused", len(keys) - len(distinct)),
                    ("in process", in_process), ("loaded", len(distinct) - in_process - len(missing)),
                    ("compiled", len(missing)), ("by helpers", by_helpers)):
        times.count(name, n)
    return found


def runner_cache_key() -> str:
    return cache.make_key("runner", RUNNER_SYMBOL, *host_key())


@lru_cache(maxsize=None)
def _runner() -> Any:
    """The runner's native function (compiled once per host; cached on disk like a kernel)."""
    times = CompileTimes()
    key = runner_cache_key()
    obj = cache.get(key)
    address = _load([(RUNNER_SYMBOL, obj)], times).get(RUNNER_SYMBOL) if obj is not None else None
    if address is None:
        from .emitter import emit_runner
        obj = job_object((emit_runner, (RUNNER_SYMBOL,)), times)
        cache.put(key, obj)
        address = _load([(RUNNER_SYMBOL, obj)], times)[RUNNER_SYMBOL]
    return _RUNNER(address)


def runner() -> Any:
    with jit.lock:
        return _runner()


class Linked:
    """A program's calls bound to loaded kernels: the runner's table, and the space
    the runner gathers one call's arguments into. Not re-entrant (that space is shared):
    callers serialise calls."""

    def __init__(self, calls: Sequence[CallSlots], addresses: Mapping[str, int]):
        table = [len(calls)]
        for key, slots in calls:
            table += [addresses[key], len(slots)]
            for slot, offset in slots:
                table += [slot, offset]
        self.table = np.array(table, dtype=np.int64)
        self._kargs = (ctypes.c_void_p * (max((len(s) for _, s in calls), default=0) + 3))()
        self.clock = np.zeros(len(calls) + 1, np.int64)
        self._run = runner()

    def __call__(self, args_address: int, nthreads: int, profile: bool = False) -> None:
        """Run every call on the argument table at `args_address`; raise ValueError with
        the message of a failed run-time check (loopir.Check), or the exception a host function
        raised (loopir.HostCall). With `profile`, `clock` receives a reading before each call and
        after the last."""
        clock = self.clock.ctypes.data if profile else None
        status = self._run(args_address, nthreads, self.table.ctypes.data, ctypes.addressof(self._kargs), clock,
                           hostcalls.table_address())
        if status.message is not None:
            failure = hostcalls.take_failure()
            if failure is not None:
                raise failure
            raise ValueError(status.message.decode().format(status.detail))


class CompiledProgram:
    """A program's kernels loaded and linked. Call it with one array per "param" buffer.

    Arrays must match the buffers' dtypes, shapes and strides exactly; scratch
    space is owned here (so one object must not be called from two threads at
    once).
    """

    def __init__(self, program: Program):
        self.program, self.times = program, CompileTimes()
        with jit.lock, gc_paused():
            addresses = kernel_addresses([c.key for c in program.calls], {c.key: c.kernel for c in program.calls},
                                         self.times)
            self._linked = Linked(program.call_slots(), addresses)
        self.from_cache = self.times.counts.get("compiled", 0) == 0
        self._args = [b for b in program.params if b.scope == "param"]
        self._scratch = [b for b in program.params if b.scope == "scratch"]
        self._ptrs = (ctypes.c_void_p * len(program.params))()
        self._scratch_mem: Optional[tuple[int, list[np.ndarray]]] = None

    def __call__(self, *arrays: np.ndarray, nthreads: Optional[int] = None) -> None:
        if len(arrays) != len(self._args):
            raise TypeError(f"{self.program.name}: expected {len(self._args)} arrays, got {len(arrays)}")
        nthreads = default_threads() if nthreads is None else positive_threads(nthreads, "nthreads")
        slot = {b.name: i for i, b in enumerate(self.program.params)}
        for buf, arr in zip(self._args, arrays):
            self._ptrs[slot[buf.name]] = _check(buf, arr)
        for buf, mem in zip(self._scratch, self._scratch_for(nthreads)):
            self._ptrs[slot[buf.name]] = mem.__array_interface__["data"][0]
        self._linked(ctypes.addressof(self._ptrs), nthreads)

    def call_raw(self, args_address: int, nthreads: int) -> None:
        """Run with a ready array of argument addresses (one per param, in order);
        the caller owns every buffer, scratch included."""
        self._linked(args_address, nthreads)

    def _scratch_for(self, nthreads: int) -> list[np.ndarray]:
        """Scratch for at least `nthreads` threads, grown when more are asked for."""
        from .emitter import scratch_stride       # compiled programs have loaded it
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
        """The LLVM IR of the program's distinct kernels (before or after optimisation)."""
        calls = [self.program.calls[k] for k in self.program.distinct()]
        return "\n".join(kernel_ir(c.kernel, c.key, optimized) for c in calls)

    def assembly(self) -> str:
        calls = [self.program.calls[k] for k in self.program.distinct()]
        return "\n".join(kernel_assembly(c.kernel, c.key) for c in calls)


def kernel_ir(kernel: Kernel, key: str, optimized: bool = True) -> str:
    """The LLVM IR of one canonical kernel's module."""
    from .emitter import emit_kernel
    text = str(emit_kernel(kernel, kernel_symbol(key)))
    if not optimized:
        return text
    with jit.lock:
        return str(jit.optimize(text)[0])


def kernel_assembly(kernel: Kernel, key: str) -> str:
    """Host assembly of one canonical kernel's module, after optimisation."""
    from .emitter import emit_kernel
    text = str(emit_kernel(kernel, kernel_symbol(key)))
    with jit.lock:
        return jit.assembly(text, kernel.strength_reduce)


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
    """`program`'s kernels from memory, the disk cache or LLVM, linked to its params."""
    return CompiledProgram(program)


@dataclass
class Loaded:
    """A plan found or built by `load_or_build`, linked."""

    plan: Any
    linked: Linked


_plans: dict[str, Any] = {}


def load_or_build(key: str, build: Callable[[Callable[[str, Kernel], None]], tuple[Program, Any]],
                  times: Optional[CompileTimes] = None) -> Loaded:
    """The plan stored under `key` (this process, then the disk cache) with its kernels
    loaded, else `build(offer)`'s (program, plan) compiled and the plan stored; the build
    calls `offer(key, kernel)` for each canonical kernel as it lowers it, so that helpers
    compile it meanwhile. The plan must have `calls`, a list of CallSlots. `key` must name
    everything the program depends on (the caller's inputs, plus host_key()). The phases'
    seconds go to `times` (build() may add its own)."""
    times = CompileTimes() if times is None else times
    with jit.lock:
        plan = _plans.get(key)
        if plan is None:
            with times.phase("cache read"):
                payload = cache.get(key, "function")
                try:
                    plan = None if payload is None else pickle.loads(payload)
                except Exception:   # an entry from an incompatible version: rebuild it
                    plan = None
        if plan is not None:
            addresses = kernel_addresses([k for k, _ in plan.calls], None, times)
            if addresses is not None:
                _plans[key] = plan
                return Loaded(plan, Linked(plan.calls, addresses))
        compiles = KernelCompiles(times)
        try:
            with gc_paused():
                program, plan = build(compiles.offer)
                addresses = kernel_addresses([c.key for c in program.calls],
                                             {c.key: c.kernel for c in program.calls}, times, compiles)
                del program             # freed while the collector is off: it never walks the loop IR
        finally:
            compiles.close()
        with times.phase("cache write"):
            cache.put(key, pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL), "function")
        _plans[key] = plan
        return Loaded(plan, Linked(plan.calls, addresses))
