"""Loop IR: what a kernel computes, as loop nests over buffers.

Expressions are immutable, hashable trees (scalar or explicit vector values);
statements are loops, stores, accumulations and branches. Index arithmetic is
ordinary int64 expressions, kept small by folding constants as they are built.
How a loop runs (serial, vectorised, unrolled, parallel) is a field of `For`
that only `schedule` changes; the emitter reads it.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np

DTYPES = ("float32", "float64", "int32", "int64", "bool")
FLOAT_OPS = ("add", "sub", "mul", "div", "min", "max", "pow")
INT_OPS = ("add", "sub", "mul", "floordiv", "mod", "min", "max", "and", "or", "xor", "shl", "shr")
CMP_OPS = ("lt", "le", "gt", "ge", "eq", "ne")
UNARY_OPS = ("neg", "abs", "sqrt", "floor", "ceil", "round", "not",
             "exp", "log", "tanh", "sigmoid")
#: Unary ops the emitter does not see: mathlib rewrites them into polynomials.
MATH_OPS = ("exp", "log", "tanh", "sigmoid")
REDUCE_OPS = ("add", "mul", "max", "min")
LOOP_KINDS = ("serial", "vectorize", "parallel")


def itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize


def is_float(dtype: str) -> bool:
    return dtype in ("float32", "float64")


@dataclass(frozen=True)
class VType:
    """A value's type: a dtype and a lane count (1 = scalar)."""

    dtype: str
    lanes: int = 1


_VTYPES: dict[tuple[str, int], VType] = {}


def vtype(dtype: str, lanes: int = 1) -> VType:
    """VType(dtype, lanes), one object per type (types are asked for at every node built)."""
    found = _VTYPES.get((dtype, lanes))
    if found is None:
        found = _VTYPES[dtype, lanes] = VType(dtype, lanes)
    return found


# ---------------------------------------------------------------- buffers

@dataclass(frozen=True)
class Buffer:
    """A strided array of elements.

    scope: "param" (an argument of the compiled program), "scratch" (a workspace
    argument, one copy per thread) or "local" (a stack array of the function
    that uses it; small locals indexed only by constants live in registers).
    Strides are in elements.

    A view of a param names that param as `base`: its element 0 sits `offset`
    bytes past the start of `base` (strides may then be 0 or negative), so
    reshapes, transposes, slices and flips of a buffer need no copy and no
    argument of their own. A shape of (None,) is a flat run whose length is known
    only at run time (generic.py).
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    strides: Optional[tuple[int, ...]] = None
    scope: str = "param"
    base: Optional[str] = None
    offset: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"buffer {self.name}: unsupported dtype {self.dtype}")
        if self.strides is None:
            object.__setattr__(self, "strides", contiguous_strides(self.shape))
        if None in self.shape and self.shape != (None,):
            raise ValueError(f"buffer {self.name}: only a flat buffer may have an unknown length")
        if len(self.strides) != len(self.shape):
            raise ValueError(f"buffer {self.name}: {len(self.shape)} dims but strides {self.strides}")
        if self.base is not None and self.scope != "param":
            raise ValueError(f"buffer {self.name}: only params can view another buffer")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_repr"}

    @property
    def storage(self) -> str:
        """The name of the program argument holding this buffer's memory."""
        return self.base or self.name

    @property
    def size(self) -> int:
        """Number of elements the buffer spans (its extent in memory)."""
        if None in self.shape:
            raise ValueError(f"buffer {self.name}: its length is known only at run time")
        if 0 in self.shape:
            return 0
        return 1 + sum((n - 1) * abs(s) for n, s in zip(self.shape, self.strides))

    @property
    def nbytes(self) -> int:
        return self.size * itemsize(self.dtype)

    def index(self, *idx: "ExprLike") -> "Expr":
        """The flat element offset of `self[idx]` (an affine expression)."""
        if len(idx) != len(self.shape):
            raise ValueError(f"buffer {self.name}: {len(self.shape)} indices needed, got {len(idx)}")
        total: Expr = const(0)
        for i, s in zip(idx, self.strides):
            total = total + as_expr(i) * s
        return total

    def __getitem__(self, idx) -> "Load":
        idx = idx if isinstance(idx, tuple) else (idx,)
        return Load(self, self.index(*idx))

    def vload(self, idx: Sequence["ExprLike"], lanes: int) -> "Load":
        """A vector of `lanes` consecutive elements starting at `self[idx]`."""
        return Load(self, self.index(*idx), lanes)

    def store(self, idx: Sequence["ExprLike"], value: "ExprLike") -> "Store":
        return Store(self, self.index(*idx), as_expr(value, self.dtype))


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


