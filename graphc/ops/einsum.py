"""gc.einsum: numpy's Einstein summation, built from existing ops when the graph is built.

A repeated label within one operand takes a diagonal (a product with an identity mask,
summed); operands are then contracted left to right, each pair as a batched matmul of
transposed, reshaped operands (or a broadcast product when nothing is contracted);
labels no later term or the output needs are summed out as early as possible. So einsum
adds no op: its gradient, simplification and kernels are those of the ops it becomes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..ir import Node, ShapeError, format_shape
from .convert import as_node
from .creation import eye
from .matmul import matmul
from .reduce import reduce_sum
from .shape import broadcast_to, reshape, transpose

Labels = tuple[str, ...]


@dataclass(frozen=True)
class _Term:
    """A tensor whose axes are named by `labels`."""

    node: Node
    labels: Labels


def einsum(subscripts: str, *operands: Any) -> Node:
    """numpy.einsum with static shapes: explicit ('ij,jk->ik') or implicit output, '...'
    broadcasting, repeated labels (diagonals, traces) and size-1 labels broadcasting."""
    nodes = [as_node(x) for x in operands]
    if not nodes:
        raise ValueError("einsum: needs at least one operand")
    for k, x in enumerate(nodes):
        if not x.type.is_static:
            raise ShapeError(f"einsum: operand {k} has shape {format_shape(x.shape)}; einsum needs "
                             f"every size known when the graph is built")
    inputs, output = _parse(subscripts, nodes)
    sizes = _label_sizes(subscripts, nodes, inputs)
    terms = [_diagonals(_Term(x, labels), sizes) for x, labels in zip(nodes, inputs)]
    result = terms[0]
    for k in range(1, len(terms)):
        later = set(output).union(*(t.labels for t in terms[k + 1:]))
        result = _contract(result, terms[k], later, sizes)
    result = _sum_out(result, set(output))
    return transpose(result.node, [result.labels.index(label) for label in output])


def _parse(subscripts: str, nodes: Sequence[Node]) -> tuple[list[Labels], Labels]:
    """Each operand's labels and the output's, '...' expanded to labels '...0', '...1', ...
    (aligned at the end, as broadcasting is)."""
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1:
        raise ValueError(f"einsum: {subscripts!r} has more than one '->'")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(nodes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(nodes)}")
    letters = [_letters(subscripts, t) for t in terms]
    extra = []
    for k, ((before, after, ellipsis), x) in enumerate(zip(letters, nodes)):
        named = len(before) + len(after)
        if x.ndim < named or (x.ndim != named and not ellipsis):
            raise ShapeError(f"einsum: operand {k} has shape {format_shape(x.shape)} (rank {x.ndim}) but "
                             f"{terms[k]!r} names {named} axes{'' if ellipsis else ' and has no ...'}")
        extra.append(x.ndim - named)
    width = max(extra)
    dots = tuple(f"...{k}" for k in range(width))
    inputs = [tuple(before) + dots[width - e:] + tuple(after) for (before, after, _), e in zip(letters, extra)]
    if arrow:
        before, after, ellipsis = _letters(subscripts, rhs)
        if width and not ellipsis:
            raise ValueError(f"einsum: {subscripts!r}: the operands have '...' axes but the output has no '...'")
        output = tuple(before) + dots + tuple(after)
    else:
        counts = {}
        for labels in inputs:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        output = dots + tuple(sorted(c for c, n in counts.items() if n == 1 and not c.startswith("...")))
    for label in output:
        if output.count(label) > 1:
            raise ValueError(f"einsum: {subscripts!r}: output label {label!r} appears more than once")
        if not any(label in labels for labels in inputs):
            raise ValueError(f"einsum: {subscripts!r}: output label {label!r} is in no operand")
    return inputs, output


def _letters(subscripts: str, term: str) -> tuple[str, str, bool]:
    """(labels before '...', labels after it, whether it is there) of one term."""
    before, ellipsis, after = term.partition("...")
    for c in before + after:
        if not (c.isascii() and c.isalpha()):
            raise ValueError(f"einsum: {subscripts!r}: {c!r} is not a label (labels are letters a-z, A-Z; "
                             f"'...' once per term)")
    return before, after, bool(ellipsis)


def _label_sizes(subscripts: str, nodes: Sequence[Node], inputs: Sequence[Labels]) -> dict[str, int]:
    """Each label's size: equal wherever it appears, or 1 (which broadcasts) across operands."""
    sizes: dict[str, tuple[int, int]] = {}
    for k, (x, labels) in enumerate(zip(nodes, inputs)):
        own: dict[str, int] = {}
        for label, n in zip(labels, x.type.shape):
            if own.setdefault(label, n) != n:
                raise ShapeError(f"einsum: {subscripts!r}: label {label!r} repeats in operand {k} "
                                 f"{format_shape(x.shape)} with sizes {own[label]} and {n}; "
                                 f"a diagonal needs them equal")
            seen = sizes.setdefault(label, (n, k))
            if seen[0] != n and 1 not in (seen[0], n):
                raise ShapeError(
                    f"einsum: {subscripts!r}: label {label.replace('...', 'of ... at ')!r} has size {seen[0]} in "
                    f"operand {seen[1]} {format_shape(nodes[seen[1]].shape)} and {n} in operand {k} "
                    f"{format_shape(x.shape)}; sizes must be equal or 1")
            if seen[0] == 1:
                sizes[label] = (n, k)
    return {label: n for label, (n, _) in sizes.items()}


