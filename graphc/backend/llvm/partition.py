"""Partitioning a static graph into kernels (groups of nodes computed in one loop nest).

Each group stores one materialised value, its `root`. Its other members are
computed inline in that loop nest (fusion.INLINE ops: elementwise, casts,
views, random, one-hot). A group may have an `anchor`: a node with a
registered lowering (reduction, matmul, conv, ...) whose loop nest the group
runs; members upstream of the anchor are fused into its input reads (when the
lowering takes fused inputs), members downstream form its epilogue.

Walking the graph from the outputs back, an inline node joins the group of
its consumers when they all sit in one group (views, and single cheap
arithmetic ops, join every consumer's group: recomputing them costs less than
storing and reloading them, and keeps no activation alive for a backward
pass); otherwise it becomes the root of a group of its own. An anchor becomes
the anchor of its consumers' group when that group is purely elementwise over
the anchor's own index space (same shape, no views in between), so matmul +
bias + relu is one kernel. The groups then run in memory_order (order.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from ...ir import Node, toposort
from ...ops.elementwise import Cast, Elemwise
from ...ops.leaves import Constant, Input, Shared
from .fusion import is_inline
from .layout import VIEW_OPS
from .lower.registry import Lowering
from .lower.table import lowering_for
from .order import memory_order


def is_leaf(node: Node) -> bool:
    return isinstance(node.op, (Input, Shared, Constant))


def data_inputs(node: Node) -> list[Node]:
    """The inputs whose values (not only shapes) the node reads."""
    skip = node.op.shape_only_inputs
    return [x for k, x in enumerate(node.inputs) if k not in skip]


@dataclass
class Group:
    """One kernel's worth of graph: `root` is stored, `members` computed inline."""

    root: Node
    anchor: Optional[Node] = None
    members: set[Node] = field(default_factory=set)

    @property
    def nodes(self) -> set[Node]:
        return self.members | ({self.anchor} if self.anchor is not None else set())


@dataclass
class Partition:
    """A graph cut into groups, in the order their kernels run."""

    order: list[Node]                 # nodes whose values are needed, inputs first
    groups: list[Group]
    lowerings: dict[Node, Lowering]   # of every anchor


def partition(outputs: Sequence[Node]) -> Partition:
    order = _needed(outputs)
    users: dict[Node, list[Node]] = {n: [] for n in order}
    for n in order:
        for x in data_inputs(n):
            users[x].append(n)
    wanted = set(outputs)
    lowerings = {n: lowering_for(n) for n in order if not is_leaf(n) and not is_inline(n)}
    groups: list[Group] = []
    group_of: dict[Node, set[int]] = {}

    def new_group(root: Node, anchor: Optional[Node] = None) -> None:
        groups.append(Group(root, anchor, set() if anchor is root else {root}))
        group_of[root] = {len(groups) - 1}

    for n in reversed(order):
        if is_leaf(n):
            continue
        if n in lowerings:
            target = _epilogue_target(n, users[n], group_of, groups, lowerings[n], n in wanted)
            if target is None:
                new_group(n, n)
            else:
                groups[target].anchor = n
                group_of[n] = {target}
            continue
        targets: set[int] = set()
        needs_buffer = n in wanted
        for u in users[n]:
            if u in lowerings and not lowerings[u].fused_inputs:
                needs_buffer = True
            else:
                targets |= group_of[u]
        shared = isinstance(n.op, VIEW_OPS) or (_cheap(n) and len(targets) <= MAX_COPIES)
        if not needs_buffer and (len(targets) == 1 or (shared and targets)):
            group_of[n] = targets
            for g in targets:
                groups[g].members.add(n)
        else:
            new_group(n)
    for n in dict.fromkeys(outputs):
        if is_leaf(n):            # an output that is an input or a constant: a copy
            new_group(n)
    position = {n: k for k, n in enumerate(order)}
    groups.sort(key=lambda g: position[g.root])
    return Partition(order, memory_order(groups, wanted, data_inputs), lowerings)


#: At most this many kernels recompute one cheap node.
MAX_COPIES = 4


def _cheap(node: Node) -> bool:
    """Cheap enough to recompute in each consumer's kernel rather than store (ScalarFn.cheap).
    So is a division by a broadcast value (batch norm's x / std per channel): recomputing it
    reads no more memory than loading it, and storing it would keep one more activation
    alive for the backward pass."""
    op = node.op
    if isinstance(op, Elemwise) and op.scalar.name == "truediv":
        return node.inputs[1].type.size < node.type.size
    return isinstance(op, Cast) or (isinstance(op, Elemwise) and op.scalar.cheap)


def _needed(outputs: Sequence[Node]) -> list[Node]:
    """Topological order of the nodes whose values (not only shapes) the outputs need."""
    return toposort(outputs, data_inputs)


def _epilogue_target(node: Node, users: list[Node], group_of: dict[Node, set[int]], groups: list[Group],
                     lowering: Lowering, wanted: bool) -> Optional[int]:
    """The group whose loop `node` can anchor with that group as its epilogue, or None."""
    if wanted or not lowering.epilogue or not users:
        return None
    targets = set().union(*(group_of[u] for u in users))
    if len(targets) != 1:
        return None
    target = targets.pop()
    group = groups[target]
    if group.anchor is not None:
        return None
    # every member depending on `node` must be elementwise over node's own index space
    shape = node.type.shape
    frontier, seen = list(users), set()
    while frontier:
        u = frontier.pop()
        if u in seen:
            continue
        seen.add(u)
        if not isinstance(u.op, (Elemwise, Cast)) or u.type.shape != shape or u not in group.members:
            return None
        if u is not group.root:
            frontier.extend(v for v in _users_in(u, group))
    return target


def _users_in(node: Node, group: Group) -> list[Node]:
    return [m for m in group.members if node in data_inputs(m)]