# ---------------------------------------------------------------- expressions

class Expr:
    """Base of expressions; operators build folded `Bin` nodes. Each remembers its hash
    (see `_remember_hash`), which is not pickled: string hashes differ between processes."""

    __slots__ = ()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_hash", "_children")}

    @property
    def type(self) -> VType:
        raise NotImplementedError

    def __add__(self, o): return binop("add", self, o)
    def __radd__(self, o): return binop("add", o, self)
    def __sub__(self, o): return binop("sub", self, o)
    def __rsub__(self, o): return binop("sub", o, self)
    def __mul__(self, o): return binop("mul", self, o)
    def __rmul__(self, o): return binop("mul", o, self)
    def __truediv__(self, o): return binop("div", self, o)
    def __rtruediv__(self, o): return binop("div", o, self)
    def __floordiv__(self, o): return binop("floordiv", self, o)
    def __mod__(self, o): return binop("mod", self, o)
    def __neg__(self): return unop("neg", self)
    def lt(self, o): return binop("lt", self, o)
    def le(self, o): return binop("le", self, o)
    def gt(self, o): return binop("gt", self, o)
    def ge(self, o): return binop("ge", self, o)
    def eq(self, o): return binop("eq", self, o)
    def ne(self, o): return binop("ne", self, o)


ExprLike = Union[Expr, int, float, bool]


@dataclass(frozen=True)
class Const(Expr):
    value: Union[int, float, bool]
    dtype: str = "int64"

    @property
    def type(self) -> VType:
        return vtype(self.dtype)


@dataclass(frozen=True)
class Var(Expr):
    """A loop index or a `Let`-bound value."""

    name: str
    dtype: str = "int64"

    @property
    def type(self) -> VType:
        return vtype(self.dtype)


@dataclass(frozen=True)
class Load(Expr):
    """`lanes` consecutive elements of `buf` from flat offset `index`."""

    buf: Buffer
    index: Expr
    lanes: int = 1

    @property
    def type(self) -> VType:
        return vtype(self.buf.dtype, self.lanes)


@dataclass(frozen=True)
class Broadcast(Expr):
    """A scalar repeated into `lanes` lanes."""

    value: Expr
    lanes: int

    @property
    def type(self) -> VType:
        return vtype(self.value.type.dtype, self.lanes)


@dataclass(frozen=True)
class Bin(Expr):
    """A binary op; scalar operands broadcast against vectors."""

    op: str
    a: Expr
    b: Expr

    @cached_property
    def type(self) -> VType:
        ta = self.a.type   # each child's type once, and kept: chains of ops stay linear to type
        lanes = max(ta.lanes, self.b.type.lanes)
        return vtype("bool" if self.op in CMP_OPS else ta.dtype, lanes)


@dataclass(frozen=True)
class Un(Expr):
    op: str
    a: Expr

    @property
    def type(self) -> VType:
        return self.a.type


@dataclass(frozen=True)
class Fma(Expr):
    """a * b + c in one rounding."""

    a: Expr
    b: Expr
    c: Expr

    @property
    def type(self) -> VType:
        tc = self.c.type
        return vtype(tc.dtype, max(self.a.type.lanes, self.b.type.lanes, tc.lanes))


@dataclass(frozen=True)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr

    @property
    def type(self) -> VType:
        ta = self.a.type
        return vtype(ta.dtype, max(self.cond.type.lanes, ta.lanes, self.b.type.lanes))


