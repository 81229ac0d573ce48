"""Dropout: zero activations at random while training (inverted scaling), identity otherwise."""
from __future__ import annotations

from typing import Optional

from ...ir import Node
from ...ops import RandomStream
from ...ops.nn import dropout
from ..init import RngLike, as_rng
from .base import Layer


class Dropout(Layer):
    """Drop each activation with probability `p` in training graphs.

    Masks come from a RandomStream seeded from `rng` (or graphc's default stream, see
    `gc.seed`, when rng is None); its key advances at each call of a compiled function.
    """

    def __init__(self, p: float = 0.5, rng: RngLike = None, name: Optional[str] = None):
        super().__init__(name)
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.stream = None if rng is None else RandomStream(int(as_rng(rng).integers(2**31)))

    def forward(self, x: Node, training: bool) -> Node:
        return dropout(x, self.p, training, self.stream)

    def extra_repr(self) -> str:
        return f"p={self.p}"
