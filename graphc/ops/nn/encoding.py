"""One-hot encoding of integer labels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...ir import DTypeError, Node, Op, ShapeError, TensorType
from ...ir.dtypes import as_dtype, is_integer
from ..convert import as_node


@dataclass(frozen=True)
class OneHot(Op):
    """labels (...) -> (..., num_classes): 1 at each label's class, 0 elsewhere. No gradient."""

    num_classes: int
    dtype: np.dtype

    @property
    def name(self) -> str:
        return "one_hot"

    def infer_type(self, labels: TensorType) -> TensorType:
        if not is_integer(labels.dtype):
            raise DTypeError(f"one_hot: labels must be integers, got {labels.dtype}")
        if self.num_classes < 1:
            raise ShapeError(f"one_hot: num_classes must be >= 1, got {self.num_classes}")
        return TensorType(self.dtype, labels.shape + (self.num_classes,))

    def reference(self, labels: np.ndarray) -> np.ndarray:
        bad = (labels < 0) | (labels >= self.num_classes)
        if np.any(bad):
            raise ValueError(f"one_hot: label {labels[bad].flat[0]} is outside [0, {self.num_classes})")
        return (labels[..., None] == np.arange(self.num_classes)).astype(self.dtype)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [None]


def one_hot(labels: Any, num_classes: int, dtype: Any = "float32") -> Node:
    """Labels in [0, num_classes) as one-hot vectors along a new last axis."""
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool):
        raise ShapeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    return Node.make(OneHot(int(num_classes), as_dtype(dtype)), [as_node(labels)])
