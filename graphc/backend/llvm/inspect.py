"""What a compiled function shows of itself: its kernels, their LLVM IR and assembly, a profile,
what compiling it cost.

Everything refers to the program of the last call's argument shapes (or, for a
function whose inputs all have static shapes, to those).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from ...ir import DTypeError, ShapeError, format_shape
from .plan import CallPlan, KernelInfo
from .canonical import renamed
from .loopir import (Accumulate, Bin, Bitcast, Block, Broadcast, Buffer, Call, Cast, Check, Const, Fma, For,
                     HostCall, If, Kernel, Let, Load, Prefetch, Program, Select, Shuffle, Stmt, Store, Un, Var, buffers,
                     contiguous_strides)
from .runtime import CompileTimes, kernel_assembly, kernel_ir

if TYPE_CHECKING:
    from .executor import LLVMExecutor

KernelRef = Union[int, str, None]


@dataclass(frozen=True)
class KernelTime:
    kernel: KernelInfo
    seconds: float


@dataclass(frozen=True)
class Memory:
    """Bytes one call holds beyond its arguments: the arena (intermediates and kernel
    workspaces, placed so that buffers whose lifetimes do not overlap share bytes), the
    outputs it allocates and the constants it keeps. `peak` is their sum, an upper
    bound on what a call adds to the caller's memory."""

    arena: int
    outputs: int
    constants: int

    @property
    def peak(self) -> int:
        return self.arena + self.outputs + self.constants

    def __str__(self) -> str:
        rows = [("arena", self.arena), ("outputs", self.outputs), ("constants", self.constants),
                ("peak", self.peak)]
        return "\n".join(f"{name:<10} {nbytes / 2 ** 20:>10.2f} MiB" for name, nbytes in rows)


class Profile(list):
    """Per-kernel times of one call (a list of KernelTime) that prints as a table."""

    def __init__(self, rows: list[KernelTime], total: float):
        super().__init__(rows)
        self.total = total

    def __str__(self) -> str:
        lines = [f"{'kernel':<36} {'shape':<18} {'us':>10} {'share':>6}"]
        for row in self:
            share = row.seconds / self.total if self.total else 0.0
            lines.append(f"{row.kernel.name:<36} {format_shape(row.kernel.shape):<18} "
                         f"{row.seconds * 1e6:>10.1f} {share:>6.1%}")
        lines.append(f"{'total (one native call)':<55} {self.total * 1e6:>10.1f}")
        return "\n".join(lines)


