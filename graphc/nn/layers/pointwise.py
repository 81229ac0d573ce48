"""Layers for the elementwise activations of gc.nn (PyTorch's names and defaults)."""
from __future__ import annotations

from typing import Optional

from ...ir import Node
from ...ops.nn import elu, gelu, hardsigmoid, hardswish, leaky_relu, relu6, silu
from .base import Layer


class LeakyReLU(Layer):
    """x for x > 0, negative_slope * x otherwise (see gc.nn.leaky_relu)."""

    def __init__(self, negative_slope: float = 0.01, name: Optional[str] = None):
        super().__init__(name)
        self.negative_slope = negative_slope

    def forward(self, x: Node, training: bool) -> Node:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (see gc.nn.elu)."""

    def __init__(self, alpha: float = 1.0, name: Optional[str] = None):
        super().__init__(name)
        self.alpha = alpha

    def forward(self, x: Node, training: bool) -> Node:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Layer):
    """x * Phi(x), exact ("none") or by PyTorch's tanh approximation (see gc.nn.gelu)."""

    def __init__(self, approximate: str = "none", name: Optional[str] = None):
        super().__init__(name)
        gelu(0.0, approximate)  # an unknown approximation fails here, not at the first call
        self.approximate = approximate

    def forward(self, x: Node, training: bool) -> Node:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class SiLU(Layer):
    """x * sigmoid(x) (see gc.nn.silu)."""

    def forward(self, x: Node, training: bool) -> Node:
        return silu(x)


class Hardswish(Layer):
    """x * relu6(x + 3) / 6 (see gc.nn.hardswish)."""

    def forward(self, x: Node, training: bool) -> Node:
        return hardswish(x)


class Hardsigmoid(Layer):
    """relu6(x + 3) / 6 (see gc.nn.hardsigmoid)."""

    def forward(self, x: Node, training: bool) -> Node:
        return hardsigmoid(x)


class ReLU6(Layer):
    """min(max(x, 0), 6) (see gc.nn.relu6)."""

    def forward(self, x: Node, training: bool) -> Node:
        return relu6(x)
