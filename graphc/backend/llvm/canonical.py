"""Kernels in canonical form, so that identical loop nests are compiled once.

A kernel reads and writes program arguments by name (`t3`, `in0`, views of
them). In canonical form each storage it touches is renamed `p0`, `p1`, ... in
order of first use, and the views of them `p<j>_v<k>`; what differs
between two uses of one loop nest is then only which arguments p0, p1, ...
stand for (a `Call`'s args). The kernel's key is a digest of the canonical
body: the same structure, shapes, strides, dtypes and schedule give the same
key in any function and any process.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

from .loopir import Buffer, Call, Kernel, Node, buffers, rewrite


def storages(body: Node) -> list[str]:
    """The arguments a kernel body touches (locals aside), in first-use order."""
    return list(dict.fromkeys(b.storage for b in buffers(body) if b.scope != "local"))


def canonical_call(kernel: Kernel) -> Call:
    """`kernel` renamed to canonical form, with the names its p0, p1, ... stood for."""
    order = storages(kernel.body)
    body = renamed(kernel.body, {name: f"p{j}" for j, name in enumerate(order)})
    return Call(Kernel(kernel.name, body, kernel.flops), kernel_key(body), tuple(order))


def renamed(body: Node, names: dict[str, str]) -> Node:
    """`body` with each storage s renamed names[s], and the views of it `<new name>_v<k>`
    (k counting the distinct views)."""
    done: dict[Buffer, Buffer] = {}

    def rename(b: Buffer) -> Buffer:
        found = done.get(b)
        if found is None:
            new = names[b.storage]
            name = new if b.base is None else f"{new}_v{len(done)}"
            found = done[b] = replace(b, name=name, base=None if b.base is None else new)
        return found

    def visit(n: Node):
        buf = getattr(n, "buf", None)
        if isinstance(buf, Buffer) and buf.scope != "local":
            return replace(n, buf=rename(buf))
        return None

    return rewrite(body, visit)


def kernel_key(body: Node) -> str:
    """A digest of a canonical kernel body: everything its machine code depends on
    apart from the host and toolchain."""
    return hashlib.sha256(repr(body).encode()).hexdigest()
