"""The host target, the optimisation pipeline, object code and the process's JIT engine.

Optimisation is LLVM's O3 with its loop unroller off: loops are unrolled in the
loop IR by schedules, because LLVM's full unrolling of constant-trip loops can
cost a second per kernel. Objects are loaded into one long-lived MCJIT engine
(an engine owns its target machine; one engine per process avoids the
double-free of shared machines).

Everything that touches LLVM state runs under `lock` (one per process): the
engine is created once, and compiling and loading from several Python threads
at once is safe (llvmlite serialises its calls one by one, not sequences of
them, such as adding an object and looking up its symbols).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import llvmlite
import llvmlite.binding as llvm

#: Held by whoever compiles, loads or creates the engine (re-entrant: compiling loads).
lock = threading.RLock()


@lru_cache(maxsize=None)
def _initialise() -> None:
    with lock:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()


@lru_cache(maxsize=None)
def host() -> tuple[str, str, str]:
    """(triple, cpu name, cpu features) of this machine: part of every cache key."""
    _initialise()
    return llvm.get_process_triple(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def toolchain_id() -> str:
    """What the generated code depends on besides its IR."""
    return f"llvmlite {llvmlite.__version__} llvm {'.'.join(map(str, llvm.llvm_version_info))}"


def target_machine() -> llvm.TargetMachine:
    """A fresh machine for the host (machines are not shared: an engine takes ownership)."""
    triple, cpu, features = host()
    return llvm.Target.from_triple(triple).create_target_machine(cpu=cpu, features=features, opt=3, jit=True)


@lru_cache(maxsize=None)
def _compiling_machine() -> llvm.TargetMachine:
    """The machine that optimises and generates code (owned by no engine, so kept)."""
    return target_machine()


def optimize(text: str) -> tuple[llvm.ModuleRef, llvm.TargetMachine]:
    """Parse, verify and optimise LLVM IR text for the host (callers hold `lock`)."""
    tm = _compiling_machine()
    mod = llvm.parse_assembly(text)
    mod.triple, mod.data_layout = tm.triple, str(tm.target_data)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_unrolling = False
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod, tm


@contextmanager
def _codegen(strength_reduce: bool) -> Iterator[None]:
    """Code generation with LLVM's loop strength reduction on or off (a process-wide
    option: callers hold `lock`)."""
    if strength_reduce:
        yield
        return
    llvm.set_option("", "-disable-lsr=true")
    try:
        yield
    finally:
        llvm.set_option("", "-disable-lsr=false")


def emit_object(mod: llvm.ModuleRef, tm: llvm.TargetMachine, strength_reduce: bool = True) -> bytes:
    """Object code of an optimised module (callers hold `lock`). Loop strength reduction
    may be turned off: on the convolutions' micro-kernels, whose loops address a dozen
    rows at once, it is half of code generation and lengthens their inner loop."""
    with _codegen(strength_reduce):
        return tm.emit_object(mod)


def assembly(text: str, strength_reduce: bool = True) -> str:
    """Host assembly of LLVM IR text, after optimisation (for inspection)."""
    mod, tm = optimize(text)
    with _codegen(strength_reduce):
        return tm.emit_assembly(mod)


class Engine:
    """One MCJIT engine taking object files; symbols are looked up once loaded."""

    def __init__(self) -> None:
        _initialise()
        tm = target_machine()
        empty = llvm.parse_assembly("")
        empty.triple, empty.data_layout = tm.triple, str(tm.target_data)
        self._ee = llvm.create_mcjit_compiler(empty, tm)
        self._loaded: dict[str, int] = {}

    def address(self, symbol: str) -> int | None:
        """The address of an already loaded symbol, else None."""
        return self._loaded.get(symbol)

    def load_many(self, items: list[tuple[str, bytes]]) -> list[int | None]:
        """Load each (symbol, object code) pair whose symbol is not loaded yet; the
        address of each symbol, None where its object did not define it."""
        with lock:
            fresh = [(sym, obj) for sym, obj in items if sym not in self._loaded]
            for _, obj in fresh:
                self._ee.add_object_file(llvm.ObjectFileRef.from_data(obj))
            if fresh:
                self._ee.finalize_object()
            for sym, _ in fresh:
                addr = self._ee.get_function_address(sym)
                if addr:
                    self._loaded[sym] = addr
            return [self._loaded.get(sym) for sym, _ in items]


_engine: Engine | None = None


def engine() -> Engine:
    """The process's engine, created on first use."""
    global _engine
    with lock:
        if _engine is None:
            _engine = Engine()
        return _engine
