"""Inverted dropout with a fresh mask at every call of a compiled function."""
from __future__ import annotations

from typing import Any, Optional

from ...ir import Node
from ..convert import as_node
from ..random import RandomStream, default_stream


def dropout(x: Any, p: float, training: bool = True, stream: Optional[RandomStream] = None) -> Node:
    """Zero each element of x with probability `p` and scale the rest by 1 / (1 - p), so
    the expected value is unchanged; the identity when not training or p is 0.

    The mask comes from `stream` (default: graphc.ops.random.default_stream()), whose key
    advances at every call of a compiled function: each call draws a new mask, and the
    same seed gives the same sequence of masks.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = as_node(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0
    keep = (stream or default_stream()).bernoulli_like(x, 1.0 - p)
    return x * keep / (1.0 - p)