class Inspector:
    """`f.inspect` of an llvm-compiled function."""

    def __init__(self, executor: "LLVMExecutor"):
        self._ex = executor

    def _shapes(self) -> tuple:
        ex = self._ex
        if ex.last_shapes is not None:
            return ex.last_shapes
        if all(x.type.is_static for x in ex.inputs):
            return tuple(tuple(x.type.shape) for x in ex.inputs)
        raise RuntimeError("the function specialises on its arguments' shapes: call it once before inspecting it")

    def plan(self) -> CallPlan:
        """How the program is called: its arguments, arena plan and kernels."""
        spec = self._ex.specialised(self._shapes())
        return spec.plan or self._ex.program(self._shapes())[1]

    def memory(self) -> Memory:
        """What a call allocates: arena, outputs and constants in bytes (prints in MiB)."""
        plan = self.plan()
        outputs = sum(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
                      for shape, dtype in (plan.output_types[name] for name in dict.fromkeys(plan.outputs)))
        return Memory(plan.arena_bytes, outputs, sum(int(v.nbytes) for v in plan.constants.values()))

    def compile_times(self) -> CompileTimes:
        """Seconds per phase of compiling (or loading from the disk cache) the program:
        key, cache read, then on a miss simplify, specialise, lower, emit, optimise, codegen,
        cache write; and load. Its `counts` say how many kernel calls the program makes,
        how many distinct kernels they run, and of those how many were found loaded in this
        process, loaded from the disk cache or compiled. Prints as a table."""
        return self._ex.specialised(self._shapes()).times

    def program(self) -> Program:
        """The program's loop IR (rebuilt when it came from the disk cache)."""
        return self._ex.program(self._shapes())[0]

    def kernels(self) -> list[KernelInfo]:
        """The kernels run by one call, in order: name, fused ops, output shape, input shapes, FLOPs."""
        return list(self.plan().kernels)

    def listing(self) -> str:
        """The kernels as a table."""
        lines = [f"{'#':>3} {'group':>5} {'kernel':<32} {'shape':<18} {'flops':>12}  fused ops"]
        for k, info in enumerate(self.kernels()):
            lines.append(f"{k:>3} {info.group:>5} {info.name:<32} {format_shape(info.shape):<18} {info.flops:>12}  "
                         f"{' '.join(info.ops)}")
        return "\n".join(lines)

    def _positions(self, kernel: KernelRef) -> list[int]:
        """The position of one kernel (by index or name), or of the first call of each
        distinct kernel."""
        if kernel is None:
            return self.program().distinct()
        names = [k.name for k in self.kernels()]
        k = names.index(kernel) if isinstance(kernel, str) else kernel
        if not 0 <= k < len(names):
            raise IndexError(f"kernel {kernel!r}: the function has {len(names)} kernels")
        return [k]

    def _calls(self, kernel: KernelRef) -> list[Call]:
        calls = self.program().calls
        return [calls[k] for k in self._positions(kernel)]

    def loop_ir(self, kernel: KernelRef = None) -> str:
        """The loop IR of one kernel (by index or name; else of every distinct kernel), as
        built before code generation, as text, with the program's buffer names (the
        compiled kernel names them p0, p1, ...; `program().calls[k]` gives the exact tree)."""
        names = [k.name for k in self.kernels()]
        calls = self.program().calls
        shown = []
        for k in self._positions(kernel):
            c = calls[k]
            body = renamed(c.kernel.body, {(f"p{j}", 0): arg if not at else f"{arg}@{at}"
                                           for j, (arg, at) in enumerate(zip(c.args, c.offsets))})
            shown.append(format_kernel(Kernel(names[k], body, c.kernel.flops)))
        return "\n\n".join(shown)

    def llvm_ir(self, kernel: KernelRef = None, optimized: bool = True) -> str:
        """LLVM IR of one kernel (by index or name), else of every distinct kernel."""
        return "\n".join(kernel_ir(c.kernel, c.key, optimized) for c in self._calls(kernel))

    def assembly(self, kernel: KernelRef = None) -> str:
        """Host assembly of one kernel (by index or name), else of every distinct kernel."""
        return "\n".join(kernel_assembly(c.kernel, c.key) for c in self._calls(kernel))

    def profile(self, *args: Any, repeat: int = 1) -> Profile:
        """Run the function on `args` with a clock reading around each kernel (`repeat`
        times, keeping the fastest run per kernel) and return each kernel's time.
        Updates are not applied. Each timed run writes into the outputs of an untimed
        first one, as a function's calls write into the values their updates replaced:
        new arrays would add the page faults of their first touch to the kernels' times."""
        ex = self._ex
        if len(args) != len(ex.inputs):
            raise TypeError(f"profile takes {len(ex.inputs)} arguments, got {len(args)}")
        arrays = [_checked(x, a) for x, a in zip(ex.inputs, args)]
        bound = ex.bound(tuple(a.shape for a in arrays))
        outputs = bound(ex.values(arrays), ex.threads)
        best: Optional[np.ndarray] = None
        for _ in range(max(1, repeat)):
            bound(ex.values(arrays), ex.threads, profile=True, storage=outputs)
            spans = np.diff(bound.clock) * 1e-9
            best = spans if best is None else np.minimum(best, spans)
        rows = [KernelTime(info, float(t)) for info, t in zip(bound.plan.kernels, best)]
        return Profile(rows, float(best.sum()))


def _checked(node, arg) -> np.ndarray:
    arr = np.asarray(arg)
    if arr.dtype != node.dtype:
        raise DTypeError(f"argument {node.name!r}: expected dtype {node.dtype}, got {arr.dtype}")
    if not node.type.accepts(arr.shape):
        raise ShapeError(f"argument {node.name!r}: expected shape {format_shape(node.type.shape)}, "
                         f"got {format_shape(arr.shape)}")
    return arr


# ---------------------------------------------------------------- loop IR as text

#: Infix operators of Bin and their precedence (higher binds tighter); other ops print as calls.
_INFIX = {"mul": ("*", 5), "div": ("/", 5), "floordiv": ("//", 5), "mod": ("%", 5), "add": ("+", 4),
          "sub": ("-", 4), "shl": ("<<", 3), "shr": (">>", 3), "and": ("&", 2), "xor": ("^", 2), "or": ("|", 2),
          "lt": ("<", 1), "le": ("<=", 1), "gt": (">", 1), "ge": (">=", 1), "eq": ("==", 1), "ne": ("!=", 1)}
