"""Python operators and methods on nodes (`x + y`, `x @ w`, `x[1:]`, `x.sum()`, ...).

graphc.ir's Node knows no op; this module installs the tensor methods on it, so that
the arrow keeps pointing from ops to ir. `==` stays identity (nodes are dict keys):
use `gc.eq` for the elementwise comparison, as in PyTensor.
"""
from __future__ import annotations

from ..ir import Node
from . import elementwise as ew
from . import leaves, reduce, shape
from .indexing import getitem
from .matmul import matmul


def _swap(fn):
    return lambda self, other: fn(other, self)


METHODS = {
    "__add__": ew.add, "__radd__": _swap(ew.add),
    "__sub__": ew.sub, "__rsub__": _swap(ew.sub),
    "__mul__": ew.mul, "__rmul__": _swap(ew.mul),
    "__truediv__": ew.truediv, "__rtruediv__": _swap(ew.truediv),
    "__pow__": ew.power, "__rpow__": _swap(ew.power),
    "__matmul__": matmul, "__rmatmul__": _swap(matmul),
    "__neg__": ew.neg, "__pos__": lambda self: self, "__abs__": ew.abs,
    "__lt__": ew.lt, "__le__": ew.le, "__gt__": ew.gt, "__ge__": ew.ge,
    "__and__": ew.logical_and, "__or__": ew.logical_or, "__invert__": ew.logical_not,
    "__getitem__": getitem,
    "sum": reduce.reduce_sum, "mean": reduce.mean, "max": reduce.reduce_max,
    "min": reduce.reduce_min, "var": reduce.var, "std": reduce.std,
    "argmax": reduce.argmax, "argmin": reduce.argmin,
    "reshape": shape.reshape, "transpose": shape.transpose, "flatten": shape.flatten,
    "squeeze": shape.squeeze, "astype": ew.cast,
    "get_value": leaves.get_value, "set_value": leaves.set_value,
}


def install() -> None:
    """Attach the operators and methods to Node (idempotent)."""
    for name, fn in METHODS.items():
        setattr(Node, name, fn)
    Node.T = property(lambda self: shape.transpose(self))
    Node.__hash__ = object.__hash__