@dataclass(frozen=True)
class Cast(Expr):
    """Numeric conversion (float<->int truncates toward zero, like numpy astype; a NaN or
    out-of-range float gives an undefined int: kernels.scalar_fns.astype handles those)."""

    a: Expr
    dtype: str

    @property
    def type(self) -> VType:
        return vtype(self.dtype, self.a.type.lanes)


@dataclass(frozen=True)
class Bitcast(Expr):
    """Reinterpret the bits as another dtype of the same width."""

    a: Expr
    dtype: str

    @property
    def type(self) -> VType:
        return vtype(self.dtype, self.a.type.lanes)


@dataclass(frozen=True)
class Shuffle(Expr):
    """Lanes of two vectors of one type picked by `mask` (LLVM's shufflevector):
    lane i is lane mask[i] of a ++ b. For register transposes and the like."""

    a: Expr
    b: Expr
    mask: tuple[int, ...]

    @property
    def type(self) -> VType:
        return vtype(self.a.type.dtype, len(self.mask))


@dataclass(frozen=True)
class Let(Expr):
    """`body` with `var` bound to `value`, evaluated once."""

    var: Var
    value: Expr
    body: Expr

    @property
    def type(self) -> VType:
        return self.body.type


@dataclass(frozen=True)
class Check(Expr):
    """`value`, after recording `message` as the call's error when `cond` holds (in any
    lane). The compiled function then raises it as a ValueError, with "{}" in the
    message replaced by `detail` (an int64, e.g. the offending value) at the first
    failing lane: a run-time check for what numpy refuses (an integer to a negative
    power, a one_hot label out of range)."""

    cond: Expr
    value: Expr
    message: str
    detail: Optional[Expr] = None

    @property
    def type(self) -> VType:
        return self.value.type


def _remember_hash(cls: type) -> None:
    """Make `cls`'s dataclass hash computed once per node: expression trees are deep and
    shared, and hashing them field by field at every lookup is quadratic."""
    field_hash = cls.__hash__

    def __hash__(self) -> int:
        found = self.__dict__.get("_hash")
        if found is None:
            found = self.__dict__["_hash"] = field_hash(self)
        return found

    cls.__hash__ = __hash__


for _cls in (Const, Var, Load, Broadcast, Bin, Un, Fma, Select, Cast, Bitcast, Shuffle, Let, Check):
    _remember_hash(_cls)


# ---------------------------------------------------------------- statements

class Stmt:
    __slots__ = ()


@dataclass(frozen=True)
class Store(Stmt):
    buf: Buffer
    index: Expr
    value: Expr


@dataclass(frozen=True)
class Accumulate(Stmt):
    """buf[index] = op(buf[index], value): a reduction step (op in REDUCE_OPS)."""

    buf: Buffer
    index: Expr
    op: str
    value: Expr


