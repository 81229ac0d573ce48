"""Loop IR -> LLVM IR. The only module that builds LLVM instructions.

Each canonical kernel becomes an LLVM module of its own, exporting
`void <symbol>(i8** args, i64 nthreads)`; each parallel loop is outlined into a
function `(args, lo, hi, tid)` run by the process's worker pool (threadpool.py,
part of the runner's module), whose `parallel_for` every call finds in its
argument table. Modules are small, so optimising them costs time linear in
the number of distinct kernels, and each is cached on its own. A program runs
its kernels through one shared runner (`emit_runner`), which gathers each
call's arguments from the program's argument table. Modules are written as LLVM IR
text through textir.py (llvmlite.ir's builder API, without its objects).

The runner returns a status `{i8* message, i64 detail}`: a null message, or
that of the first failed run-time check (`Check`: what numpy refuses, e.g. an
integer to a negative power) with the offending value. Kernels write it
through a pointer in the slot after their arguments.

Integer arithmetic wraps as numpy's does. Only index arithmetic (the indices
of loads and stores, loop bounds), which the compiler generates and which
stays within buffers, carries LLVM's no-signed-wrap flag.

Vectorised loops are emitted Halide-style: the body is evaluated with the loop
variable as a vector of `width` lanes; a load whose index has coefficient 1 in
that variable is one vector load, coefficient 0 is a scalar broadcast, anything
else a gather. A reduction into a location that does not depend on the loop
variable keeps a vector partial and folds it after the vector loop.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from itertools import islice
from typing import Callable, Iterator, Optional

from . import mathlib
from . import textir as ir
from .threadpool import BODY_TYPE, PARALLEL_FOR_TYPE, emit_parallel_for
from .canonical import storages
from .hostcalls import HOST_FUNCTIONS
from .loopir import (DTYPES, Accumulate, Bin, Bitcast, Block, Broadcast, Buffer, Cast, Check, Const, Expr, Fma, For,
                     HostCall, If, Kernel, Let, Load, Prefetch, Select, Shuffle, Stmt, Store, Un, Var, VType, free_vars,
                     identity, is_float, itemsize, linear_coeff, pure, walk, written)

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
I8P = I8.as_pointer()
ARGS = I8P.as_pointer()
#: What the entry point returns: the message of a failed check (or null) and its detail value.
STATUS = ir.LiteralStructType([I8P, I64])
_SCALAR = {"float32": ir.FloatType(), "float64": ir.DoubleType(), "int32": I32, "int64": I64, "bool": I1}
FAST = ("contract",)
#: Scratch slices of different threads start on separate cache lines.
SCRATCH_ALIGN = 64
#: Independent vector partials of a vectorised reduction (hides the add/max latency).
REDUCTION_CHAINS = 4
CHAINED_BODY_NODES = 48
#: A vector loop's tail takes a half-vector step first when its body is smaller than this (a
#: copy, a packing step): larger bodies (epilogues) cost more to compile twice than their tails
#: take to run one element at a time.
HALF_STEP_BODY_NODES = 40
CLOCK_MONOTONIC = 1
#: What a kernel is: `void (i8** args, i64 nthreads)` (see ModuleEmitter).
KERNEL_TYPE = ir.FunctionType(ir.VoidType(), [ARGS, I64])
#: What a host function is (hostcalls.py): `i32 (i8* data, i64 count, i32 dtype)`, non-zero on failure.
HOST_TYPE = ir.FunctionType(I32, [I8P, I64, I32])


@lru_cache(maxsize=None)
def _vector_constant(ty: ir.VectorType, values: Optional[tuple]) -> ir.Constant:
    """A vector constant (None: undef), made once: llvmlite builds them slowly."""
    return ir.Constant(ty, ir.Undefined if values is None else list(values))


def _splat_constant(ty: ir.Type, value) -> ir.Constant:
    """`value` as a constant of scalar or vector type `ty`."""
    if isinstance(ty, ir.VectorType):
        return _vector_constant(ty, (value,) * ty.count)
    return ir.Constant(ty, value)


def ll_type(t: VType) -> ir.Type:
    base = _SCALAR[t.dtype]
    return base if t.lanes == 1 else ir.VectorType(base, t.lanes)


def _mem_type(dtype: str) -> ir.Type:
    return I8 if dtype == "bool" else _SCALAR[dtype]


def scratch_stride(buf: Buffer) -> int:
    """Bytes between two threads' copies of a scratch buffer."""
    return -(-buf.nbytes // SCRATCH_ALIGN) * SCRATCH_ALIGN


def _scalar_of(ty: ir.Type) -> ir.Type:
    return ty.element if isinstance(ty, ir.VectorType) else ty


def _lanes(v: ir.Value) -> int:
    return v.type.count if isinstance(v.type, ir.VectorType) else 1


def _suffix(ty: ir.Type) -> str:
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_suffix(ty.element)}"
    return {"float": "f32", "double": "f64"}.get(str(ty), str(ty))


def _known(v: ir.Value) -> Optional[int]:
    """The value of an integer constant, else None."""
    return v.constant if isinstance(v, ir.Constant) and isinstance(v.constant, int) else None


#: The loop property that keeps LLVM from vectorising a loop (a vector loop's scalar tail).
NO_VECTORIZE = '!"llvm.loop.vectorize.enable", i1 false'


