"""The order groups run in: each value's storage freed early, so the arena's peak is lower.

A topological order of the graph runs a training step's weight gradients after every
input gradient (the first update needs the gradient at the first layer, so the whole
backward pass comes before it), which keeps every layer's activations and output
gradients alive until the end. This list schedule runs, among the groups whose inputs
are ready, first the one that frees the most bytes net of what it stores, if any frees
at least as many as it stores (a weight gradient written into its update, a bias
gradient that is its output gradient's last reader), and otherwise the group the
topological order would run next; so a layer's backward work finishes while its
values are still the newest, as torch's autograd does.
"""
from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Callable, Sequence

from ...ir import Node
from .layout import VIEW_OPS

if TYPE_CHECKING:
    from .partition import Group


def _is_view(group: Group) -> bool:
    return group.anchor is None and isinstance(group.root.op, VIEW_OPS)


def memory_order(groups: Sequence[Group], wanted: set[Node],
                 data_inputs: Callable[[Node], list[Node]]) -> list[Group]:
    """`groups` (in a topological order) reordered to free storage early.

    `wanted` are the graph's outputs (stored outside the arena), `data_inputs(node)` the
    inputs whose values a node reads. A view group shares its source's storage (a view
    has one data input)."""
    made_by = {g.root: k for k, g in enumerate(groups)}
    storage = list(range(len(groups)))             # group -> the group whose storage its root is
    nbytes = [0] * len(groups)
    deps: list[set[int]] = []
    for k, g in enumerate(groups):
        nodes = g.nodes
        deps.append({made_by[x] for n in nodes for x in data_inputs(n) if x not in nodes and x in made_by})
        root = g.root
        if _is_view(g) and root not in wanted:
            for j in deps[k]:                      # (a view of a leaf stores nothing)
                storage[k] = storage[j]
        elif root not in wanted:
            nbytes[k] = math.prod(root.type.shape) * root.dtype.itemsize
    reads = [{storage[j] for j in d} for d in deps]
    readers: list[set[int]] = [set() for _ in groups]     # per storage: the groups still to read it
    for k, r in enumerate(reads):
        for s in r:
            readers[s].add(k)
    waiting = [len(d) for d in deps]
    users: list[list[int]] = [[] for _ in groups]
    for k, d in enumerate(deps):
        for j in d:
            users[j].append(k)
    growth: dict[int, int] = {}          # of each ready group: the bytes running it adds to what is live
    freeing: list[tuple[int, int]] = []  # heap of (growth <= 0, group); entries go stale as growth falls
    ready: list[int] = []                # heap of ready groups
    done = [False] * len(groups)

    def consider(k: int) -> None:
        stored = nbytes[k] if storage[k] == k else 0
        growth[k] = stored - sum(nbytes[s] for s in reads[k] if len(readers[s]) == 1)
        if growth[k] <= 0:
            heapq.heappush(freeing, (growth[k], k))

    for k in range(len(groups)):
        if not waiting[k]:
            heapq.heappush(ready, k)
            consider(k)
    order: list[int] = []
    while len(order) < len(groups):
        while freeing and (done[freeing[0][1]] or growth[freeing[0][1]] != freeing[0][0]):
            heapq.heappop(freeing)
        while done[ready[0]]:
            heapq.heappop(ready)
        k = heapq.heappop(freeing)[1] if freeing else heapq.heappop(ready)
        done[k] = True
        order.append(k)
        for s in reads[k]:
            readers[s].discard(k)
            if len(readers[s]) == 1:
                (last,) = readers[s]
                if last in growth:                   # ready: running it now frees s too
                    consider(last)
        for u in users[k]:
            waiting[u] -= 1
            if not waiting[u]:
                heapq.heappush(ready, u)
                consider(u)
    return [groups[k] for k in order]