@dataclass(frozen=True)
class For(Stmt):
    """for var in range(start, start + extent): body.

    kind is how the loop runs: "serial", "vectorize" (`width` lanes, scalar
    tail) or "parallel" (iterations split over threads; the body may use no
    enclosing loop variable).
    """

    var: Var
    start: Expr
    extent: Expr
    body: Stmt
    kind: str = "serial"
    width: int = 1

    def __post_init__(self) -> None:
        if self.kind not in LOOP_KINDS:
            raise ValueError(f"loop {self.var.name}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: Stmt
    orelse: Optional[Stmt] = None


@dataclass(frozen=True)
class Block(Stmt):
    stmts: tuple[Stmt, ...]


@dataclass(frozen=True)
class Prefetch(Stmt):
    """A hint that buf[index] is read soon: the cache line holding it is fetched into the
    caches. It changes no value and never faults; `index` stays inside the buffer as a
    load's would."""

    buf: Buffer
    index: Expr


@dataclass(frozen=True)
class HostCall(Stmt):
    """Hand the whole of `buf` (contiguous) to the host function `function` (hostcalls.py),
    which may change it in place: a call back into the process running the kernel, made on
    the calling thread, so never inside a parallel or vectorised loop. A failure becomes the
    call's error."""

    function: str
    buf: Buffer


def _unguarded_repr(cls: type) -> None:
    """Drop the guard against cycles that dataclasses wrap `__repr__` in (the tree's text is
    the same): trees cannot be cyclic, and the guard costs a third of a kernel's key."""
    cls.__repr__ = getattr(cls.__repr__, "__wrapped__", cls.__repr__)


for _cls in (VType, Buffer, Const, Var, Load, Broadcast, Bin, Un, Fma, Select, Cast, Bitcast, Shuffle, Let, Check,
             Store, Accumulate, For, If, Block, Prefetch, HostCall):
    _unguarded_repr(_cls)


def _buffer_repr(buffer_repr: Callable[[Buffer], str]) -> Callable[[Buffer], str]:
    """A buffer's repr, kept on it: a kernel's key writes its buffers at every load and store."""
    def __repr__(self: Buffer) -> str:
        found = self.__dict__.get("_repr")
        if found is None:
            found = self.__dict__["_repr"] = buffer_repr(self)
        return found
    return __repr__


Buffer.__repr__ = _buffer_repr(Buffer.__repr__)


@dataclass(frozen=True)
class Kernel:
    """One loop nest; `flops` is for listings and thread decisions. `strength_reduce`: whether
    LLVM's loop strength reduction runs when its code is generated (jit.emit_object)."""

    name: str
    body: Stmt
    flops: int = 0
    strength_reduce: bool = True


@dataclass(frozen=True)
class Call:
    """One run of a kernel in a program: the kernel in canonical form (its buffers
    named p0, p1, ... by first use; see canonical.py), `key` naming its structure,
    and `args`, the program parameter that each of p0, p1, ... starts in, `offsets`
    bytes past its start.
    Identical loop nests over different buffers are one kernel, compiled once."""

    kernel: Kernel
    key: str
    args: tuple[str, ...]
    offsets: tuple[int, ...]                  # bytes past the start of each arg


@dataclass(frozen=True, init=False)
class Program:
    """What one native entry point runs: kernel calls in order over `params`.

    Built from Calls, or from Kernels over the params' own names (each is then
    put in canonical form). The entry point is the runtime's runner, given
    the address of each param in order (see runtime.py).
    """

    name: str
    params: tuple[Buffer, ...]
    calls: tuple[Call, ...]

    def __init__(self, name: str, params: Sequence[Buffer], kernels: Sequence[Union[Kernel, Call]]):
        from .canonical import canonical_call
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "calls", tuple(k if isinstance(k, Call) else canonical_call(k) for k in kernels))

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return tuple(c.kernel for c in self.calls)

    def distinct(self) -> list[int]:
        """The position of the first call of each distinct kernel."""
        first: dict[str, int] = {}
        for k, call in enumerate(self.calls):
            first.setdefault(call.key, k)
        return list(first.values())

    def call_slots(self) -> list[tuple[str, tuple[tuple[int, int], ...]]]:
        """Each call as its kernel's key and, per argument, its position among the params
        and its byte offset."""
        slot = {b.name: i for i, b in enumerate(self.params)}
        out = []
        for call in self.calls:
            unknown = [a for a in call.args if a not in slot]
            if unknown:
                raise ValueError(f"kernel {call.kernel.name} uses buffer {unknown[0]}, "
                                 f"which is not a program parameter")
            out.append((call.key, tuple((slot[a], o) for a, o in zip(call.args, call.offsets))))
        return out


# ---------------------------------------------------------------- builders

def const(value: Union[int, float, bool], dtype: Optional[str] = None) -> Const:
    if dtype is None:
        dtype = "bool" if isinstance(value, bool) else "int64" if isinstance(value, int) else "float64"
    if dtype == "bool":
        value = bool(value)
    elif is_float(dtype):
        value = float(value)
    else:
        value = int(value)
    return Const(value, dtype)


