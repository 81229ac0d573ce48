"""Elementwise regions as the sympy bridge reads them, each with a key naming its structure.

A region is a root and the elementwise nodes of its dtype that feed it (see
graphc.simplify.sympy_bridge). Reading one walks it as the bridge's conversion does and
writes it as steps: an elementwise function of earlier steps, a number (a one-element
finite constant that is an integer or a fraction with a small denominator: sympy reads it
exactly) or a leaf, numbered in visiting order. The steps, with what conversion and the
way back read of each leaf (its type and whether it is provably positive; a constant
leaf is itself), are the key: regions with equal keys become the same sympy expression,
and its rewrites build back alike over either region's leaves. The bridge does its sympy
work once per key, not once per region (the layers of a network, a training graph and
its evaluation graph repeat the same regions). No sympy is needed to read a region.
"""
from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple, Optional

import numpy as np

from ..ir import Node
from ..ir.dtypes import is_float
from ..ops.elementwise import Elemwise
from ..ops.leaves import is_constant
from .match import is_positive, scalar_value

#: Regions with more elementwise nodes are left alone.
MAX_REGION = 48
#: Constants that are fractions with a larger denominator are leaves (see `exact_number`).
MAX_DENOMINATOR = 1024


def eligible(node: Node) -> bool:
    """An elementwise node sympy can read: a known function on one float dtype."""
    op = node.op
    return (isinstance(op, Elemwise) and op.scalar.sympy is not None and is_float(node.dtype)
            and all(i.dtype == node.dtype for i in node.inputs))


def exact_number(node: Node) -> Optional[int | Fraction]:
    """The value of a one-element finite constant as an int or a small fraction, else None (a
    leaf). A float such as 0.9f is 7549747/8388608 exactly, and sympy's algebra on such
    fractions costs far more than it finds; as a leaf, its region is also the same
    expression (one memo entry) whatever the constant."""
    value = scalar_value(node)
    if value is None or isinstance(value, bool) or node.type.size != 1 or not np.isfinite(value):
        return None
    if float(value).is_integer():
        return int(value)
    exact = Fraction(float(value))
    return exact if exact.denominator <= MAX_DENOMINATOR else None


class Step(NamedTuple):
    """One step of a region: `fn` of the steps `args` (an elementwise node), or, with `fn`
    None, `number` (a constant read exactly) or the leaf numbered `leaf`."""

    fn: Optional[str] = None
    args: tuple[int, ...] = ()
    number: Optional[int | Fraction] = None
    leaf: int = -1
    positive: bool = False


class Region:
    """A region read from the graph: `nodes` (its elementwise nodes, root first), `leaves` (in
    visiting order), `steps` (each after the steps it reads) and `key`."""

    def __init__(self, root: Node):
        self.root = root
        self.nodes: list[Node] = []
        self.leaves: list[Node] = []
        self.steps: list[Optional[Step]] = []
        self._index: dict[Node, int] = {}
        self._outside: list[tuple[int, Node]] = []  # the steps of the nodes that are not elementwise ones
        self._read(root)
        facts = [self._read_outside(position, node) for position, node in self._outside]
        self.key = (root.type, tuple(self.steps), tuple(facts))

    def _read(self, node: Node) -> int:
        found = self._index.get(node)
        if found is not None:
            return found
        if eligible(node) and node.dtype == self.root.dtype:
            self.nodes.append(node)
            if len(self.nodes) > MAX_REGION:
                raise RegionTooLarge
            step = Step(node.op.fn, tuple(self._read(i) for i in node.inputs))
        else:
            step = None  # a number or a leaf: read once the region is known not to be too large
            self._outside.append((len(self.steps), node))
        self.steps.append(step)
        self._index[node] = len(self.steps) - 1
        return self._index[node]

    def _read_outside(self, position: int, node: Node) -> object:
        """Write the step of a node outside the elementwise ones (a number or the next leaf);
        return what the key holds of it (the node itself for numbers and constant leaves, so that
        the region builds back to itself alike; else its type)."""
        number = exact_number(node)
        if number is not None:
            self.steps[position] = Step(number=number)
            return node
        self.steps[position] = Step(leaf=len(self.leaves), positive=is_positive(node))
        self.leaves.append(node)
        return node if is_constant(node) else node.type


class RegionTooLarge(Exception):
    """A region with more than MAX_REGION elementwise nodes."""


def read_region(root: Node) -> Optional[Region]:
    """The region of `root`, or None when it has more than MAX_REGION elementwise nodes."""
    try:
        return Region(root)
    except RegionTooLarge:
        return None
