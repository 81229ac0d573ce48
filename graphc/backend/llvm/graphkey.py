"""The disk-cache key of a graph: its structure, not its identity.

Two graphs built the same way in two processes get the same key: nodes are
described by their op (a dataclass repr of its parameters), their inputs'
positions and their types; inputs and shared variables by their position among
the graph's leaves; constants by a digest of their bytes. The key also covers
the host and toolchain and graphc's whole source (runtime.host_key: everything
between the user's graph and the kernels: ir, ops, the step run before
compiling, this backend), so editing any of it cannot bring back stale objects.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

from ...ir import Node, toposort
from ...ops.leaves import Constant
from .cache import make_key
from .runtime import host_key


def _describe(node: Node, leaf: dict[Node, int]) -> str:
    if node in leaf:
        return f"leaf{leaf[node]}"
    op = node.op
    if isinstance(op, Constant):
        return f"constant {hashlib.sha256(op.value.tobytes()).hexdigest()}"
    return repr(op)


def graph_key(leaves: Sequence[Node], outputs: Sequence[Node], *extra: str) -> str:
    """The cache key of computing `outputs` from `leaves` (plus `extra` settings)."""
    leaf = {n: k for k, n in enumerate(leaves)}
    index: dict[Node, int] = {}
    lines = []
    for node in toposort(outputs):
        index[node] = len(index)
        inputs = ",".join(str(index[x]) for x in node.inputs)
        lines.append(f"{_describe(node, leaf)}({inputs}):{node.type}")
    lines.append("outputs " + ",".join(str(index[o]) for o in outputs))
    return make_key("\n".join(lines), *extra, *host_key())