def as_expr(x: ExprLike, dtype: Optional[str] = None) -> Expr:
    """An expression for `x`; Python numbers become constants of `dtype`."""
    if isinstance(x, Expr):
        return x
    return const(x, dtype)


def check(cond: Expr, message: str, value: Expr, detail: Optional[Expr] = None) -> Expr:
    """`value` checked by `cond` (see Check); no check when `cond` is the constant False."""
    if isinstance(cond, Const) and not cond.value:
        return value
    if detail is not None and detail.type.dtype != "int64":
        detail = Cast(detail, "int64")
    return Check(cond, value, message, detail)


def block(*stmts: Optional[Stmt]) -> Stmt:
    """A block of the given statements, flattened, with None dropped."""
    out: list[Stmt] = []
    for s in stmts:
        if s is None:
            continue
        out.extend(s.stmts if isinstance(s, Block) else [s])
    return out[0] if len(out) == 1 else Block(tuple(out))


def loop(var: Var | str, extent: ExprLike, body: Stmt, start: ExprLike = 0) -> For:
    v = Var(var) if isinstance(var, str) else var
    return For(v, as_expr(start), as_expr(extent), body)


#: The integer ops folded on constants, as Python computes them.
_FOLDS: dict[str, Callable] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "eq": operator.eq, "ne": operator.ne,
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "floordiv": operator.floordiv,
    "mod": operator.mod, "min": min, "max": max,
}
#: The binary ops defined on floats and on integers.
_FLOAT_BINOPS, _INT_BINOPS = frozenset(CMP_OPS + FLOAT_OPS), frozenset(CMP_OPS + INT_OPS)


def _fold(op: str, a, b):
    fold = _FOLDS.get(op)
    return None if fold is None else fold(a, b)


def binop(op: str, a: ExprLike, b: ExprLike) -> Expr:
    """Build `op(a, b)`; a Python number takes the other operand's dtype.

    Integer constants are folded and identities (x+0, x*1, x*0) removed, so
    index expressions stay affine and small after substitution.
    """
    if not isinstance(a, Expr):
        a = as_expr(a, b.type.dtype if isinstance(b, Expr) else None)
    if not isinstance(b, Expr):
        b = as_expr(b, a.type.dtype)
    ta, tb = a.type, b.type
    if ta.dtype != tb.dtype:
        raise TypeError(f"{op}: operand dtypes differ ({ta.dtype}, {tb.dtype})")
    if ta.lanes != tb.lanes and 1 not in (ta.lanes, tb.lanes):
        raise TypeError(f"{op}: lane counts differ ({ta.lanes}, {tb.lanes})")
    if op not in (_FLOAT_BINOPS if is_float(ta.dtype) else _INT_BINOPS):
        raise TypeError(f"{op} is not defined on {ta.dtype}")
    if ta.dtype in ("int64", "int32"):
        if isinstance(a, Const) and isinstance(b, Const):
            folded = _fold(op, a.value, b.value)
            if folded is not None:
                return const(folded, "bool" if op in CMP_OPS else ta.dtype)
        if isinstance(a, Const) and op in ("add", "mul"):
            a, b = b, a
        if isinstance(b, Const):
            if op in ("add", "sub") and b.value == 0:
                return a
            if op in ("mul", "floordiv") and b.value == 1:
                return a
            if op == "mul" and b.value == 0:
                return b
            if op in ("add", "sub") and isinstance(a, Bin) and a.op == "add" and isinstance(a.b, Const):
                return binop("add", a.a, a.b.value + (b.value if op == "add" else -b.value))
    return Bin(op, a, b)


def unop(op: str, a: ExprLike) -> Expr:
    a = as_expr(a)
    if op not in UNARY_OPS:
        raise ValueError(f"unknown unary op {op}")
    if op == "neg" and isinstance(a, Const) and a.dtype != "bool":
        return const(-a.value, a.dtype)
    return Un(op, a)


def minimum(a: ExprLike, b: ExprLike) -> Expr:
    return binop("min", a, b)


