"""What `simplify(..., explain=True)` reports: the rules that fired, in order, per phase,
with the node count before and after each phase."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..ir import Node, toposort
from ..ops.leaves import Constant


def node_count(outputs: Iterable[Node]) -> int:
    """Nodes reachable from `outputs` (leaves and constants included)."""
    return len(toposort(outputs))


def _label(node: Node) -> str:
    if isinstance(node.op, Constant) and node.op.value.size == 1:
        return str(node.op.value.reshape(-1)[0])
    return node.name or node.op.name


def _describe(node: Node) -> str:
    """One level of a node: `mul(2.0, tanh)` or a leaf's name, with its type."""
    args = f"({', '.join(_label(i) for i in node.inputs)})" if node.inputs else ""
    return f"{_label(node)}{args}:{node.type}"


@dataclass(frozen=True)
class Firing:
    """One rewrite: `rule` replaced `before` by `after`."""

    rule: str
    before: Node
    after: Node

    def __str__(self) -> str:
        return f"{self.rule}: {_describe(self.before)} -> {_describe(self.after)}"


@dataclass
class PhaseTrace:
    """One phase's rewrites, and its graph before and after (counted when asked: the compile
    path never asks)."""

    name: str
    before: Sequence[Node] = ()
    after: Sequence[Node] = ()
    firings: list[Firing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def nodes_before(self) -> int:
        return node_count(self.before)

    @property
    def nodes_after(self) -> int:
        return node_count(self.after)

    def note(self, text: str) -> None:
        """Record something the reader should know (once)."""
        if text not in self.notes:
            self.notes.append(text)

    def counts(self) -> Counter:
        """How often each rule fired in this phase."""
        return Counter(f.rule for f in self.firings)


@dataclass
class Report:
    """The trace of one `simplify` call; `str(report)` reads top to bottom."""

    phases: list[PhaseTrace] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def nodes_before(self) -> int:
        return self.phases[0].nodes_before if self.phases else 0

    @property
    def nodes_after(self) -> int:
        return self.phases[-1].nodes_after if self.phases else 0

    @property
    def fired(self) -> list[str]:
        """Names of the rules that fired, in order, over all phases."""
        return [f.rule for p in self.phases for f in p.firings]

    def __str__(self) -> str:
        lines = [f"simplify: {self.nodes_before} -> {self.nodes_after} nodes in {self.seconds * 1e3:.1f} ms"]
        for phase in self.phases:
            lines.append(f"  {phase.name}: {phase.nodes_before} -> {phase.nodes_after} nodes, "
                         f"{len(phase.firings)} rewrites")
            for i, firing in enumerate(phase.firings, 1):
                lines.append(f"    {i:3d}. {firing}")
            lines.extend(f"    note: {note}" for note in phase.notes)
        return "\n".join(lines)
