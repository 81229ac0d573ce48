"""What every printer shares: how outputs, values, op params, leaves and names read as text."""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..ir import Node, Op, TensorType
from ..ops.leaves import Constant, Input, Shared
#: Constants with at most this many elements print every element; larger ones are abbreviated.
SMALL_CONSTANT = 8


def as_outputs(expr_or_list: Node | Sequence[Node]) -> tuple[list[Node], bool]:
    """The outputs to print and whether a single node (not a list) was given."""
    if isinstance(expr_or_list, Node):
        return [expr_or_list], True
    outputs = list(expr_or_list)
    for o in outputs:
        if not isinstance(o, Node):
            raise TypeError(f"printing: expected nodes, got {type(o).__name__}")
    return outputs, False


def format_constant(value: np.ndarray) -> str:
    """A constant's value, compactly: `0.5`, `[1, 2]`, `full((3, 4), 0.0)`, `array(f32[3,4])`."""
    if value.ndim == 0:
        return str(value[()])
    if value.size <= SMALL_CONSTANT:
        return _nested(value)
    first = value.reshape(-1)[0]
    uniform = np.broadcast_to(first, value.shape)
    if np.array_equal(value, uniform, equal_nan=value.dtype.kind == "f"):
        return f"full({format_value(value.shape)}, {first})"
    return f"array({TensorType(value.dtype, value.shape)})"


def _nested(value: np.ndarray) -> str:
    if value.ndim == 0:
        return str(value[()])
    return "[" + ", ".join(_nested(v) for v in value) + "]"


def format_value(value: Any) -> str:
    """A parameter value as text: tuples as Python writes them, dtypes by name."""
    if isinstance(value, tuple):
        inner = ", ".join(format_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, np.ndarray):
        return format_constant(value)
    if isinstance(value, np.generic):
        return str(value)
    return repr(value)


def _param_items(op: Op) -> list[tuple[str, Any]]:
    """An op's parameters that differ from their defaults (a kind equal to its name is implied)."""
    if not dataclasses.is_dataclass(op):
        return []
    items = []
    for f in dataclasses.fields(op):
        value = getattr(op, f.name)
        if _is_default(f, value) or (isinstance(value, str) and value == op.name):
            continue
        items.append((f.name, value))
    return items


def _is_default(f: dataclasses.Field, value: Any) -> bool:
    if f.default is dataclasses.MISSING:
        return False
    try:
        return bool(value == f.default)
    except (TypeError, ValueError):  # values whose == is not a plain truth value
        return False


def param_text(op: Op) -> str:
    """Parameters as text: the op's own `params_str` when it defines one, else its fields."""
    if type(op).params_str is not Op.params_str:
        return op.params_str()
    return ", ".join(f"{k}={format_value(v)}" for k, v in _param_items(op))


def op_text(op: Op) -> str:
    """`name{params}`, e.g. `sum{axes=(1,)}`, or just the name."""
    params = param_text(op)
    return f"{op.name}{{{params}}}" if params else op.name


def leaf_names(nodes: Iterable[Node]) -> dict[Node, str]:
    """Names of the inputs and shared variables among `nodes`.

    A label used by several distinct leaves gets `#2`, `#3`, ... on its later uses.
    """
    names: dict[Node, str] = {}
    seen: dict[str, int] = {}
    for node in nodes:
        if isinstance(node.op, (Input, Shared)) and node not in names:
            count = seen[node.op.label] = seen.get(node.op.label, 0) + 1
            names[node] = node.op.label if count == 1 else f"{node.op.label}#{count}"
    return names


def node_label(node: Node, names: dict[Node, str]) -> str:
    """A node's own text without its inputs: a leaf's name, a constant's value, `op{params}`."""
    if node in names:
        return names[node]
    if isinstance(node.op, Constant):
        return format_constant(node.op.value)
    return op_text(node.op)


def fresh_names(taken: Iterable[str]) -> Iterator[str]:
    """t1, t2, ... skipping names already taken (by the user's labels)."""
    used = set(taken)
    return (name for name in (f"t{i}" for i in itertools.count(1)) if name not in used)