def maximum(a: ExprLike, b: ExprLike) -> Expr:
    return binop("max", a, b)


def ceil_div(a: ExprLike, b: int) -> Expr:
    return (as_expr(a) + (b - 1)) // b


# ---------------------------------------------------------------- traversal

Node = Union[Expr, Stmt]


_FIELDS: dict[type, tuple[str, ...]] = {}
_NODE_TYPE = re.compile(r"\b(Expr|Stmt|Var)\b")


def _child_fields(node: Node) -> tuple[str, ...]:
    """The names of the fields of `node`'s class that may hold a node or a tuple of nodes
    (by their annotations: the other fields, names, dtypes, lane counts, buffers, never do)."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in fields(node) if _NODE_TYPE.search(str(f.type)))
    return names


_ALL_FIELDS: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {}


def rebuilt(node: Node, **changes: object) -> Node:
    """`dataclasses.replace(node, **changes)`, made the way a frozen dataclass's __init__ makes
    it (fields set, then __post_init__'s checks) without its per-field keyword handling:
    rewrites rebuild thousands of nodes."""
    cls = type(node)
    found = _ALL_FIELDS.get(cls)
    if found is None:
        names = tuple(f.name for f in fields(cls))
        found = _ALL_FIELDS[cls] = (names, frozenset(names))
    names, known = found
    if not changes.keys() <= known:
        raise TypeError(f"{cls.__name__} has no field among {sorted(set(changes) - known)}")
    new = object.__new__(cls)
    state, old = new.__dict__, node.__dict__
    for name in names:
        state[name] = changes[name] if name in changes else old[name]
    post = getattr(new, "__post_init__", None)
    if post is not None:
        post()
    return new


def children(node: Node) -> tuple[Node, ...]:
    """Direct sub-expressions and sub-statements, in field order (kept on the node, as
    free_vars is: kernels are walked again and again while they are scheduled and emitted)."""
    state = node.__dict__
    found = state.get("_children")
    if found is None:
        names = _FIELDS.get(type(node))
        found = []
        for name in _child_fields(node) if names is None else names:
            v = state[name]
            if type(v) is tuple:
                found.extend(v)
            elif v is not None:         # an optional child may be None
                found.append(v)
        found = state["_children"] = tuple(found)
    return found


def walk(node: Node) -> Iterator[Node]:
    """All nodes of a tree, parents before children."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def rewrite(node: Node, fn: Callable[[Node], Optional[Node]],
            skip: Optional[Callable[[Node], bool]] = None) -> Node:
    """Rebuild bottom-up; `fn(new_node)` may return a replacement (or None to keep).
    Subtrees for which `skip` holds are kept as they are, unvisited. A subtree met
    again (trees share nodes) is rebuilt once.

    Binary nodes are rebuilt through `binop`, so substituted constants fold.
    """
    done: dict[int, Node] = {}

    def visit(n: Node) -> Node:
        found = done.get(id(n))
        if found is not None:
            return found
        out = n
        if skip is None or not skip(n):
            changes = None
            names = _FIELDS.get(type(n))
            for name in _child_fields(n) if names is None else names:
                v = getattr(n, name)
                if v is None:                   # an optional child
                    continue
                if type(v) is tuple:
                    nv = tuple([visit(x) for x in v])
                    if all(a is b for a, b in zip(nv, v)):
                        continue
                else:
                    nv = visit(v)
                    if nv is v:
                        continue
                if changes is None:
                    changes = {}
                changes[name] = nv
            if changes:
                out = binop(changes.get("op", n.op), changes.get("a", n.a), changes.get("b", n.b)) \
                    if isinstance(n, Bin) else rebuilt(n, **changes)
            replaced = fn(out)
            out = out if replaced is None else replaced
        done[id(n)] = out
        return out

    try:
        return visit(node)
    finally:
        visit = None    # it refers to itself: left alone, it and `done` would wait for the collector


