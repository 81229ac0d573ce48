"""The rewrite engine: one phase's rules to a fixed point, with a guard against cycles.

Every node is visited after its inputs are in normal form; its rules are tried in order
and the first replacement is itself brought to normal form (its new nodes meet the
rules too). Normal forms are memoised per node, and nodes are hash-consed, so each
distinct subexpression is rewritten once and equal subexpressions stay shared.

Global passes (the sympy bridge) run after the local rules; the phase repeats until a
round changes nothing or its outputs repeat an earlier round's (a cycle).

A phase hands the next the nodes its rules left as they are (`Settled`): on those, the
next phase tries only its rules that the earlier phase did not have (rules are functions
of the node), so the canonical rules, which every phase repeats, run once per node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ..ir import GraphcError, Node
from .rule import Rule, RuleSet
from .trace import Firing, PhaseTrace

#: A whole-graph rewrite run after a phase's local rules: (outputs, trace) -> outputs.
GlobalPass = Callable[[list[Node], PhaseTrace], list[Node]]


class RewriteError(GraphcError):
    """A rule returned a replacement whose static type differs from the node it replaces."""


@dataclass(frozen=True)
class Phase:
    """A named rule set run to a fixed point, then the global passes, until nothing changes."""

    name: str
    rules: RuleSet
    passes: tuple[GlobalPass, ...] = ()
    max_rounds: int = 8


@dataclass(frozen=True)
class Settled:
    """Nodes that no rule of `rules` rewrites (each tried them all, and none fired)."""

    rules: RuleSet
    nodes: set[Node]


class Rewriter:
    """Normal forms of nodes under one rule set (memoised; see the module docstring).
    `before`: what an earlier phase's rules are known to leave as it is."""

    def __init__(self, rules: RuleSet, trace: PhaseTrace, max_rewrites: int = 100_000, max_chain: int = 64,
                 before: Optional[Settled] = None):
        self.rules = rules
        self.trace = trace
        self.memo: dict[Node, Node] = {}
        self.active: list[Node] = []  # the chain of rewrites in progress
        self.budget = max_rewrites
        self.max_chain = max_chain
        self.before = before
        self.settled = Settled(rules, set())

    def run(self, outputs: Sequence[Node]) -> list[Node]:
        return [self.normal_form(o) for o in outputs]

    def normal_form(self, root: Node) -> Node:
        memo = self.memo
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in memo:
                continue
            if not ready:
                stack.append((node, True))
                stack.extend((i, False) for i in node.inputs if i not in memo)
                continue
            inputs = tuple(memo[i] for i in node.inputs)
            built = node if inputs == node.inputs else Node.make(node.op, inputs)
            memo[node] = self._rewrite(built)
        return memo[root]

    def _rewrite(self, node: Node) -> Node:
        """The normal form of `node`, whose inputs are in normal form."""
        if node in self.memo:
            return self.memo[node]
        if not node.inputs:
            return node
        if node in self.active or len(self.active) >= self.max_chain:
            why = "a cycle" if node in self.active else f"a chain of {self.max_chain} rewrites"
            self.trace.note(f"{why} at {node!r}: kept it")
            return node
        result = node
        before = self.before
        if before is not None and node in before.nodes:
            rules = self.rules.for_op_beyond(node.op, before.rules)
        else:
            rules = self.rules.for_op(node.op)
        self.active.append(node)
        try:
            for rule in rules:
                new = rule.fn(node)
                if new is None or new is node:
                    continue
                _check_type(rule, node, new)
                if self.budget <= 0:
                    self.trace.note("rewrite budget exhausted: stopped rewriting")
                    break
                self.budget -= 1
                self.trace.firings.append(Firing(rule.name, node, new))
                result = self.normal_form(new)
                break
            else:
                self.settled.nodes.add(node)
        finally:
            self.active.pop()
        self.memo[node] = result
        self.memo.setdefault(result, result)
        return result


def _check_type(rule: Rule, old: Node, new: Node) -> None:
    if not isinstance(new, Node):
        raise RewriteError(f"rule {rule.name}: returned {type(new).__name__}, not a node")
    if new.type != old.type:
        raise RewriteError(
            f"rule {rule.name}: replaced {old.op.name} of type {old.type} by {new.op.name} "
            f"of type {new.type}; a rewrite must keep the dtype and shape"
        )


def run_phase(phase: Phase, outputs: list[Node]) -> tuple[list[Node], PhaseTrace]:
    """`outputs` rewritten by `phase` to a fixed point, and what happened."""
    outputs, trace, _ = _run_phase(phase, outputs, None)
    return outputs, trace


def run_phases(phases: Sequence[Phase], outputs: list[Node]) -> tuple[list[Node], list[PhaseTrace]]:
    """`outputs` rewritten by each phase in turn, and what happened in each (each phase
    handing the next what its rules left as it is)."""
    traces, settled = [], None
    for phase in phases:
        outputs, trace, settled = _run_phase(phase, outputs, settled)
        traces.append(trace)
    return outputs, traces


def _run_phase(phase: Phase, outputs: list[Node], before: Optional[Settled]) -> tuple[list[Node], PhaseTrace, Settled]:
    trace = PhaseTrace(phase.name, outputs)
    rewriter = Rewriter(phase.rules, trace, before=before)
    seen: set[tuple[Node, ...]] = set()
    for _ in range(phase.max_rounds):
        outputs = rewriter.run(outputs)
        state = tuple(outputs)
        if state in seen:
            trace.note("a round repeated an earlier graph: stopped")
            break
        seen.add(state)
        before = outputs
        for global_pass in phase.passes:
            outputs = global_pass(outputs, trace)
        if outputs == before:
            break
    else:
        trace.note(f"no fixed point after {phase.max_rounds} rounds: stopped")
    trace.after = outputs
    return outputs, trace, rewriter.settled