_ACCUMULATE = {"add": "+=", "mul": "*=", "max": "max=", "min": "min="}


def format_kernel(kernel: Kernel) -> str:
    """A kernel as indented pseudo-code: its buffers, then its loops (kind and width in brackets)."""
    lines = [f"kernel {kernel.name}: {kernel.flops} flops"]
    lines += [f"  {_buffer(b)}" for b in buffers(kernel.body)]
    _stmt(kernel.body, 0, lines)
    return "\n".join(lines)


def _buffer(b: Buffer) -> str:
    text = f"{b.name}: {b.dtype}[{', '.join('?' if n is None else str(n) for n in b.shape)}]"
    if None not in b.shape and b.strides != contiguous_strides(b.shape):
        text += f" strides {b.strides}"
    if b.base is not None:
        text += f" view of {b.base} at byte {b.offset}"
    return text if b.scope == "param" else f"{text} ({b.scope})"


def _stmt(s: Stmt, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    if isinstance(s, Block):
        for inner in s.stmts:
            _stmt(inner, depth, lines)
    elif isinstance(s, For):
        extent = _expr(s.extent)
        bounds = extent if s.start == Const(0) else f"{_expr(s.start)}, {_expr(s.start)} + {extent}"
        how = "" if s.kind == "serial" else f" [{s.kind}{f' {s.width}' if s.width > 1 else ''}]"
        lines.append(f"{pad}for {s.var.name} in range({bounds}){how}:")
        _stmt(s.body, depth + 1, lines)
    elif isinstance(s, If):
        lines.append(f"{pad}if {_expr(s.cond)}:")
        _stmt(s.then, depth + 1, lines)
        if s.orelse is not None:
            lines.append(f"{pad}else:")
            _stmt(s.orelse, depth + 1, lines)
    elif isinstance(s, Store):
        lines.append(f"{pad}{_place(s.buf, s.index, s.value.type.lanes)} = {_expr(s.value)}")
    elif isinstance(s, Accumulate):
        op = _ACCUMULATE.get(s.op, f"{s.op}=")
        lines.append(f"{pad}{_place(s.buf, s.index, s.value.type.lanes)} {op} {_expr(s.value)}")
    elif isinstance(s, Prefetch):
        lines.append(f"{pad}prefetch {_place(s.buf, s.index, 1)}")
    elif isinstance(s, HostCall):
        lines.append(f"{pad}{s.function}({s.buf.name}[0:{s.buf.size}])  # a call back into the process")
    else:
        lines.append(f"{pad}{s!r}")


def _place(buf: Buffer, index, lanes: int) -> str:
    """`buf[index]`, or `buf[index:+lanes]` for a vector of consecutive elements."""
    return f"{buf.name}[{_expr(index)}{f':+{lanes}' if lanes > 1 else ''}]"


def _expr(e, parent: int = 0) -> str:
    if isinstance(e, Const):
        return str(e.value).lower() if isinstance(e.value, bool) else repr(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Load):
        return _place(e.buf, e.index, e.lanes)
    if isinstance(e, Bin):
        if e.op not in _INFIX:
            return f"{e.op}({_expr(e.a)}, {_expr(e.b)})"
        symbol, prec = _INFIX[e.op]
        text = f"{_expr(e.a, prec)} {symbol} {_expr(e.b, prec + 1)}"
        return f"({text})" if prec < parent else text
    if isinstance(e, Un):
        return f"-{_expr(e.a, 6)}" if e.op == "neg" else f"{e.op}({_expr(e.a)})"
    if isinstance(e, Broadcast):
        return f"broadcast({_expr(e.value)}, {e.lanes})"
    if isinstance(e, Fma):
        return f"fma({_expr(e.a)}, {_expr(e.b)}, {_expr(e.c)})"
    if isinstance(e, Select):
        return f"select({_expr(e.cond)}, {_expr(e.a)}, {_expr(e.b)})"
    if isinstance(e, Cast):
        return f"{e.dtype}({_expr(e.a)})"
    if isinstance(e, Bitcast):
        return f"bitcast<{e.dtype}>({_expr(e.a)})"
    if isinstance(e, Shuffle):
        return f"shuffle({_expr(e.a)}, {_expr(e.b)}, {list(e.mask)})"
    if isinstance(e, Let):
        return f"(let {e.var.name} = {_expr(e.value)} in {_expr(e.body)})"
    if isinstance(e, Check):
        return f"check({_expr(e.cond)}, {_expr(e.value)}, {e.message!r})"
    return repr(e)