def substitute(node: Node, mapping: dict[str, Expr]) -> Node:
    """Replace the free occurrences of variables by name (subtrees without them are kept)."""
    names = frozenset(mapping)
    return rewrite(node, lambda n: mapping.get(n.name) if isinstance(n, Var) else None,
                   skip=lambda n: names.isdisjoint(free_vars(n)))


def free_vars(node: Node) -> frozenset[str]:
    """Names of variables used but not bound inside `node` (kept on the node once
    computed: trees are immutable, and schedules ask for them again and again)."""
    found = node.__dict__.get("_free_vars")
    if found is not None:
        return found
    if isinstance(node, Var):
        found = frozenset((node.name,))
    elif isinstance(node, For):
        inner = free_vars(node.body) - {node.var.name}
        found = inner | free_vars(node.start) | free_vars(node.extent)
    elif isinstance(node, Let):
        found = free_vars(node.value) | (free_vars(node.body) - {node.var.name})
    else:
        below = children(node)
        if not below:
            found = _NO_VARS
        elif len(below) == 1:
            found = free_vars(below[0])
        else:
            found = free_vars(below[0]).union(*[free_vars(c) for c in below[1:]])
    node.__dict__["_free_vars"] = found
    return found


_NO_VARS: frozenset[str] = frozenset()


def pure(e: Expr) -> bool:
    """Whether expression `e` reads no memory and checks nothing, so that evaluating it
    twice in one place gives one value (kept on the node, as free_vars is)."""
    found = e.__dict__.get("_pure")
    if found is None:
        found = not isinstance(e, (Load, Check))
        for c in children(e) if found else ():
            if not pure(c):
                found = False
                break
        e.__dict__["_pure"] = found
    return found


def written(node: Node) -> frozenset[str]:
    """The storages a tree stores or accumulates into (kept on the node, as free_vars is)."""
    if isinstance(node, (Store, Accumulate, HostCall)):
        return frozenset((node.buf.storage,))
    if not isinstance(node, Stmt):                 # expressions write nothing
        return frozenset()
    found = node.__dict__.get("_written")
    if found is None:
        found = frozenset().union(*(written(c) for c in children(node)))
        node.__dict__["_written"] = found
    return found


def buffers(node: Node) -> list[Buffer]:
    """The distinct buffers a tree reads or writes, in first-use order."""
    seen: dict[str, Buffer] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Expr) and pure(n):      # reads nothing: no buffer below
            continue
        buf = getattr(n, "buf", None)
        if isinstance(buf, Buffer):
            old = seen.setdefault(buf.name, buf)
            if old is not buf and old != buf:
                raise ValueError(f"two different buffers are named {buf.name}")
        stack.extend(reversed(children(n)))
    return list(seen.values())


def linear_coeff(expr: Expr, var: str) -> Optional[int]:
    """c if `expr` is c*var + (terms free of var) with integer c, else None."""
    if var not in free_vars(expr):
        return 0
    if isinstance(expr, Var):
        return 1
    if isinstance(expr, Bin) and expr.op in ("add", "sub"):
        ca, cb = linear_coeff(expr.a, var), linear_coeff(expr.b, var)
        if ca is None or cb is None:
            return None
        return ca + cb if expr.op == "add" else ca - cb
    if isinstance(expr, Bin) and expr.op == "mul":
        for x, y in ((expr.a, expr.b), (expr.b, expr.a)):
            if isinstance(y, Const):
                c = linear_coeff(x, var)
                return None if c is None else c * y.value
    return None


def identity(op: str, dtype: str) -> Const:
    """The starting value of a reduction with `op` (in REDUCE_OPS)."""
    if op in ("add", "mul"):
        return const(int(op == "mul"), dtype)
    if dtype == "bool":
        return const(op == "min", dtype)
    if is_float(dtype):
        return const(-math.inf if op == "max" else math.inf, dtype)
    info = np.iinfo(dtype)
    return const(info.min if op == "max" else info.max, dtype)


def const_value(expr: Expr) -> Optional[int]:
    return expr.value if isinstance(expr, Const) else None

