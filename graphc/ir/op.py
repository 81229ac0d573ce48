"""The op contract. An op is a value: two ops of one class with equal parameters are equal.

Concrete ops (graphc.ops) are frozen dataclasses whose fields are their parameters, and
implement four things: `infer_type` (the type rule, raising ShapeError/DTypeError at build
time), `reference` (the numpy oracle), `vjp` (the gradient, written with other ops) and `jvp`
(the forward-mode rule, written with other ops; graphc/ops/tangents.py has the shared rules
for linear and multilinear ops).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from .types import TensorType

if TYPE_CHECKING:
    from .node import Node


class Op:
    """Base class of every op. Subclasses are `@dataclass(frozen=True)`."""

    #: Elementwise ops (same-shaped broadcasting maps) fuse into loops in the backend.
    elementwise: bool = False
    #: Indices of inputs whose shape (not value) is all the op reads.
    shape_only_inputs: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """The op's name in listings: its class name in snake_case (BroadcastTo -> broadcast_to)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def infer_type(self, *inputs: TensorType) -> TensorType:
        """The output type for these input types; ShapeError/DTypeError (naming the op, the
        operands' shapes and what was expected) when they do not fit."""
        raise NotImplementedError(f"{type(self).__name__}.infer_type")

    def reference(self, *inputs: np.ndarray) -> np.ndarray:
        """The numpy oracle: the output value for these input values."""
        raise NotImplementedError(f"{type(self).__name__}.reference")

    def vjp(self, node: "Node", grad: "Node") -> Sequence[Optional["Node"]]:
        """Gradients with respect to each input given the output's gradient (None: none)."""
        raise NotImplementedError(f"{self.name} has no gradient")

    def jvp(self, node: "Node", tangents: Sequence[Optional["Node"]]) -> Optional["Node"]:
        """The output's tangent given each input's, shaped like the output (None: zero).
        Called when some input has a tangent; shape-only and non-float inputs never do."""
        raise NotImplementedError(f"{self.name} has no forward-mode rule (Op.jvp)")

    def check_run_time(self, node: "Node", input_shapes: Sequence[tuple[int, ...]]) -> None:
        """Checks that need the sizes known only when run (backends call this before
        running the node; ShapeError on failure). Most ops need none."""

    def params_str(self) -> str:
        """Parameters as text for listings, e.g. 'axis=1'."""
        fields = getattr(self, "__dataclass_fields__", {})
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in fields)

    def __str__(self) -> str:
        p = self.params_str()
        return f"{self.name}{{{p}}}" if p else self.name