def _diagonals(term: _Term, sizes: dict[str, int]) -> _Term:
    """The term with each repeated label taken once: x[..., i, ..., i, ...] as one axis."""
    x, labels = term.node, term.labels
    for label in dict.fromkeys(labels):
        while labels.count(label) > 1:
            first = labels.index(label)
            second = labels.index(label, first + 1)
            n = x.type.shape[first]
            mask = reshape(eye(n, dtype=x.dtype), [n if a in (first, second) else 1 for a in range(x.ndim)])
            x = reduce_sum(x * mask, second)
            labels = labels[:second] + labels[second + 1:]
    return _Term(x, labels)


def _sum_out(term: _Term, keep: set[str]) -> _Term:
    """Sum over the axes whose labels are not in `keep`."""
    axes = tuple(a for a, label in enumerate(term.labels) if label not in keep)
    if not axes:
        return term
    return _Term(reduce_sum(term.node, axes), tuple(label for label in term.labels if label in keep))


def _arranged(term: _Term, groups: Sequence[Labels], sizes: dict[str, int]) -> Node:
    """The term's axes transposed into the order of `groups` and broadcast to the labels'
    sizes, then reshaped to one axis per group (a group absent from the term is size 1)."""
    order = [label for group in groups for label in group if label in term.labels]
    x = transpose(term.node, [term.labels.index(label) for label in order])
    x = broadcast_to(x, tuple(sizes[label] for label in order))
    dims = [int(np.prod([sizes[label] for label in group if label in term.labels], dtype=np.int64))
            for group in groups]
    return reshape(x, dims)


def _contract(a: _Term, b: _Term, later: set[str], sizes: dict[str, int]) -> _Term:
    """a times b, summed over the labels both have that `later` does not need."""
    a = _sum_out(a, later | set(b.labels))
    b = _sum_out(b, later | set(a.labels))
    shared = [label for label in a.labels if label in b.labels]
    batch = tuple(label for label in shared if label in later)
    summed = tuple(label for label in shared if label not in later)
    a_only = tuple(label for label in a.labels if label not in shared)
    b_only = tuple(label for label in b.labels if label not in shared)
    labels = batch + a_only + b_only
    if summed:
        product = matmul(_arranged(a, (batch, a_only, summed), sizes), _arranged(b, (batch, summed, b_only), sizes))
    else:
        product = _arranged(a, (batch, a_only, ()), sizes) * _arranged(b, (batch, (), b_only), sizes)
    return _Term(reshape(product, [sizes[label] for label in labels]), labels)


__all__ = ["einsum"]
