"""Leaves of a graph: symbolic inputs, constants and shared variables."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..ir import DTypeError, Node, Op, ShapeError, TensorType, as_dtype, as_shape
from ..ir.dtypes import DEFAULT_FLOAT, check_same_kind

_uids = itertools.count()


@dataclass(frozen=True)
class Input(Op):
    """A symbolic input, given a value when a compiled function is called."""

    label: str
    ttype: TensorType
    uid: int = field(default_factory=lambda: next(_uids))

    @property
    def name(self) -> str:
        return "input"

    def infer_type(self) -> TensorType:
        return self.ttype

    def params_str(self) -> str:
        return self.label


class Constant(Op):
    """A constant array baked into the graph. Equal values give equal ops."""

    __slots__ = ("value", "_key")

    def __init__(self, value: np.ndarray):
        value = np.array(value)  # a private, read-only copy
        value.flags.writeable = False
        self.value = value
        self._key = (value.dtype.str, value.shape, value.tobytes())

    name = "constant"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Constant) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def infer_type(self) -> TensorType:
        return TensorType(self.value.dtype, self.value.shape)

    def reference(self) -> np.ndarray:
        return self.value

    def params_str(self) -> str:
        if self.value.size <= 4:
            return np.array2string(self.value, separator=", ") if self.value.ndim else repr(self.value.item())
        return f"array{self.value.shape}"


class SharedContainer:
    """The mutable storage behind a shared variable; the graph sees only its type."""

    def __init__(self, value: np.ndarray, label: str, ttype: TensorType):
        self.label, self.type = label, ttype
        self.value = value
        self.default_update: Optional[Node] = None


@dataclass(frozen=True, eq=False)
class Shared(Op):
    """A variable held by the library (model parameters, optimiser state).

    Compiled functions read its current value at every call and may update it.
    """

    container: SharedContainer

    @property
    def name(self) -> str:
        return "shared"

    @property
    def label(self) -> str:
        return self.container.label

    def infer_type(self) -> TensorType:
        return self.container.type

    def params_str(self) -> str:
        return self.container.label


def tensor(name: str, shape: Any = (), dtype: Any = DEFAULT_FLOAT) -> Node:
    """A symbolic input tensor. `shape` entries are ints or None (known when run)."""
    if not isinstance(name, str):
        raise TypeError(f"tensor: name must be a string, got {name!r}")
    return Node.make(Input(name, TensorType(as_dtype(dtype), as_shape(shape))))


def scalar(name: str, dtype: Any = DEFAULT_FLOAT) -> Node:
    """A symbolic 0-d input."""
    return tensor(name, (), dtype)


def constant(value: Any, dtype: Any = None) -> Node:
    """A constant node. Python floats default to float32, ints to int64 (numpy's default)."""
    if isinstance(value, Node):
        raise TypeError("constant: value is already a node")
    arr = np.asarray(value)
    if dtype is None and arr.dtype == np.float64 and not isinstance(value, np.ndarray | np.generic):
        dtype = DEFAULT_FLOAT
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype))
    if arr.dtype.kind in "OSUV":
        raise DTypeError(f"constant: {value!r} is not a number or an array of numbers")
    as_dtype(arr.dtype)
    return Node.make(Constant(arr))


def shared(value: Any, name: Optional[str] = None, dtype: Any = None) -> "SharedVariable":
    """A shared variable holding a copy of `value` (`get_value()` / `set_value()`)."""
    arr = np.array(value, dtype=None if dtype is None else as_dtype(dtype))
    if dtype is None and arr.dtype == np.float64 and not isinstance(value, np.ndarray | np.generic):
        arr = arr.astype(DEFAULT_FLOAT)
    ttype = TensorType(as_dtype(arr.dtype), arr.shape)
    container = SharedContainer(arr, name or f"shared{next(_uids)}", ttype)
    return Node.make(Shared(container))


# A shared variable is a Node whose op is Shared; these helpers are installed as methods.
SharedVariable = Node


def get_value(node: Node, borrow: bool = False) -> np.ndarray:
    """The current value of a shared variable (a copy unless `borrow`)."""
    container = _container(node, "get_value")
    return container.value if borrow else container.value.copy()


def set_value(node: Node, value: Any) -> None:
    """Replace a shared variable's value: the shape must match; the dtype is cast under numpy's
    same_kind rule (float64 -> float32 and int -> float, not float -> int)."""
    container = _container(node, "set_value")
    arr = np.asarray(value)
    if arr.shape != container.type.shape:
        raise ShapeError(
            f"set_value: {container.label} has shape {container.type.shape}, got {arr.shape}"
        )
    check_same_kind("set_value", container.label, container.type.dtype, arr.dtype)
    container.value = np.array(arr, dtype=container.type.dtype)


def _container(node: Node, what: str) -> SharedContainer:
    if not isinstance(node.op, Shared):
        raise TypeError(f"{what}: {node!r} is not a shared variable")
    return node.op.container


def is_input(node: Node) -> bool:
    """A symbolic input (given a value at each call)."""
    return isinstance(node.op, Input)


def is_shared(node: Node) -> bool:
    """A shared variable."""
    return isinstance(node.op, Shared)


def is_constant(node: Node) -> bool:
    """A constant baked into the graph."""
    return isinstance(node.op, Constant)


def constant_value(node: Node) -> Optional[np.ndarray]:
    """The value of a constant node, else None."""
    return node.op.value if isinstance(node.op, Constant) else None
