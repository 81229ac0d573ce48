"""Parameter-free layers: activations and Flatten."""
from __future__ import annotations

from typing import Optional

from ... import ops
from ...ir import Node
from .base import Layer


class ReLU(Layer):
    """max(x, 0) elementwise."""

    def forward(self, x: Node, training: bool) -> Node:
        return ops.relu(x)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, x: Node, training: bool) -> Node:
        return ops.sigmoid(x)


class Tanh(Layer):
    """tanh(x) elementwise."""

    def forward(self, x: Node, training: bool) -> Node:
        return ops.tanh(x)


class Softplus(Layer):
    """log(1 + exp(x)) elementwise, computed without overflow."""

    def forward(self, x: Node, training: bool) -> Node:
        return ops.softplus(x)


class Flatten(Layer):
    """Merge the axes from `start_dim` on (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, name: Optional[str] = None):
        super().__init__(name)
        self.start_dim = start_dim

    def forward(self, x: Node, training: bool) -> Node:
        return ops.flatten(x, self.start_dim)

    def extra_repr(self) -> str:
        return "" if self.start_dim == 1 else f"start_dim={self.start_dim}"