def counted_loop(b: ir.IRBuilder, lo: ir.Value, hi: ir.Value, step: int,
                 body: Callable[[ir.Value], None], name: str = "i", properties: tuple[str, ...] = ()) -> None:
    """for (i = lo; i < hi; i += step) body(i), leaving `b` after the loop; `properties` are
    LLVM's loop metadata for it. With constant bounds, no iteration emits nothing and one
    iteration emits its body alone."""
    first, end = _known(lo), _known(hi)
    if first is not None and end is not None and end - first <= step:
        if end > first:
            body(lo)
        return
    pre = b.block
    cond, loop_bb, done = (b.append_basic_block(f"{name}.{s}") for s in ("cond", "body", "end"))
    b.branch(cond)
    b.position_at_end(cond)
    i = b.phi(I64, name)
    i.add_incoming(lo, pre)
    b.cbranch(b.icmp_signed("<", i, hi), loop_bb, done)
    b.position_at_end(loop_bb)
    body(i)
    i.add_incoming(b.add(i, ir.Constant(I64, step), flags=["nsw"]), b.block)
    b.branch(cond, b.block.function.module.loop(*properties) if properties else None)
    b.position_at_end(done)


class ModuleEmitter:
    """Builds the module of one kernel: an exported function `void symbol(i8** args,
    i64 nthreads)` whose `args[j]` is the address of the kernel's j-th storage (its
    canonical name is p<j>) and `args[len(params)]` that of the call's status record, then the
    pool's parallel_for and the process's table of host functions (hostcalls.py)."""

    def __init__(self, kernel: Kernel, symbol: str):
        self.kernel, self.symbol = kernel, symbol
        self.module = ir.Module(name=symbol)
        self.slots = {name: j for j, name in enumerate(storages(kernel.body))}
        self._decls: dict[str, ir.Function] = {}
        self._outlined = 0
        self.status_slot = len(self.slots)          # the args slot holding the status record's address
        self.pool_slot = self.status_slot + 1       # and the one holding the pool's parallel_for
        self.host_slot = self.pool_slot + 1         # and the one holding the table of host functions
        self._messages: dict[str, ir.Constant] = {}

    def declare(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        if name not in self._decls:
            self._decls[name] = ir.Function(self.module, ir.FunctionType(ret, args), name)
        return self._decls[name]

    def intrinsic(self, name: str, ty: ir.Type, nargs: int = 1) -> ir.Function:
        """`llvm.<name>.<suffix>` over `ty` (declared by hand: llvmlite's helper rejects vectors)."""
        return self.declare(f"llvm.{name}.{_suffix(ty)}", ty, [ty] * nargs)

    def emit(self) -> ir.Module:
        fn = ir.Function(self.module, KERNEL_TYPE, self.symbol)
        fe = FunctionEmitter(self, fn, fn.args[0], fn.args[1], ir.Constant(I64, 0), outlined=False)
        body = mathlib.expand(self.kernel.body)
        fe.plan(body)
        fe.stmt(body)
        fe.finish()
        return self.module

    def message(self, text: str) -> ir.Constant:
        """The address of `text` as a NUL-terminated constant string of the module."""
        if text not in self._messages:
            data = bytearray(text.encode() + b"\0")
            ty = ir.ArrayType(I8, len(data))
            g = ir.GlobalVariable(self.module, ty, f"{self.symbol}.msg{len(self._messages)}")
            g.global_constant, g.linkage, g.initializer = True, "private", ir.Constant(ty, data)
            self._messages[text] = g.gep([ir.Constant(I32, 0), ir.Constant(I32, 0)])
        return self._messages[text]

    def outline(self, loop: For, parent: "FunctionEmitter") -> ir.Function:
        """A function `(args, lo, hi, tid)` running iterations [lo, hi) of `loop`."""
        self._outlined += 1
        fn = ir.Function(self.module, BODY_TYPE, f"{parent.fn.name}.par{self._outlined}")
        fn.linkage = "internal"
        args, lo, hi, tid = fn.args
        fe = FunctionEmitter(self, fn, args, ir.Constant(I64, 1), tid, outlined=True)
        fe.plan(loop)
        fe.serial(loop, lo, hi)
        fe.finish()
        return fn


class FunctionEmitter:
    """Emits statements into one LLVM function."""

    def __init__(self, mod: ModuleEmitter, fn: ir.Function, args: ir.Value, nthreads: ir.Value,
                 tid: ir.Value, outlined: bool):
        self.m, self.fn, self.args, self.nthreads, self.tid = mod, fn, args, nthreads, tid
        self.outlined = outlined
        self.entry = ir.IRBuilder(fn.append_basic_block("entry"))   # allocas and buffer pointers
        self._first = fn.append_basic_block("start")
        self.b = ir.IRBuilder(self._first)
        self.env: dict[str, ir.Value] = {}
        self.bound: dict[str, int] = {}                             # the binding number of each variable
        self._numbers: dict[int, tuple[ir.Value, int]] = {}          # id of a bound value -> (it, its number)
        self.values: list[dict] = [{}]                              # value numbering, one dict per scope
        self.loads_from: dict[str, set] = {}                        # storage -> keys of its numbered loads
        self.nonneg: dict[str, bool] = {}                           # int variables never negative
        self.vec: Optional[tuple[str, int]] = None                  # (loop var, width) when vectorising
        self.ptrs: dict[str, ir.Value] = {}
        self.regs: dict[tuple[str, int], ir.Value] = {}
        self.reg_bufs: set[str] = set()
        self.partials: dict[Accumulate, ir.Value] = {}
        self.in_index = False                                        # evaluating an index or loop bound
        self._status: Optional[ir.Value] = None

    def finish(self) -> None:
        self.b.ret_void()
        self.entry.branch(self._first)

    # ------------------------------------------------------------ memory

    def plan(self, stmt: Stmt) -> None:
        """Locals accessed only at constant indices with one lane count become
        one alloca per element group, which LLVM promotes to registers."""
        access: dict[str, set] = {}
        for n in walk(stmt):
            if isinstance(n, (Load, Store, Accumulate)) and n.buf.scope == "local":
                lanes = n.lanes if isinstance(n, Load) else n.value.type.lanes
                key = (lanes,) if isinstance(n.index, Const) else None
                access.setdefault(n.buf.name, set()).add(key)
        self.reg_bufs |= {name for name, keys in access.items() if None not in keys and len(keys) == 1}

    def ptr(self, buf: Buffer) -> ir.Value:
        if buf.name not in self.ptrs:
            e, mem = self.entry, _mem_type(buf.dtype)
            if buf.scope == "local":
                p = e.alloca(mem, buf.size, name=buf.name, align=32)
            else:
                raw = e.load(e.gep(self.args, [ir.Constant(I64, self.m.slots[buf.storage])]))
                if buf.offset:
                    raw = e.gep(raw, [ir.Constant(I64, buf.offset)])
                if buf.scope == "scratch":
                    raw = e.gep(raw, [e.mul(self.tid, ir.Constant(I64, scratch_stride(buf)))])
                p = e.bitcast(raw, mem.as_pointer(), name=buf.name)
            self.ptrs[buf.name] = p
        return self.ptrs[buf.name]

    def status(self) -> ir.Value:
        """The address of the call's status record (see ModuleEmitter._with_status)."""
        if self._status is None:
            e = self.entry
            raw = e.load(e.gep(self.args, [ir.Constant(I64, self.m.status_slot)]))
            self._status = e.bitcast(raw, STATUS.as_pointer(), name="status")
        return self._status

    def claim_status(self, text: str) -> ir.Value:
        """Make `text` the call's error unless an earlier failure has (threads of a parallel loop
        may fail at once: the first wins); the cmpxchg's {old, claimed} pair."""
        message = self.b.gep(self.status(), [ir.Constant(I32, 0), ir.Constant(I32, 0)])
        return self.b.cmpxchg(message, ir.Constant(I8P, None), self.m.message(text), "monotonic", "monotonic")

    def parallel_for(self) -> ir.Value:
        """The pool's parallel_for (threadpool.py), from the call's argument table."""
        e = self.entry
        raw = e.load(e.gep(self.args, [ir.Constant(I64, self.m.pool_slot)]))
        return e.bitcast(raw, PARALLEL_FOR_TYPE.as_pointer(), name="parallel_for")

    def index(self, e: Expr) -> ir.Value:
        """An index or loop bound: compiler-generated int64 arithmetic that stays within a
        buffer's extent, so it may carry the no-signed-wrap flag (see `binary`)."""
        saved, self.in_index = self.in_index, True
        try:
            return self.expr(e)
        finally:
            self.in_index = saved

    def reg(self, buf: Buffer, index: int, ty: ir.Type) -> ir.Value:
        key = (buf.name, index)
        if key not in self.regs:
            self.regs[key] = self.entry.alloca(ty, name=f"{buf.name}.{index}")
        return self.regs[key]

    def _addr(self, buf: Buffer, index: ir.Value, lanes: int) -> ir.Value:
        p = self.b.gep(self.ptr(buf), [index], inbounds=True)
        return p if lanes == 1 else self.b.bitcast(p, ir.VectorType(_mem_type(buf.dtype), lanes).as_pointer())

    def _raw_load(self, buf: Buffer, index: ir.Value, lanes: int) -> ir.Value:
        v = self.b.load(self._addr(buf, index, lanes), align=itemsize(buf.dtype))
        return self.b.trunc(v, ll_type(VType("bool", lanes))) if buf.dtype == "bool" else v

    def _raw_store(self, buf: Buffer, index: ir.Value, value: ir.Value) -> None:
        self.forget_loads(frozenset((buf.storage,)))
        if buf.dtype == "bool":
            value = self.b.zext(value, ir.VectorType(I8, _lanes(value)) if _lanes(value) > 1 else I8)
        self.b.store(value, self._addr(buf, index, _lanes(value)), align=itemsize(buf.dtype))

    def _varies(self, index: Expr) -> bool:
        return self.vec is not None and self.vec[0] in free_vars(index)

    def _lane_index(self, index: Expr, lane: int) -> ir.Value:
        """`index` as a scalar, with the vector loop variable at its `lane`-th value."""
        name, width = self.vec
        base = self.env[name]
        self.vec = None
        self.bind(name, self.b.add(base, ir.Constant(I64, lane)) if lane else base)
        try:
            return self.index(index)
        finally:
            self.vec = (name, width)
            self.bind(name, base)

    def load(self, e: Load) -> ir.Value:
        if e.buf.name in self.reg_bufs:
            return self.b.load(self.reg(e.buf, e.index.value, ll_type(e.type)))
        if not self._varies(e.index):
            return self._raw_load(e.buf, self.index(e.index), e.lanes)
        if e.lanes != 1:
            raise ValueError(f"explicit vector load of {e.buf.name} inside a vectorised loop")
        width = self.vec[1]
        if linear_coeff(e.index, self.vec[0]) == 1:
            return self._raw_load(e.buf, self._lane_index(e.index, 0), width)
        out = _vector_constant(ll_type(VType(e.buf.dtype, width)), None)
        for lane, at in enumerate(self._lane_indices(e.index)):
            out = self.b.insert_element(out, self._raw_load(e.buf, at, 1), ir.Constant(I32, lane))
        return out

    def _lane_indices(self, index: Expr) -> list[ir.Value]:
        """A gathered or scattered index for each lane: computed once as a vector, then
        taken apart (re-emitting it per lane would multiply the IR by the width)."""
        vec = self.splat(self.index(index), self.vec[1])
        return [self.b.extract_element(vec, ir.Constant(I32, lane)) for lane in range(self.vec[1])]

    # ------------------------------------------------------------ expressions

    def splat(self, v: ir.Value, lanes: int) -> ir.Value:
        if _lanes(v) == lanes:
            return v
        vt = ir.VectorType(v.type, lanes)
        undef = _vector_constant(vt, None)
        one = self.b.insert_element(undef, v, ir.Constant(I32, 0))
        return self.b.shuffle_vector(one, undef, _vector_constant(ir.VectorType(I32, lanes), (0,) * lanes))

    def match(self, *vals: ir.Value) -> list[ir.Value]:
        lanes = max(_lanes(v) for v in vals)
        return [self.splat(v, lanes) for v in vals]

    def expr(self, e: Expr) -> ir.Value:
        """The value of `e`. A pure expression met again where its first value is in
        scope, with its variables bound as then, reuses that value: kernels repeat index
        arithmetic across unrolled statements, and LLVM would only remove it later, at a cost."""
        kind = type(e)
        emit = _EXPRESSIONS[kind]
        memory = kind is Load and pure(e.index)
        if kind is Const or not (memory or pure(e)):
            return emit(self, e)
        bound = self.bound
        key = (e, self.vec, self.in_index, frozenset([(v, bound.get(v)) for v in free_vars(e)]))
        for scope in reversed(self.values):
            found = scope.get(key)
            if found is not None:
                return found
        value = self.values[-1][key] = emit(self, e)
        if memory:
            self.loads_from.setdefault(e.buf.storage, set()).add(key)
        return value

    def forget_loads(self, storages: frozenset[str]) -> None:
        """Numbered loads from `storages` no longer hold: they are about to be written
        (a store, or a loop that stores there on a later iteration)."""
        for storage in storages:
            for key in self.loads_from.pop(storage, ()):
                for scope in self.values:
                    scope.pop(key, None)

    def bind(self, name: str, value: Optional[ir.Value]) -> None:
        """Bind (None: unbind) variable `name`. A binding's number is its value's: values
        numbered under an earlier binding to another value no longer match, those numbered
        under the same value (a Let of one origin in each unrolled statement) do."""
        if value is None:
            self.env.pop(name, None)
            self.bound[name] = -1
            return
        self.env[name] = value
        # the table holds each value, so no other object takes its id while emitting
        self.bound[name] = self._numbers.setdefault(id(value), (value, len(self._numbers)))[1]

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Code emitted inside a block that does not dominate what follows it (a loop
        body, a branch): its values are forgotten after it."""
        self.values.append({})
        try:
            yield
        finally:
            self.values.pop()

    def _e_Const(self, e: Const) -> ir.Value:
        return ir.Constant(_SCALAR[e.dtype], e.value)

    def _e_Var(self, e: Var) -> ir.Value:
        v = self.env[e.name]
        if self.vec and e.name == self.vec[0]:
            width = self.vec[1]
            return self.b.add(self.splat(v, width), _vector_constant(ir.VectorType(I64, width), tuple(range(width))),
                              flags=self._wrap("int64"))
        return v

    def _e_Load(self, e: Load) -> ir.Value:
        return self.load(e)

    def _e_Broadcast(self, e: Broadcast) -> ir.Value:
        return self.splat(self.expr(e.value), e.lanes)

    def _e_Let(self, e: Let) -> ir.Value:
        value = self.expr(e.value)
        saved, saved_sign = self.env.get(e.var.name), self.nonneg.get(e.var.name)
        self.bind(e.var.name, value)
        self.nonneg[e.var.name] = e.var.dtype in ("int32", "int64") and self._nonneg(e.value)
        try:
            return self.expr(e.body)
        finally:
            self.bind(e.var.name, saved)
            self.nonneg[e.var.name] = bool(saved_sign)

    def _nonneg(self, e: Expr) -> bool:
        """Whether integer expression `e` is never negative: non-negative constants, loop
        variables counting up from a non-negative start, and what add, mul, min, max and
        floor division and modulo by a positive constant make of them. Dividing such a
        value needs none of floor division's sign fix-ups."""
        if isinstance(e, Const):
            return not isinstance(e.value, float) and e.value >= 0
        if isinstance(e, Var):
            return self.nonneg.get(e.name, False)
        if not isinstance(e, Bin):
            return False
        if e.op in ("add", "mul", "min"):
            return self._nonneg(e.a) and self._nonneg(e.b)
        if e.op == "max":
            return self._nonneg(e.a) or self._nonneg(e.b)
        if e.op in ("floordiv", "mod"):
            return isinstance(e.b, Const) and e.b.value > 0 and (e.op == "mod" or self._nonneg(e.a))
        return False

    def _e_Bin(self, e: Bin) -> ir.Value:
        a, b = self.match(self.expr(e.a), self.expr(e.b))
        if e.op in ("floordiv", "mod"):
            divisor_positive = isinstance(e.b, Const) and e.b.value > 0
            if divisor_positive and self._nonneg(e.a):
                return self.b.udiv(a, b) if e.op == "floordiv" else self.b.urem(a, b)
            return self._floordiv(e.op, a, b, divisor_positive)
        return self.binary(e.op, e.a.type.dtype, a, b)

    def _wrap(self, dtype: str) -> list[str]:
        """Flags of an integer add/sub/mul: none (wrapping, as numpy) outside indices."""
        return ["nsw"] if self.in_index and dtype == "int64" else []

    def binary(self, op: str, dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
        B = self.b
        cmp = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
        if is_float(dtype):
            if op in cmp:
                return B.fcmp_unordered("!=", a, b) if op == "ne" else B.fcmp_ordered(cmp[op], a, b)
            if op in ("min", "max"):   # numpy: a NaN in either operand gives NaN
                pick = B.fcmp_ordered("<=" if op == "min" else ">=", a, b)
                return B.select(B.fcmp_unordered("uno", a, a), a, B.select(pick, a, b))
            if op == "pow":
                return B.call(self.m.intrinsic("pow", a.type, 2), [a, b])
            return {"add": B.fadd, "sub": B.fsub, "mul": B.fmul, "div": B.fdiv}[op](a, b, flags=FAST)
        icmp = B.icmp_unsigned if dtype == "bool" else B.icmp_signed   # i1 true is -1 when signed
        if op in cmp:
            return icmp(cmp[op], a, b)
        if op in ("min", "max"):
            return B.select(icmp("<" if op == "min" else ">", a, b), a, b)
        if op in ("floordiv", "mod"):
            return self._floordiv(op, a, b, divisor_positive=False)
        wrap = self._wrap(dtype)
        simple = {"add": lambda: B.add(a, b, flags=wrap), "sub": lambda: B.sub(a, b, flags=wrap),
                  "mul": lambda: B.mul(a, b, flags=wrap), "and": lambda: B.and_(a, b),
                  "or": lambda: B.or_(a, b), "xor": lambda: B.xor(a, b),
                  "shl": lambda: B.shl(a, b), "shr": lambda: B.ashr(a, b)}
        return simple[op]()

    def _floordiv(self, op: str, a: ir.Value, b: ir.Value, divisor_positive: bool) -> ir.Value:
        """numpy's floor division and modulo (rounding toward -inf). Unless the divisor is
        a positive constant, the cases LLVM leaves undefined get numpy's values: x // 0 and
        x % 0 are 0, MIN // -1 wraps to MIN (computed as MIN // 1)."""
        B = self.b
        zero = ir.Constant(a.type, None)
        if not divisor_positive:
            bits = _scalar_of(a.type).width
            by_zero = B.icmp_signed("==", b, zero)
            wraps = B.and_(B.icmp_signed("==", a, _splat_constant(a.type, -(1 << (bits - 1)))),
                           B.icmp_signed("==", b, _splat_constant(a.type, -1)))
            result = self._floordiv(op, a, B.select(B.or_(by_zero, wraps), _splat_constant(a.type, 1), b), True)
            return B.select(by_zero, zero, result)
        q, r = B.sdiv(a, b), B.srem(a, b)
        fix = B.and_(B.icmp_signed("!=", r, zero), B.icmp_signed("<", B.xor(r, b), zero))
        if op == "floordiv":
            return B.sub(q, B.zext(fix, a.type))
        return B.add(r, B.select(fix, b, zero))

    def _e_Un(self, e: Un) -> ir.Value:
        B, a, dtype = self.b, self.expr(e.a), e.a.type.dtype
        if e.op == "not" or (e.op == "neg" and dtype == "bool"):
            return B.not_(a)
        if e.op == "neg":
            return B.fneg(a) if is_float(dtype) else B.neg(a)
        if e.op == "abs" and not is_float(dtype):
            return B.select(B.icmp_signed("<", a, ir.Constant(a.type, None)), B.neg(a), a)
        if not is_float(dtype):
            return a                         # floor/ceil/round of an integer
        name = {"abs": "fabs", "round": "rint"}.get(e.op, e.op)
        return B.call(self.m.intrinsic(name, a.type), [a])

    def _e_Check(self, e: Check) -> ir.Value:
        """When the condition holds in any lane, claim the status record (the first failure
        wins: threads of a parallel loop may fail at once) and write the message and the
        detail of the first failing lane; then the value."""
        B = self.b
        cond = self.expr(e.cond)
        failed = cond
        if _lanes(cond) > 1:
            failed = B.call(self.m.declare(f"llvm.vector.reduce.or.{_suffix(cond.type)}", I1, [cond.type]), [cond])
        with B.if_then(failed, likely=False), self.scope():
            claim = self.claim_status(e.message)
            if e.detail is not None:
                detail = B.gep(self.status(), [ir.Constant(I32, 0), ir.Constant(I32, 1)])
                with B.if_then(B.extract_value(claim, 1)):
                    B.store(self._first_failing(cond, self.expr(e.detail)), detail)
        return self.expr(e.value)

    def _first_failing(self, cond: ir.Value, detail: ir.Value) -> ir.Value:
        """The lane of `detail` where `cond` first holds (a scalar detail as it is)."""
        if _lanes(detail) == 1:
            return detail
        lane = ir.Constant(I32, 0)
        if _lanes(cond) > 1:
            bits = ir.IntType(_lanes(cond))
            cttz = self.m.declare(f"llvm.cttz.i{bits.width}", bits, [bits, I1])
            lane = self.b.call(cttz, [self.b.bitcast(cond, bits), ir.Constant(I1, 1)])
        return self.b.extract_element(detail, lane)

    def _e_Fma(self, e: Fma) -> ir.Value:
        a, b, c = self.match(self.expr(e.a), self.expr(e.b), self.expr(e.c))
        if not is_float(e.c.type.dtype):
            return self.b.add(self.b.mul(a, b), c)
        return self.b.call(self.m.intrinsic("fma", a.type, 3), [a, b, c])

    def _e_Select(self, e: Select) -> ir.Value:
        c, a, b = self.expr(e.cond), self.expr(e.a), self.expr(e.b)
        a, b = self.match(a, b)
        if _lanes(c) > _lanes(a):
            a, b = self.match(a, b, c)[:2]
        return self.b.select(c, a, b)

    def _e_Bitcast(self, e: Bitcast) -> ir.Value:
        a = self.expr(e.a)
        return self.b.bitcast(a, ll_type(VType(e.dtype, _lanes(a))))

    def _e_Shuffle(self, e: Shuffle) -> ir.Value:
        mask = ir.Constant(ir.VectorType(I32, len(e.mask)), list(e.mask))
        return self.b.shuffle_vector(self.expr(e.a), self.expr(e.b), mask)

    def _e_Cast(self, e: Cast) -> ir.Value:
        B, a, src, dst = self.b, self.expr(e.a), e.a.type.dtype, e.dtype
        ty = ll_type(VType(dst, _lanes(a)))
        if src == dst:
            return a
        if dst == "bool":
            zero = ir.Constant(a.type, None)
            return B.fcmp_unordered("!=", a, zero) if is_float(src) else B.icmp_signed("!=", a, zero)
        if is_float(src) and is_float(dst):
            return B.fpext(a, ty) if itemsize(dst) > itemsize(src) else B.fptrunc(a, ty)
        if is_float(src):    # NaN and values out of range: poison (scalar_fns.astype guards them)
            return B.fptosi(a, ty)
        if is_float(dst):
            return B.uitofp(a, ty) if src == "bool" else B.sitofp(a, ty)
        if src == "bool":
            return B.zext(a, ty)
        return B.sext(a, ty) if itemsize(dst) > itemsize(src) else B.trunc(a, ty)

    # ------------------------------------------------------------ statements

    def stmt(self, s: Stmt) -> None:
        _STATEMENTS[type(s)](self, s)

    def _s_Block(self, s: Block) -> None:
        for x in s.stmts:
            self.stmt(x)

    def _s_Store(self, s: Store) -> None:
        value = self.expr(s.value)
        if s.buf.name in self.reg_bufs:
            self.forget_loads(frozenset((s.buf.storage,)))
            self.b.store(value, self.reg(s.buf, s.index.value, value.type))
        elif not self._varies(s.index):
            if self.vec and _lanes(value) != s.value.type.lanes:
                raise ValueError(f"store to one element of {s.buf.name} from every vector lane")
            self._raw_store(s.buf, self.index(s.index), value)
        elif linear_coeff(s.index, self.vec[0]) == 1:
            self._raw_store(s.buf, self._lane_index(s.index, 0), self.splat(value, self.vec[1]))
        else:
            value = self.splat(value, self.vec[1])
            for lane, at in enumerate(self._lane_indices(s.index)):
                self._raw_store(s.buf, at, self.b.extract_element(value, ir.Constant(I32, lane)))

    def _s_Accumulate(self, s: Accumulate) -> None:
        if s in self.partials:
            slot = self.partials[s]
            value = self.splat(self.expr(s.value), self.vec[1])
            self.b.store(self.binary(s.op, s.buf.dtype, self.b.load(slot), value), slot)
            return
        lanes = s.value.type.lanes
        self.stmt(Store(s.buf, s.index, Bin(s.op, Load(s.buf, s.index, lanes), s.value)))

    def _s_Prefetch(self, s: Prefetch) -> None:
        """llvm.prefetch of the element's address: for reading, into all cache levels."""
        if self._varies(s.index):
            raise ValueError(f"prefetch of {s.buf.name} at an index varying along a vectorised loop")
        address = self.b.bitcast(self._addr(s.buf, self.index(s.index), 1), I8P)
        prefetch = self.m.declare("llvm.prefetch.p0i8", ir.VoidType(), [I8P, I32, I32, I32])
        self.b.call(prefetch, [address] + [ir.Constant(I32, n) for n in (0, 3, 1)])

    def _s_HostCall(self, s: HostCall) -> None:
        """Call host function `s.function` from the process's table on the whole buffer; a
        non-zero result is the call's error (the runtime raises the function's exception)."""
        if self.outlined or self.vec:
            raise ValueError(f"host call {s.function} on {s.buf.name} inside a parallel or vectorised loop")
        B, e = self.b, self.entry
        raw = e.load(e.gep(self.args, [ir.Constant(I64, self.m.host_slot)]))
        table = e.bitcast(raw, HOST_TYPE.as_pointer().as_pointer(), name="hosts")
        function = B.load(B.gep(table, [ir.Constant(I64, HOST_FUNCTIONS.index(s.function))]))
        data = B.bitcast(self.ptr(s.buf), I8P)
        failed = B.call(function, [data, ir.Constant(I64, s.buf.size), ir.Constant(I32, DTYPES.index(s.buf.dtype))])
        self.forget_loads(frozenset((s.buf.storage,)))
        with B.if_then(B.icmp_signed("!=", failed, ir.Constant(I32, 0)), likely=False):
            self.claim_status(f"{s.function}: the host function failed")

    def _s_If(self, s: If) -> None:
        cond = self.expr(s.cond)
        if _lanes(cond) > 1:
            raise ValueError("an If condition may not depend on a vectorised loop variable")
        if s.orelse is None:
            with self.b.if_then(cond), self.scope():
                self.stmt(s.then)
            return
        with self.b.if_else(cond) as (then, orelse):
            with then, self.scope():
                self.stmt(s.then)
            with orelse, self.scope():
                self.stmt(s.orelse)

    def _s_For(self, s: For) -> None:
        if s.kind == "parallel" and not self.outlined:
            if free_vars(s.start) | free_vars(s.extent) | (free_vars(s.body) - {s.var.name}):
                raise ValueError(f"parallel loop {s.var.name} uses enclosing variables")
            fn = self.m.outline(s, self)
            self.b.call(self.parallel_for(), [fn, self.args, self.index(s.start), self.index(s.extent), self.nthreads])
            self.forget_loads(written(s.body))
        elif s.kind == "vectorize":
            self._vectorized(s)
        else:
            start = self.index(s.start)
            self.serial(s, start, self.add(start, self.index(s.extent)))

    def serial(self, s: For, lo: ir.Value, hi: ir.Value, properties: tuple[str, ...] = ()) -> None:
        """Iterations [lo, hi) of `s` (lo at least s.start), one at a time, in a loop with
        LLVM metadata `properties`."""
        def body(i):
            with self.scope():
                self.bind(s.var.name, i)
                self.stmt(s.body)
        self.forget_loads(written(s.body))          # a later iteration may read what this one writes
        with self._counting(s):
            counted_loop(self.b, lo, hi, 1, body, s.var.name, properties)

    @contextmanager
    def _counting(self, s: For) -> Iterator[None]:
        """While emitting loop `s`: whether its variable is never negative (see _nonneg)."""
        saved = self.nonneg.get(s.var.name, False)
        self.nonneg[s.var.name] = self._nonneg(s.start)
        try:
            yield
        finally:
            self.nonneg[s.var.name] = saved

    def _vectorized(self, s: For) -> None:
        """Vector iterations, then a scalar tail. A reduction into a place the loop does
        not move keeps REDUCTION_CHAINS vector partials, filled in turn, so successive
        steps do not wait on one another; they are folded after the loop."""
        if self.vec:
            raise ValueError(f"loop {s.var.name} is vectorised inside vectorised loop {self.vec[0]}")
        with self._counting(s):
            self._vector_loop(s)

    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        """a + b of two indices, folded when both are constants."""
        if _known(a) is not None and _known(b) is not None:
            return ir.Constant(I64, _known(a) + _known(b))
        return self.b.add(a, b, flags=["nsw"])

    def _vector_loop(self, s: For) -> None:
        name, width = s.var.name, s.width
        start, extent = self.index(s.start), self.index(s.extent)
        if _known(extent) is not None and _known(extent) < width:    # all tail: no vector iteration
            self.serial(s, start, self.add(start, extent))
            return
        partials = [n for n in walk(s.body) if isinstance(n, Accumulate) and name not in free_vars(n.index)]
        if partials and any(isinstance(n, For) for n in walk(s.body)):
            raise ValueError(f"vectorised reduction loop {name} must be innermost")
        # chained only when the body is small: else its work hides the latency
        small = partials and sum(1 for _ in islice(walk(s.body), CHAINED_BODY_NODES + 1)) <= CHAINED_BODY_NODES
        chains = REDUCTION_CHAINS if small else 1
        slots: dict[Accumulate, list[ir.Value]] = {}
        for acc in partials:
            ty = ll_type(VType(acc.buf.dtype, width))
            slots[acc] = [self.entry.alloca(ty) for _ in range(chains)]
            for slot in slots[acc]:
                self.b.store(self.splat(self.expr(identity(acc.op, acc.buf.dtype)), width), slot)

        self.forget_loads(written(s.body))

        def vector_body(i, chain=0, lanes=width):
            for acc in partials:
                self.partials[acc] = slots[acc][chain]
            with self.scope():
                self.vec = (name, lanes)
                self.bind(name, i)
                self.stmt(s.body)
                self.vec = None

        def chained_body(i):
            for chain in range(chains):
                vector_body(self.b.add(i, ir.Constant(I64, chain * width)), chain)

        def rounded(step: int) -> ir.Value:
            if _known(extent) is not None:
                return self.add(start, ir.Constant(I64, _known(extent) // step * step))
            return self.b.add(start, self.b.mul(self.b.sdiv(extent, ir.Constant(I64, step)), ir.Constant(I64, step)))

        main_end = rounded(width)
        if chains > 1:
            chained_end = rounded(width * chains)
            counted_loop(self.b, start, chained_end, width * chains, chained_body, name + ".c")
            counted_loop(self.b, chained_end, main_end, width, vector_body, name + ".v")
        else:
            counted_loop(self.b, start, main_end, width, vector_body, name + ".v")
        for acc in partials:
            self.partials.pop(acc)
            vec = self.b.load(slots[acc][0])
            for slot in slots[acc][1:]:
                vec = self.binary(acc.op, acc.buf.dtype, vec, self.b.load(slot))
            total = self.b.extract_element(vec, ir.Constant(I32, 0))
            for lane in range(1, width):
                total = self.binary(acc.op, acc.buf.dtype, total, self.b.extract_element(vec, ir.Constant(I32, lane)))
            at = self.index(acc.index)
            self._raw_store(acc.buf, at, self.binary(acc.op, acc.buf.dtype, self._raw_load(acc.buf, at, 1), total))
        left = None if _known(extent) is None else _known(extent) % width
        if left != 0:
            # fewer than `width` iterations left: a step of half a vector if they may fill one
            # (not in a generic loop, kept cheap to compile), then one at a time in a loop LLVM
            # must not vectorise again (it would add vectorised and epilogue copies behind
            # run-time overlap checks: a fifth of a gemm's compile time)
            tail, half = main_end, width // 2
            small = sum(1 for _ in islice(walk(s.body), HALF_STEP_BODY_NODES)) < HALF_STEP_BODY_NODES
            generic = isinstance(s.extent, Load)
            if small and not (partials or generic) and half > 1 and (left is None or left >= half):
                tail = rounded(half)
                counted_loop(self.b, main_end, tail, half, lambda i: vector_body(i, lanes=half), name + ".h")
            self.serial(s, tail, self.add(start, extent), (NO_VECTORIZE,))


#: The method emitting each kind of loop-IR expression and statement (`_e_Kind`, `_s_Kind`).
_EXPRESSIONS = {kind: getattr(FunctionEmitter, f"_e_{kind.__name__}")
                for kind in (Const, Var, Load, Broadcast, Bin, Un, Fma, Select, Cast, Bitcast, Shuffle, Let, Check)}
_STATEMENTS = {kind: getattr(FunctionEmitter, f"_s_{kind.__name__}")
               for kind in (Store, Accumulate, For, If, Block, HostCall, Prefetch)}


def emit_kernel(kernel: Kernel, symbol: str) -> ir.Module:
    """The LLVM module of one canonical kernel, exported as `symbol` (see ModuleEmitter)."""
    return ModuleEmitter(kernel, symbol).emit()


def emit_runner(symbol: str) -> ir.Module:
    """The module of the runner every program is called through:

        STATUS symbol(i8** args, i64 nthreads, i64* table, i8** kargs, i64* clock, i8** hosts)

    `table` is [n, then per kernel call: its address, its argument count m, and
    per argument an index into `args` and a byte offset]. Each call gets its
    arguments gathered into `kargs` (m + 3 slots: then the status record's address,
    the worker pool's parallel_for, emitted into this module, and `hosts`, the process's
    table of host functions); the run stops at the first
    call that reports a failed check. A non-null `clock` receives the monotonic
    clock (ns) before each call and after the last (profiling).
    """
    module = ir.Module(name=symbol)
    parallel_for = emit_parallel_for(module, f"{symbol}.parallel_for")
    i64p = I64.as_pointer()
    fn = ir.Function(module, ir.FunctionType(STATUS, [ARGS, I64, i64p, ARGS, i64p, ARGS]), symbol)
    args, nthreads, table, kargs, clock, hosts = fn.args
    timespec = ir.LiteralStructType([I64, I64])
    gettime = ir.Function(module, ir.FunctionType(I32, [I32, timespec.as_pointer()]), "clock_gettime")
    kernel_ptr = KERNEL_TYPE.as_pointer()
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    status, ts = b.alloca(STATUS, name="status"), b.alloca(timespec)
    b.store(ir.Constant(STATUS, None), status)
    profiling = b.icmp_unsigned("!=", clock, ir.Constant(i64p, None))

    def stamp(k: ir.Value) -> None:
        with b.if_then(profiling):
            b.call(gettime, [ir.Constant(I32, CLOCK_MONOTONIC), ts])
            sec = b.load(b.gep(ts, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
            nsec = b.load(b.gep(ts, [ir.Constant(I32, 0), ir.Constant(I32, 1)]))
            b.store(b.add(b.mul(sec, ir.Constant(I64, 10**9)), nsec), b.gep(clock, [k]))

    count = b.load(table)
    entry = b.block
    head, body, done, leave = (fn.append_basic_block(n) for n in ("head", "call", "done", "leave"))
    b.branch(head)
    b.position_at_end(head)
    k, at = b.phi(I64, "k"), b.phi(I64, "at")
    k.add_incoming(ir.Constant(I64, 0), entry)
    at.add_incoming(ir.Constant(I64, 1), entry)
    b.cbranch(b.icmp_signed("<", k, count), body, done)
    b.position_at_end(body)
    stamp(k)
    target = b.inttoptr(b.load(b.gep(table, [at])), kernel_ptr)
    nargs = b.load(b.gep(table, [b.add(at, ir.Constant(I64, 1))]))
    first = b.add(at, ir.Constant(I64, 2))
    def gather(j: ir.Value) -> None:
        entry_at = b.add(first, b.mul(j, ir.Constant(I64, 2)))
        base = b.load(b.gep(args, [b.load(b.gep(table, [entry_at]))]))
        offset = b.load(b.gep(table, [b.add(entry_at, ir.Constant(I64, 1))]))
        b.store(b.gep(base, [offset]), b.gep(kargs, [j]))

    counted_loop(b, ir.Constant(I64, 0), nargs, 1, gather, "j")
    b.store(b.bitcast(status, I8P), b.gep(kargs, [nargs]))
    b.store(b.bitcast(parallel_for, I8P), b.gep(kargs, [b.add(nargs, ir.Constant(I64, 1))]))
    b.store(b.bitcast(hosts, I8P), b.gep(kargs, [b.add(nargs, ir.Constant(I64, 2))]))
    b.call(target, [kargs, nthreads])
    failed = b.icmp_unsigned("!=", b.load(b.gep(status, [ir.Constant(I32, 0), ir.Constant(I32, 0)])),
                             ir.Constant(I8P, None))
    k.add_incoming(b.add(k, ir.Constant(I64, 1)), b.block)
    at.add_incoming(b.add(first, b.mul(nargs, ir.Constant(I64, 2))), b.block)
    b.cbranch(failed, leave, head)
    b.position_at_end(done)
    stamp(count)
    b.branch(leave)
    b.position_at_end(leave)
    b.ret(b.load(status))
    return module
