"""The llvm executor of `gc.function`: specialise per signature, compile once, one native call per call.

A compiled signature is named by the graph as given (before the `prepare` step,
the simplifier) plus the argument shapes (graphkey.py), and looked up in this
process, then in the disk cache. Only on a miss is the graph prepared,
specialised to the shapes, partitioned, lowered into one Program and its new
kernels compiled: a cached function costs neither simplifying nor building. A
`Bound` program owns its arena and a table of argument addresses in which only
the inputs' and outputs' slots change from call to call.

Compiled functions may be called, and compiled, from any number of threads:
building and loading code runs under the backend's lock (jit.lock), and each
Bound program serialises its calls (they share its arena).
"""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Protocol, Sequence

import numpy as np

from ...ir import Node, toposort
from ...ops.leaves import is_shared
from ..threads import positive_threads
from . import jit
from .cache import make_key
from .graphkey import graph_key
from .plan import CallPlan
from .runtime import CompileTimes, Linked, default_threads, load_or_build

if TYPE_CHECKING:       # the compiler is imported on a cache miss only (a warm start loads none of it)
    from .inspect import Inspector
    from .loopir import Kernel, Program

#: The arena starts on a cache line.
_ALIGN = 64


def _aligned(nbytes: int) -> np.ndarray:
    raw = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    skip = -raw.__array_interface__["data"][0] % _ALIGN
    return raw[skip:skip + nbytes]


def _address(a: np.ndarray) -> int:
    """The address of a C-contiguous array's data (the ctypes route is 3x faster than
    __array_interface__, but needs a writable, non-empty buffer)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.__array_interface__["data"][0]


class Bound:
    """A linked program with its arena, constants and argument table.

    Not re-entrant: the arena is shared, so calls are serialised by a lock.
    """

    def __init__(self, plan: CallPlan, linked: Linked):
        self.plan, self._linked = plan, linked
        slot = {name: k for k, name in enumerate(plan.params)}
        self._ptrs = (ctypes.c_void_p * len(plan.params))()
        self._table = ctypes.addressof(self._ptrs)
        self.arena = _aligned(plan.arena_bytes)
        base = _address(self.arena)
        for name, offset in plan.arena_offsets.items():
            self._ptrs[slot[name]] = base + offset
        for name, value in plan.constants.items():
            self._ptrs[slot[name]] = _address(value)
        self._in_slots = [slot[n] for n in plan.inputs]
        names = list(dict.fromkeys(plan.outputs))
        self._out_slots = [slot[n] for n in names]
        self._out_types = [plan.output_types[n] for n in names]
        self._out_pick = [names.index(n) for n in plan.outputs]
        self._positions: list[list[int]] = [[] for _ in names]     # per output, where the caller's list has it
        for position, k in enumerate(self._out_pick):
            self._positions[k].append(position)
        self._lock = threading.Lock()

    @property
    def clock(self) -> np.ndarray:
        """The last profiled call's clock readings (ns): before each kernel, after the last."""
        return self._linked.clock

    def __call__(self, arrays: Sequence[np.ndarray], nthreads: int, profile: bool = False,
                 storage: Optional[Sequence[Optional[np.ndarray]]] = None) -> list[np.ndarray]:
        outs = [self._output_array(k, storage) for k in range(len(self._out_types))]
        with self._lock:
            ptrs = self._ptrs
            for k, a in zip(self._in_slots, arrays):
                ptrs[k] = _address(a)
            for k, a in zip(self._out_slots, outs):
                ptrs[k] = _address(a)
            self._linked(self._table, nthreads, profile)
        return [outs[k] for k in self._out_pick]


    def _output_array(self, k: int, storage: Optional[Sequence[Optional[np.ndarray]]]) -> np.ndarray:
        """Where output k goes: an array `storage` offers for one of its positions when it
        fits (shape, dtype, C order, writable), else a new one."""
        shape, dtype = self._out_types[k]
        for position in self._positions[k] if storage is not None else ():
            offered = storage[position]
            if (offered is not None and offered.shape == tuple(shape) and offered.dtype == dtype
                    and offered.flags.c_contiguous and offered.flags.writeable):
                return offered
        return np.empty(shape, dtype)


class Prepare(Protocol):
    """A graph-to-graph step run before compiling (gc.function passes the simplifier).

    `key` names the step and whatever its result depends on beyond graphc's
    source (graph keys cover that): the compiled code depends on its result.
    """

    key: str

    def __call__(self, outputs: list[Node]) -> list[Node]: ...


@dataclass
class Specialised:
    """One signature: its cache key; built only on demand (a cache miss, inspection),
    its Program and plan (the plan also comes from the cache); what compiling it cost."""

    key: str
    plan: Optional[CallPlan] = None
    program: Optional[Program] = None
    times: CompileTimes = field(default_factory=CompileTimes)


