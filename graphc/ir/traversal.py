"""Walking and rebuilding graphs: topological order, ancestors, substitution."""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Optional, Sequence

from .node import Node


def toposort(
    outputs: Iterable[Node], inputs_of: Callable[[Node], Sequence[Node]] = lambda n: n.inputs
) -> list[Node]:
    """All ancestors of `outputs` (included), each after its inputs.

    `inputs_of` picks the edges to follow (e.g. a backend skips shape-only inputs)."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in outputs:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node.id in seen:
                continue
            seen.add(node.id)
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(inputs_of(node)) if i.id not in seen)
    return order


def ancestors(outputs: Iterable[Node]) -> set[Node]:
    """Every node `outputs` depend on, themselves included."""
    return set(toposort(outputs))


def clients(outputs: Iterable[Node]) -> dict[Node, list[Node]]:
    """For each node in the graph, the nodes that use it as an input."""
    users: dict[Node, list[Node]] = {}
    for node in toposort(outputs):
        users.setdefault(node, [])
        for i in node.inputs:
            users.setdefault(i, []).append(node)
    return users


def rebuild(
    outputs: Sequence[Node],
    mapping: Optional[Mapping[Node, Node]] = None,
    transform: Optional[Callable[[Node, tuple[Node, ...]], Node]] = None,
) -> list[Node]:
    """Rebuild `outputs` bottom-up, replacing nodes per `mapping`.

    `transform(old, new_inputs)` builds each rebuilt node (default: same op on the new
    inputs, re-inferring its type). Unchanged subgraphs come back as the same nodes.
    """
    mapping = dict(mapping or {})
    memo: dict[Node, Node] = {}
    for node in toposort(outputs):
        if node in mapping:
            memo[node] = mapping[node]
            continue
        new_inputs = tuple(memo[i] for i in node.inputs)
        if transform is not None:
            memo[node] = transform(node, new_inputs)
        elif new_inputs == node.inputs:
            memo[node] = node
        else:
            memo[node] = Node.make(node.op, new_inputs)
    return [memo[o] for o in outputs]


def substitute(outputs: Sequence[Node], replacements: Mapping[Node, Node]) -> list[Node]:
    """`outputs` with each key of `replacements` replaced by its value."""
    return rebuild(outputs, replacements)


def graph_inputs(outputs: Iterable[Node]) -> list[Node]:
    """The leaves (nodes without inputs) the outputs depend on, in topological order."""
    return [n for n in toposort(outputs) if not n.inputs]
