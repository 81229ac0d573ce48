"""Matrix multiplication with numpy's matmul semantics (vectors, batches, broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, broadcast_shapes, format_shape, promote
from ..ir.dtypes import is_bool, is_float
from ..ir.shapes import check_no_hidden_broadcast
from .convert import as_nodes
from .elementwise import cast
from .shape import expand_dims, squeeze, swapaxes
from .tangents import multilinear


@dataclass(frozen=True)
class MatMul(Op):
    """a @ b for a, b of rank >= 2; leading (batch) axes broadcast."""

    name = "matmul"

    def infer_type(self, a: TensorType, b: TensorType) -> TensorType:
        shapes = f"{format_shape(a.shape)} @ {format_shape(b.shape)}"
        if a.ndim < 2 or b.ndim < 2:
            raise ShapeError(f"matmul: the op needs rank >= 2 operands, got {shapes}")
        k1, k2 = a.shape[-1], b.shape[-2]
        if k1 is not None and k2 is not None and k1 != k2:
            raise ShapeError(
                f"matmul: inner dimensions differ in {shapes}: {k1} != {k2} "
                f"(the last axis of a must match the second-to-last of b)"
            )
        if is_bool(a.dtype) or is_bool(b.dtype):
            raise DTypeError(f"matmul: bool operands are not supported ({a.dtype}, {b.dtype})")
        batch = broadcast_shapes(f"matmul: batch axes of {shapes}", a.shape[:-2], b.shape[:-2])
        return TensorType(promote(a.dtype, b.dtype), batch + (a.shape[-2], b.shape[-1]))

    def reference(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.matmul(a, b)

    def check_run_time(self, node: Node, input_shapes: Sequence[tuple[int, ...]]) -> None:
        # batch axes broadcast as elementwise operands do: an unknown batch size that is 1
        # when run would broadcast unseen, and give that operand a gradient of the wrong shape
        static = [tuple(i.type.shape[:-2]) + tuple(s[-2:]) for i, s in zip(node.inputs, input_shapes)]
        check_no_hidden_broadcast(self.name, static, input_shapes)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        from .reduce import sum_to

        a, b = node.inputs
        ga = sum_to(matmul(grad, swapaxes(b, -1, -2)), a) if is_float(a.dtype) else None
        gb = sum_to(matmul(swapaxes(a, -1, -2), grad), b) if is_float(b.dtype) else None
        return [None if ga is None else cast(ga, a.dtype), None if gb is None else cast(gb, b.dtype)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return multilinear(node, tangents)


def matmul(a: Any, b: Any) -> Node:
    """numpy.matmul: 1-D operands are promoted to matrices and the added axis removed."""
    a, b = as_nodes(a, b)
    shapes = f"{format_shape(a.type.shape)} @ {format_shape(b.type.shape)}"
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: scalar operands are not allowed ({shapes}); use *")
    k1, k2 = a.type.shape[-1], b.type.shape[-2 if b.ndim > 1 else 0]
    if k1 is not None and k2 is not None and k1 != k2:
        which = "second-to-last" if b.ndim > 1 else "length"
        raise ShapeError(f"matmul: inner dimensions differ in {shapes}: {k1} != {k2} "
                         f"(the last axis of a must match the {which} of b)")
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, 1) if b.ndim == 1 else b
    out = Node.make(MatMul(), [a2, b2])
    drop = ([out.ndim - 2] if a.ndim == 1 else []) + ([out.ndim - 1] if b.ndim == 1 else [])
    return squeeze(out, tuple(drop)) if drop else out


def dot(a: Any, b: Any) -> Node:
    """Alias of matmul for vectors and matrices."""
    return matmul(a, b)
