"""From a static graph to one Program and its CallPlan: kernels per group, buffers, the arena.

Program arguments, in order: the graph's inputs (user inputs, then shared
variables), its outputs (allocated per call), constant arrays, then the
arena's slices (intermediates, workspaces, per-thread scratch).
Intermediates live in one arena: each gets an offset by liveness (the span of
kernels from the one writing it to the last one reading it), so values whose
spans do not overlap share memory.

Groups that compute the same thing over differently named values (the layers
of a deep network, the forward pass inside a training step's backward pass)
are lowered once: a group's signature is its nodes' ops, types and wiring and
the layouts of the values it reads, and a group whose signature was lowered
before reuses those canonical kernels (canonical.py) on its own buffers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from ...ir import Node
from ...ops.elementwise import Elemwise
from ...ops.leaves import Constant
from .arena import plan_arena
from .canonical import canonical_call
from .emitter import scratch_stride
from .fusion import Reader, is_inline
from .generic import generic_loop
from .layout import VIEW_OPS, Layout, view_layout
from .loopir import Buffer, Call, Cast, Expr, Kernel, Program, Store, const, itemsize
from .nest import loop_nest
from .plan import CallPlan, KernelInfo
from .lower.registry import Epilogue, LowerContext
from .partition import Group, data_inputs, is_leaf, partition


#: Where a canonical kernel parameter of a lowered group binds, and at which byte offset:
#: ("x", k, d) d bytes past where the group first reads its k-th storage, ("d", d) into the
#: group's destination, ("a", k, d) into the k-th workspace it allocated, ("k", name) the
#: constant argument `name` of the program (a generic loop's trip count).
Role = tuple


@dataclass(frozen=True)
class _Lowered:
    """A group's kernels in canonical form, how their parameters bind, and the workspaces
    they need (names relative to the group's prefix `g<index>`)."""

    calls: tuple[tuple[Kernel, str, tuple[Role, ...], str], ...]   # kernel, key, roles, name suffix
    workspaces: tuple[tuple[str, str, tuple[int, ...], bool], ...]  # suffix, dtype, shape, per thread


@dataclass
class _Arg:
    buffer: Buffer
    kind: str                                 # input output const arena scratch
    first: int = -1                           # first and last group touching it (arena kinds)
    last: int = -1


class Builder:
    """Builds the Program and CallPlan of `outputs` whose graph inputs are `leaves`.

    Groups are lowered in order; `layouts` records where each materialised value
    (or view of one) can be read; `args` every program argument with, for arena
    kinds, the span of groups that touch it.
    """

    def __init__(self, leaves: Sequence[Node], outputs: Sequence[Node], threads: int, name: str = "graph",
                 offer: Optional[Callable[[str, Kernel], None]] = None):
        self.name, self.threads = name, threads
        self.offer = offer                      # told of each new canonical kernel as it is lowered
        self.part = partition(outputs)
        self.args: dict[str, _Arg] = {}
        self.layouts: dict[Node, Optional[Layout]] = {}
        self.group_index = 0
        for k, leaf in enumerate(leaves):
            self.layouts[leaf] = self._arg(f"in{k}", leaf, "input")
        self.output_args: list[str] = []
        self.dest: dict[Node, str] = {}
        for k, node in enumerate(outputs):
            if node not in self.dest:
                self.dest[node] = f"out{len(self.dest)}"
                self._arg(self.dest[node], node, "output")
            self.output_args.append(self.dest[node])
        self.constants: dict[str, np.ndarray] = {}
        self.calls: list[Call] = []
        self.infos: list[KernelInfo] = []
        self.position = {n: k for k, n in enumerate(self.part.order)}
        self._lowered: dict[tuple, _Lowered] = {}
        self._allocated: Optional[list[str]] = None       # workspace names, while lowering a group

    # ------------------------------------------------------------ arguments and layouts

    def _arg(self, name: str, node: Node, kind: str) -> Layout:
        shape, dtype = tuple(node.type.shape), node.dtype.name
        self.args[name] = _Arg(Buffer(name, dtype, shape), kind)
        return Layout.contiguous(name, dtype, shape)

    def allocate(self, name: str, dtype: str, shape: tuple[int, ...], per_thread: bool) -> Buffer:
        buf = Buffer(name, dtype, shape, scope="scratch" if per_thread else "param")
        self.args[name] = _Arg(buf, "scratch" if per_thread else "arena", self.group_index, self.group_index)
        if self._allocated is not None:
            self._allocated.append(name)
        return buf

    def layout(self, node: Node) -> Optional[Layout]:
        """Where `node`'s value can be read from memory (None: nowhere yet)."""
        if node in self.layouts:
            return self.layouts[node]
        found = None
        if isinstance(node.op, Constant):
            name = f"c{len(self.constants)}"
            self.constants[name] = np.ascontiguousarray(node.op.value)
            found = self._arg(name, node, "const")
        elif isinstance(node.op, VIEW_OPS):
            src = self.layout(node.inputs[0])
            found = None if src is None else view_layout(node, src)
        self.layouts[node] = found
        return found

    def buffer(self, layout: Layout, name: str) -> Buffer:
        """`layout` as a Buffer: its storage's own, or a view of it (no argument of its own)."""
        self._touch(layout.storage)
        return layout.buffer(name, self.args[layout.storage].buffer)

    def _touch(self, storage: str) -> None:
        arg = self.args[storage]
        if arg.kind in ("arena", "scratch"):
            arg.first = self.group_index if arg.first < 0 else arg.first
            arg.last = self.group_index

    def load(self, node: Node, idx: tuple[Expr, ...]) -> Optional[Expr]:
        """`node` at `idx` read from memory (a scalar constant inline), or None if not stored."""
        if isinstance(node.op, Constant) and node.op.value.size == 1:
            return const(node.op.value.reshape(-1)[0].item(), node.dtype.name)
        lay = self.layout(node)
        if lay is None:
            return None
        self._touch(lay.storage)
        return lay.load(self.args[lay.storage].buffer, idx)

    # ------------------------------------------------------------ groups

    def build(self) -> tuple[Program, CallPlan]:
        for gi, group in enumerate(self.part.groups):
            self.group_index = gi
            self._group(gi, group)
        order = ("input", "output", "const", "arena", "scratch")
        params = sorted(self.args.values(), key=lambda a: order.index(a.kind))
        spans = {name: (a.first, a.last, self._bytes(a)) for name, a in self.args.items()
                 if a.kind in ("arena", "scratch")}
        offsets, total = plan_arena(spans)
        program = Program(self.name, tuple(a.buffer for a in params), tuple(self.calls))
        types = {name: (a.buffer.shape, a.buffer.dtype) for name, a in self.args.items() if a.kind == "output"}
        inputs = [name for name, a in self.args.items() if a.kind == "input"]
        plan = CallPlan([b.name for b in program.params], inputs, self.output_args, types, self.constants, offsets,
                        total, self.infos, self.threads, program.call_slots())
        return program, plan

    def _bytes(self, arg: _Arg) -> int:
        if arg.kind == "scratch":
            return scratch_stride(arg.buffer) * self.threads
        return arg.buffer.nbytes

    def _dest(self, gi: int, root: Node) -> Buffer:
        """Where group gi stores its root: an output argument, else an arena slice."""
        if root in self.dest:
            return self.args[self.dest[root]].buffer
        return self.allocate(f"t{gi}", root.dtype.name, tuple(root.type.shape), False)

    def _nodes(self, group: Group) -> list[Node]:
        """The group's nodes in graph order."""
        return sorted(group.nodes, key=self.position.__getitem__)

    def _group(self, gi: int, group: Group) -> None:
        root = group.root
        if self._is_free_view(group):
            self.layouts[root] = view_layout(root, self.layout(root.inputs[0]))
            return
        dest = self._dest(gi, root)
        signature, storages = self._signature(group)
        lowered = self._lowered.get(signature)
        if lowered is None:
            lowered, workspaces = self._lower(gi, group, dest, storages)
            self._lowered[signature] = lowered
            if self.offer is not None:
                for kernel, key, _, _ in lowered.calls:
                    self.offer(key, kernel)
        else:
            workspaces = [self.allocate(f"g{gi}{suffix}", dtype, shape, per_thread).name
                          for suffix, dtype, shape, per_thread in lowered.workspaces]
        if root.inputs:
            self.layouts[root] = Layout.contiguous(dest.name, dest.dtype, dest.shape)
        nodes = self._nodes(group)
        ops = tuple(n.op.name for n in nodes)
        ins = tuple(tuple(x.type.shape) for x in self._group_inputs(group, nodes))
        by_class = {k: where for where, k in storages.items()}

        def place(role: Role) -> tuple[str, int]:
            """The argument and byte offset a canonical parameter binds to in this group."""
            if role[0] == "d":
                return dest.name, role[1]
            if role[0] == "a":
                return workspaces[role[1]], role[2]
            if role[0] == "k":
                return role[1], 0
            name, origin = by_class[role[1]]
            return name, origin + role[2]

        for kernel, key, roles, suffix in lowered.calls:
            places = [place(r) for r in roles]
            for name, _ in places:
                self._touch(name)
            self.calls.append(Call(kernel, key, tuple(n for n, _ in places), tuple(o for _, o in places)))
            self.infos.append(KernelInfo(f"g{gi}{suffix}", gi, ops, dest.shape, ins, dest.dtype, kernel.flops))

    def _signature(self, group: Group) -> tuple[tuple, dict[tuple[str, int], int]]:
        """What lowering `group` depends on: its nodes' ops, types and wiring, and how each
        value it reads from outside is laid out. Storages are numbered by first use, and
        offsets into one taken from where the group first reads it, so the same step over
        xs[t] has one signature for every t; the storages, with that first byte offset,
        are returned too. Equal signatures lower to the same canonical kernels."""
        nodes = self._nodes(group)
        local = {n: k for k, n in enumerate(nodes)}
        storages: dict[tuple[str, int], int] = {}
        first: dict[str, tuple[int, int]] = {}        # storage -> (its number, first byte offset)
        described: dict[Node, tuple] = {}

        def outside(x: Node) -> tuple:
            if x not in described:
                lay = self.layout(x)      # a scalar constant is inlined, unless read through a view
                if lay is not None:
                    offset = lay.offset * itemsize(lay.dtype)
                    if lay.storage not in first:
                        first[lay.storage] = (len(first), offset)
                        storages[(lay.storage, offset)] = first[lay.storage][0]
                    number, origin = first[lay.storage]
                where = ("none", x.type) if lay is None else (
                    number, lay.dtype, lay.shape, lay.strides, offset - origin)
                scalar = isinstance(x.op, Constant) and x.op.value.size == 1
                described[x] = (where, x.op.value.tobytes()) if scalar else where
            return described[x]

        parts = []
        for n in nodes:
            skip = n.op.shape_only_inputs
            wiring = tuple(("s", x.type) if k in skip else local[x] if x in local else outside(x)
                           for k, x in enumerate(n.inputs))
            parts.append((n.op, n.type, wiring, outside(n) if is_leaf(n) else None))
        roles = (local[group.root], None if group.anchor is None else local[group.anchor])
        return (tuple(parts), roles), storages

    def _lower(self, gi: int, group: Group, dest: Buffer, storages: dict[tuple[str, int], int]
               ) -> tuple[_Lowered, list[str]]:
        """Lower `group` (first of its signature) and put its kernels in canonical form;
        also the names of the workspaces it allocated."""
        uses: dict[Node, int] = {}
        for n in group.nodes:
            for x in data_inputs(n):
                uses[x] = uses.get(x, 0) + 1
        self._allocated = []
        try:
            if group.anchor is None:
                kernels = [self._elementwise(gi, group, dest, uses)]
            else:
                kernels = self._anchored(gi, group, dest, uses)
            workspaces = self._allocated
        finally:
            self._allocated = None
        prefix = f"g{gi}"
        origin = {name: (k, offset) for (name, offset), k in storages.items()}

        def role(name: str, offset: int) -> Role:
            if name == dest.name:
                return ("d", offset)
            if name in origin:
                return ("x", origin[name][0], offset - origin[name][1])
            if name in workspaces:
                return ("a", workspaces.index(name), offset)
            return ("k", name)

        calls = []
        for k in kernels:
            call = canonical_call(k)
            roles = tuple(role(a, o) for a, o in zip(call.args, call.offsets))
            calls.append((call.kernel, call.key, roles, k.name[len(prefix):]))
        spaces = tuple((name[len(prefix):], self.args[name].buffer.dtype, self.args[name].buffer.shape,
                        self.args[name].kind == "scratch") for name in workspaces)
        return _Lowered(tuple(calls), spaces), workspaces

    def _is_free_view(self, group: Group) -> bool:
        """A view of a materialised value needs no kernel (unless it is an output)."""
        root = group.root
        if group.anchor is not None or root in self.dest or not isinstance(root.op, VIEW_OPS):
            return False
        src = self.layout(root.inputs[0])
        return src is not None and view_layout(root, src) is not None

    def _group_inputs(self, group: Group, nodes: list[Node]) -> list[Node]:
        members = group.nodes
        seen: dict[Node, None] = {}
        for n in nodes:
            seen.update((x, None) for x in data_inputs(n) if x not in members)
        return list(seen) if group.root.inputs or group.anchor else [group.root]

    def _reader(self, group: Group, uses: dict[Node, int], given=None) -> Reader:
        return Reader(group.members, self.load, uses, given)

    def _elementwise(self, gi: int, group: Group, dest: Buffer, uses: dict[Node, int]) -> Kernel:
        root = group.root

        def body(idx):
            r = self._reader(group, uses)
            value = r.value(root, idx)
            if value.type.dtype != dest.dtype:
                value = Cast(value, dest.dtype)
            return Store(dest, dest.index(*idx), r.wrap(value))

        stmt, total = loop_nest(dest.shape, body, "i", dest.dtype, self.threads)
        count = Buffer(f"n{total}", "int64", (1,))
        generic = generic_loop(stmt, count)
        if generic is not None:                   # one kernel for every length
            stmt = generic
            if count.name not in self.args:
                self.constants[count.name] = np.array([total], np.int64)
                self.args[count.name] = _Arg(count, "const")
        arith = sum(1 for n in group.members if isinstance(n.op, Elemwise))
        tag = "_".join(dict.fromkeys(n.op.name for n in self._nodes(group) if n in group.members and is_inline(n)))
        return Kernel(f"g{gi}_{_ident(tag or 'copy')}", stmt, flops=total * arith)

    def _anchored(self, gi: int, group: Group, dest: Buffer, uses: dict[Node, int]) -> list[Kernel]:
        anchor, root = group.anchor, group.root
        lowering = self.part.lowerings[anchor]
        pre: list[Kernel] = []
        inputs: list[Optional[Buffer]] = []
        for k, x in enumerate(anchor.inputs):
            if k in anchor.op.shape_only_inputs or x in group.members:
                inputs.append(None)
                continue
            lay = self.layout(x)
            if lay is None:
                raise RuntimeError(f"llvm backend: input {k} of {anchor.op.name} was not materialised")
            if not lowering.strided_inputs and not lay.is_contiguous:
                copy = self.allocate(f"g{gi}_in{k}", lay.dtype, lay.shape, False)
                stmt, total = loop_nest(lay.shape, lambda idx, x=x, copy=copy: Store(
                    copy, copy.index(*idx), self.load(x, idx)), "i", lay.dtype, self.threads)
                pre.append(Kernel(f"g{gi}_contiguous{k}", stmt))
                lay = Layout.contiguous(copy.name, copy.dtype, copy.shape)
            inputs.append(self.buffer(lay, f"g{gi}_in{k}"))

        def load(k: int, idx: tuple[Expr, ...]) -> Expr:
            r = self._reader(group, uses)
            return r.wrap(r.value(anchor.inputs[k], idx))

        epilogue = None if root is anchor else self._epilogue(group, uses, dest)
        ctx = LowerContext(anchor, dest, inputs, load, epilogue, self.threads, f"g{gi}", self.allocate)
        return pre + list(lowering.fn(anchor, ctx))


    def _epilogue(self, group: Group, uses: dict[Node, int], dest: Buffer) -> Epilogue:
        """The group's elementwise tail as a function of the anchor's value at an index."""
        anchor, root = group.anchor, group.root
        shape = tuple(anchor.type.shape)

        def epilogue(value: Expr, out_index: tuple[Expr, ...]) -> Expr:
            idx = tuple(const(0) if n == 1 else i for n, i in zip(shape, out_index))
            r = self._reader(group, uses, (anchor, idx, value))
            result = r.value(root, idx)
            if result.type.dtype != dest.dtype:
                result = Cast(result, dest.dtype)
            return r.wrap(result)

        return epilogue


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:48]


def build_program(leaves: Sequence[Node], outputs: Sequence[Node], threads: int, name: str = "graph",
                  offer: Optional[Callable[[str, Kernel], None]] = None) -> tuple[Program, CallPlan]:
    """The Program computing `outputs` from `leaves` (inputs, then shared variables) and its
    CallPlan; `offer(key, kernel)` is told of each canonical kernel as it is lowered."""
    return Builder(leaves, outputs, threads, name, offer).build()
