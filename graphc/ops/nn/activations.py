"""Softmax and log-softmax over one axis, as ops so rewrites can match them
(e.g. log(softmax(x)) -> log_softmax(x)) and backends can lower them stably."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...ir import DTypeError, Node, Op, TensorType, normalize_axis
from ...ir.dtypes import float_of, is_float
from ..convert import as_node
from ..elementwise import cast
from ..reduce import reduce_sum


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x minus its maximum along `axis`, so exp cannot overflow."""
    m = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0)


@dataclass(frozen=True)
class _AlongAxis(Op):
    """A float map along one `axis` that keeps the input's type."""

    axis: int

    def infer_type(self, x: TensorType) -> TensorType:
        normalize_axis(self.name, self.axis, x.ndim)
        if not is_float(x.dtype):
            raise DTypeError(f"{self.name}: the input must be float, got {x.dtype}")
        return x


@dataclass(frozen=True)
class Softmax(_AlongAxis):
    """exp(x) / sum(exp(x)) along `axis`, computed without overflow."""

    def reference(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(_shifted(x, self.axis))
        return e / np.sum(e, axis=self.axis, keepdims=True)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        s = node
        return [s * (grad - reduce_sum(grad * s, self.axis, keepdims=True))]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return self.vjp(node, tangents[0])[0]  # the Jacobian diag(s) - s s^T is symmetric


@dataclass(frozen=True)
class LogSoftmax(_AlongAxis):
    """x - logsumexp(x) along `axis`, computed without overflow."""

    @property
    def name(self) -> str:
        return "log_softmax"

    def reference(self, x: np.ndarray) -> np.ndarray:
        shifted = _shifted(x, self.axis)
        return shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x = node.inputs[0]
        probs = Node.make(Softmax(self.axis), [x])
        return [grad - probs * reduce_sum(grad, self.axis, keepdims=True)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        (t,) = tangents
        probs = Node.make(Softmax(self.axis), [node.inputs[0]])
        return t - reduce_sum(probs * t, self.axis, keepdims=True)


def _along(op_class: type, name: str, x: Any, axis: int) -> Node:
    x = as_node(x)
    x = x if is_float(x.dtype) else cast(x, float_of(x.dtype))
    return Node.make(op_class(normalize_axis(name, axis, x.ndim)), [x])


def softmax(x: Any, axis: int = -1) -> Node:
    """exp(x) / sum(exp(x)) along `axis` (stable for large values)."""
    return _along(Softmax, "softmax", x, axis)


def log_softmax(x: Any, axis: int = -1) -> Node:
    """log(softmax(x)) along `axis`, as x - logsumexp(x): finite for any finite x."""
    return _along(LogSoftmax, "log_softmax", x, axis)
