"""Turning Python values into nodes, with numpy's rules for Python scalars."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Node
from .leaves import constant


def as_node(value: Any, like: Node | None = None) -> Node:
    """`value` as a node. A Python scalar next to tensor `like` takes `like`'s dtype
    where numpy would (float32 tensor + 2.0 stays float32; int tensor * 0.5 is float64)."""
    if isinstance(value, Node):
        return value
    if like is not None and isinstance(value, (bool, int, float)):
        kind = like.dtype.kind
        if isinstance(value, bool):
            dtype = like.dtype
        elif isinstance(value, int):
            dtype = like.dtype if kind != "b" else np.dtype("int64")
        else:
            dtype = like.dtype if kind == "f" else np.dtype("float64")
        return constant(np.asarray(value, dtype=dtype))
    return constant(value)


def as_nodes(*values: Any) -> list[Node]:
    """Convert several operands; Python scalars take the dtype of a tensor operand."""
    like = next((v for v in values if isinstance(v, Node)), None)
    return [as_node(v, like) for v in values]
