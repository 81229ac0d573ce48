"""Normalisation layers with per-sample statistics (PyTorch's LayerNorm, GroupNorm,
LocalResponseNorm); the affine parameters are `weight` and `bias`, as in torch's state_dict."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...ir import Node
from ...ops.nn import group_norm, layer_norm, local_response_norm
from .base import Layer


class _Affine(Layer):
    """A layer with optional weight (ones) and bias (zeros) of a given shape."""

    def __init__(self, shape: tuple[int, ...], affine: bool, name: Optional[str], dtype: str):
        super().__init__(name)
        self.weight = self.add_parameter("weight", np.ones(shape, dtype)) if affine else None
        self.bias = self.add_parameter("bias", np.zeros(shape, dtype)) if affine else None


class LayerNorm(_Affine):
    """Normalise over the trailing `normalized_shape` axes (see gc.nn.layer_norm)."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 name: Optional[str] = None, dtype: str = "float32"):
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        super().__init__(shape, elementwise_affine, name, dtype)
        self.normalized_shape, self.eps = shape, eps

    def forward(self, x: Node, training: bool) -> Node:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class GroupNorm(_Affine):
    """Normalise groups of channels of each sample (see gc.nn.group_norm)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 name: Optional[str] = None, dtype: str = "float32"):
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups {num_groups} must divide num_channels {num_channels}")
        super().__init__((num_channels,), affine, name, dtype)
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps

    def forward(self, x: Node, training: bool) -> Node:
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"


class LocalResponseNorm(Layer):
    """Divide by a power of the sum of squares over neighbouring channels (see
    gc.nn.local_response_norm); no parameters."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0,
                 name: Optional[str] = None):
        super().__init__(name)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Node, training: bool) -> Node:
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
