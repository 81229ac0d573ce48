"""`debugprint`: the graph as an indented tree with ids, ops, dtypes and shapes.

As PyTensor's dprint, each node gets an id (`[id A]`) at its first appearance; a
subtree that appears again is referenced by its id and not expanded (`···`). A subtree
deeper than `max_depth` is cut (`↓`) and printed as a tree of its own further down, so
lines stay short and the text stays linear in the size of the graph.
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..ir import Node, toposort
from .text import as_outputs, leaf_names, node_label

BRANCH, LAST, PIPE, BLANK = "├─ ", "└─ ", "│  ", "   "
SHOWN_ABOVE, SHOWN_BELOW = " ···", " ↓"


def debugprint(expr_or_list: Node | Sequence[Node], max_depth: Optional[int] = 40) -> str:
    """One tree per output: `op{params} [id X] f32[?,10]`, inputs indented below.

    Ids are letters in order of first appearance, shared across the outputs. Subtrees
    cut at `max_depth` (None: never) follow the outputs' trees, each as its own tree.
    """
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"debugprint: max_depth must be at least 1 or None, got {max_depth}")
    outputs, _ = as_outputs(expr_or_list)
    names = leaf_names(toposort(outputs))
    ids: dict[Node, str] = {}
    expanded: set[Node] = set()
    lines: list[str] = []
    roots = list(outputs)  # grows with the subtrees cut at max_depth
    for index, root in enumerate(roots):
        if index >= len(outputs) and root in expanded:
            continue  # a cut subtree that was printed in full elsewhere
        # node, its line's connector, its children's indent, its depth
        stack: list[tuple[Node, str, str, int]] = [(root, "", "", 0)]
        while stack:
            node, connector, indent, depth = stack.pop()
            ids.setdefault(node, _letters(len(ids)))
            mark = ""
            if node.inputs and node in expanded:
                mark = SHOWN_ABOVE
            elif node.inputs and max_depth is not None and depth >= max_depth:
                mark = SHOWN_BELOW
                roots.append(node)
            lines.append(f"{connector}{node_label(node, names)} [id {ids[node]}] {node.type}{mark}")
            if mark or not node.inputs:
                continue
            expanded.add(node)
            last = len(node.inputs) - 1
            for i, child in reversed(list(enumerate(node.inputs))):
                branch, pipe = (LAST, BLANK) if i == last else (BRANCH, PIPE)
                stack.append((child, indent + branch, indent + pipe, depth + 1))
    return "\n".join(lines)


def _letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ... (bijective base 26)."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(ord("A") + rest) + text
    return text