class LLVMExecutor:
    """`gc.function(..., backend="llvm")`: called with checked argument arrays.

    Shared variables are extra inputs of the program, read at every call; the
    results are the outputs followed by the update values. `prepare` runs on the
    outputs before they are compiled (never when the compiled code is cached).
    `threads` is the number of threads kernels may split over (default:
    GRAPHC_NUM_THREADS, else the available cores).
    """

    def __init__(self, inputs: Sequence[Node], outputs: Sequence[Node], prepare: Optional[Prepare] = None,
                 threads: Optional[int] = None, name: str = "graph"):
        self.inputs, self.outputs, self.prepare = list(inputs), list(outputs), prepare
        self.shared = [n for n in toposort(self.outputs) if is_shared(n)]
        self.threads = default_threads() if threads is None else positive_threads(threads, "threads")
        self.name = name
        self._key: Optional[str] = None
        self._prepared: Optional[list[Node]] = None
        self._bound: dict[tuple, Bound] = {}
        self._specialised: dict[tuple, Specialised] = {}
        self.last_shapes: Optional[tuple] = None
        self._inspector: Optional[Inspector] = None

    @property
    def inspect(self) -> Inspector:
        """What the compiled code looks like (inspect.py; imported when first asked for)."""
        if self._inspector is None:
            from .inspect import Inspector
            self._inspector = Inspector(self)
        return self._inspector

    def values(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The program's input arrays: the arguments, then the shared variables' values (C order)."""
        return [np.ascontiguousarray(a) for a in arrays] + \
            [np.ascontiguousarray(s.op.container.value) for s in self.shared]

    def key(self) -> str:
        """The cache key of the graph as given, for any shapes (computed once)."""
        if self._key is None:
            step = "none" if self.prepare is None else self.prepare.key
            self._key = graph_key(self.inputs + self.shared, self.outputs, f"threads={self.threads}",
                                  f"prepare={step}")
        return self._key

    def prepared(self) -> list[Node]:
        """The outputs after the `prepare` step (run once, on demand)."""
        if self._prepared is None:
            self._prepared = self.outputs if self.prepare is None else list(self.prepare(self.outputs))
        return self._prepared

    def specialised(self, shapes: tuple) -> Specialised:
        found = self._specialised.get(shapes)
        if found is None:
            found = self._specialised[shapes] = Specialised(make_key(self.key(), repr(shapes)))
        return found

    def program(self, shapes: tuple, times: Optional[CompileTimes] = None,
                offer: Optional[Callable[[str, Kernel], None]] = None, keep: bool = True) -> tuple[Program, CallPlan]:
        """The Program (loop IR) of a signature, built on demand (a cache miss, inspection):
        the prepared graph specialised to `shapes` (which checks them), partitioned and lowered;
        `offer(key, kernel)` receives each canonical kernel as it is lowered. Kept for later
        inspection if `keep`; a compile does not keep it: the loop IR is a hundred thousand
        objects that Python's collector would walk at every full collection, for nothing."""
        spec = self.specialised(shapes)
        program = spec.program
        if program is None:
            from .build import build_program
            from .specialize import specialize
            times = CompileTimes() if times is None else times
            with times.phase("simplify"):
                prepared = self.prepared()
            with times.phase("specialise"):
                static_inputs, outputs = specialize(self.inputs, prepared, shapes)
            with times.phase("lower"):
                program, plan = build_program(static_inputs + self.shared, outputs, self.threads, self.name, offer)
            spec.plan = spec.plan or plan
            if keep:
                spec.program = program
        return program, spec.plan

    def bound(self, shapes: tuple) -> Bound:
        """The linked program for inputs of `shapes` (built or loaded at the first request;
        one thread builds it while others wait)."""
        found = self._bound.get(shapes)
        if found is None:
            with jit.lock:
                found = self._bound.get(shapes)
                if found is None:
                    times = CompileTimes()
                    with times.phase("key"):
                        spec = self.specialised(shapes)
                    loaded = load_or_build(spec.key, lambda offer: self.program(shapes, times, offer, keep=False), times)
                    spec.times = times
                    spec.plan = spec.plan or loaded.plan
                    found = self._bound[shapes] = Bound(loaded.plan, loaded.linked)
        return found

    def __call__(self, arrays: Sequence[np.ndarray],
                 storage: Optional[Sequence[Optional[np.ndarray]]] = None) -> list[np.ndarray]:
        """The outputs for `arrays`; `storage` may offer, per output, an array to write it
        into (one the caller no longer needs; used when its shape and dtype fit)."""
        shapes = self.last_shapes = tuple(a.shape for a in arrays)
        program = self._bound.get(shapes) or self.bound(shapes)
        return program(self.values(arrays), self.threads, storage=storage)
