"""Nodes: immutable, hash-consed vertices of the expression DAG.

`Node.make(op, inputs)` returns the existing node when the same op has already been
applied to the same inputs, so equal expressions are one object and common
subexpressions are shared by construction. Identity is equality.

Tensor operators (`+`, `@`, `.sum()`, `.T`, ...) are installed on this class by
graphc.ops, which keeps this layer free of any op; the type's parts (`dtype`, `shape`,
`ndim`) are properties here.
"""
from __future__ import annotations

import itertools
import weakref
from typing import Sequence

import numpy as np

from .op import Op
from .types import Shape, TensorType

_interned: "weakref.WeakValueDictionary[tuple, Node]" = weakref.WeakValueDictionary()
_ids = itertools.count()


class Node:
    """One op applied to input nodes, with its static type."""

    __slots__ = ("op", "inputs", "type", "id", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray + node -> node

    op: Op
    inputs: tuple["Node", ...]
    type: TensorType
    id: int

    def __new__(cls, *args, **kwargs):  # noqa: D102 - construction goes through make
        raise TypeError("nodes are built by ops (e.g. gc.tensor, x + y), not Node(...)")

    @classmethod
    def make(cls, op: Op, inputs: Sequence["Node"] = ()) -> "Node":
        """Apply `op` to `inputs`: infer the type (raising on bad operands) and intern."""
        inputs = tuple(inputs)
        for i in inputs:
            if not isinstance(i, Node):
                raise TypeError(f"{op.name}: inputs must be nodes, got {type(i).__name__}")
        key = (op, *map(id, inputs))
        found = _interned.get(key)
        if found is not None:
            return found
        ttype = op.infer_type(*(i.type for i in inputs))
        node = object.__new__(cls)
        node.op, node.inputs, node.type, node.id = op, inputs, ttype, next(_ids)
        _interned[key] = node
        return node

    @property
    def dtype(self) -> np.dtype:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def shape(self) -> Shape:
        """The static shape: ints, or None where unknown until run time."""
        return self.type.shape

    @property
    def name(self) -> str | None:
        """The user's name for inputs and shared variables, else None."""
        return getattr(self.op, "label", None)

    def __bool__(self) -> bool:
        raise TypeError("the truth value of a symbolic tensor is unknown until it is run")

    def __reduce__(self):
        raise TypeError("nodes are not picklable; save shared values with get_value()")

    def __repr__(self) -> str:
        label = self.name or self.op.name
        return f"<{label}: {self.type} #{self.id}>"
