"""Kernels in canonical form, so that identical loop nests are compiled once.

A kernel reads and writes program arguments by name (`t3`, `in0`, views of
them at byte offsets). In canonical form the buffers starting at each place (an
argument and a byte offset) are renamed `p0`, `p1`, ... in order of first use;
what differs between two uses of one loop nest is then only which arguments,
at which offsets, p0, p1, ... stand for (a `Call`'s args and offsets). So the
step of an unrolled recurrence reading `xs[t]` is one kernel for every t. The
kernel's key is a digest of the canonical body: the same structure, shapes,
strides, dtypes and schedule give the same key in any function and any process.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Callable

from .loopir import Buffer, Call, Expr, Kernel, Node, buffers, pure, rebuilt, rewrite


#: Where a buffer starts: the program argument holding it and a byte offset into it.
Place = tuple[str, int]


def storages(body: Node) -> list[str]:
    """The arguments a kernel body touches (locals aside), in first-use order."""
    return list(dict.fromkeys(b.storage for b in buffers(body) if b.scope != "local"))


def canonical_call(kernel: Kernel) -> Call:
    """`kernel` in canonical form, with the argument and byte offset each of its p0, p1, ... stands for."""
    order: dict[Place, str] = {}

    def name(place: Place) -> str:
        return order.setdefault(place, f"p{len(order)}")

    canonical = replace(kernel, body=renamed(kernel.body, name))
    return Call(canonical, kernel_key(canonical), tuple(s for s, _ in order), tuple(o for _, o in order))


def renamed(body: Node, names: Mapping[Place, str] | Callable[[Place], str]) -> Node:
    """`body` with the buffers starting at each place p made buffers of their own named
    names[p], or names(p), asked first in order of first use (offset 0; one buffer at a place
    keeps the name, the others, views of it with other shapes or strides, are `<name>_v<k>`).
    A body naming two different buffers alike is refused."""
    name_of = names.__getitem__ if isinstance(names, Mapping) else names
    done: dict[Buffer, Buffer] = {}
    seen: dict[str, Buffer] = {}
    named: set[str] = set()

    def first_use(n: Node) -> bool:
        """Ask the name of the node's place (parents are met before their children); True
        where the walk may skip the node: a pure expression has no buffer below."""
        if isinstance(n, Expr) and pure(n):
            return True
        buf = getattr(n, "buf", None)
        if isinstance(buf, Buffer) and buf.scope != "local":
            old = seen.setdefault(buf.name, buf)
            if old is not buf and old != buf:
                raise ValueError(f"two different buffers are named {buf.name}")
            name_of((buf.storage, buf.offset))
        return False

    def rename(b: Buffer) -> Buffer:
        found = done.get(b)
        if found is None:
            new = name_of((b.storage, b.offset))
            if new in named:
                found = replace(b, name=f"{new}_v{len(done)}", base=new, offset=0)
            else:
                found = replace(b, name=new, base=None, offset=0)
                named.add(new)
            done[b] = found
        return found

    def visit(n: Node):
        buf = getattr(n, "buf", None)
        if isinstance(buf, Buffer) and buf.scope != "local":
            return rebuilt(n, buf=rename(buf))
        return None

    return rewrite(body, visit, skip=first_use)


def kernel_key(kernel: Kernel) -> str:
    """A digest of a canonical kernel's body and code generation options: everything its
    machine code depends on apart from the host and toolchain."""
    options = "" if kernel.strength_reduce else "no-lsr\n"
    return hashlib.sha256((options + repr(kernel.body)).encode()).hexdigest()
