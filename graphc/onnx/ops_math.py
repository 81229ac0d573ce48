"""Converters of ONNX's elementwise arithmetic, math functions, comparisons, casts and matrix
products."""
from __future__ import annotations

from functools import reduce
from typing import Callable

from .. import ops

from ..ir import Node
from ..ir.dtypes import is_integer
from .dtypes import to_numpy
from .registry import NodeView, converter

UNARY: dict[str, Callable[[Node], Node]] = {
    "Abs": ops.abs, "Neg": ops.neg, "Exp": ops.exp, "Log": ops.log, "Sqrt": ops.sqrt, "Erf": ops.erf,
    "Sin": ops.sin, "Cos": ops.cos, "Tan": ops.tan, "Floor": ops.floor, "Ceil": ops.ceil, "Round": ops.round,
    "Sign": ops.sign, "IsNaN": ops.isnan, "Not": ops.logical_not,
}
BINARY: dict[str, Callable[[Node, Node], Node]] = {
    "Add": ops.add, "Sub": ops.sub, "Mul": ops.mul, "Equal": ops.eq, "Less": ops.lt, "Greater": ops.gt,
    "LessOrEqual": ops.le, "GreaterOrEqual": ops.ge, "And": ops.logical_and, "Or": ops.logical_or,
    "Xor": ops.logical_xor,
}
VARIADIC: dict[str, Callable[[Node, Node], Node]] = {"Sum": ops.add, "Max": ops.maximum, "Min": ops.minimum}


def _register_table(table: dict, convert: Callable) -> None:
    for op_type, fn in table.items():
        converter(op_type, since=1)(lambda v, fn=fn: convert(v, fn))


_register_table(UNARY, lambda v, fn: fn(v.input(0)))
_register_table(BINARY, lambda v, fn: fn(v.input(0), v.input(1)))
_register_table(VARIADIC, lambda v, fn: reduce(fn, v.inputs))


@converter("Mean")
def mean(v: NodeView) -> Node:
    return reduce(ops.add, v.inputs) / ops.constant(len(v.inputs), v.inputs[0].dtype)


@converter("Div")
def div(v: NodeView) -> Node:
    """Integer operands divide with truncation toward zero, as ONNX's integer Div."""
    a, b = v.input(0), v.input(1)
    return ops.cast(a / b, a.dtype) if is_integer(a.dtype) else a / b


@converter("Reciprocal")
def reciprocal(v: NodeView) -> Node:
    return ops.reciprocal(v.input(0))


@converter("Pow")
def power(v: NodeView) -> Node:
    """The result has the base's dtype (ONNX), whatever the exponent's."""
    base, exponent = v.input(0), v.input(1)
    return ops.cast(ops.power(base, ops.cast(exponent, base.dtype)), base.dtype)


@converter("Where")
def where(v: NodeView) -> Node:
    return ops.where(v.input(0), v.input(1), v.input(2))


@converter("Cast", since=6, attributes=("to", "saturate"))
def cast(v: NodeView) -> Node:
    return ops.cast(v.input(0), to_numpy(v.attr("to"), v.description, v.fail))


@converter("MatMul")
def matmul(v: NodeView) -> Node:
    return ops.matmul(v.input(0), v.input(1))


@converter("Gemm", since=7, attributes=("alpha", "beta", "transA", "transB"))
def gemm(v: NodeView) -> Node:
    """alpha * A' B' + beta * C, A' and B' transposed when asked."""
    a, b = v.input(0), v.input(1)
    a = a.T if v.attr("transA", 0) else a
    b = b.T if v.attr("transB", 0) else b
    y = ops.matmul(a, b)
    alpha, beta = v.attr("alpha", 1.0), v.attr("beta", 1.0)
    if alpha != 1.0:
        y = y * ops.constant(alpha, y.dtype)
    c = v.optional_input(2)
    if c is not None and beta != 0.0:
        y = y + (c if beta == 1.0 else c * ops.constant(beta, c.dtype))
    return y
