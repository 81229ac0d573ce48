"""Pooling layers over the spatial axes of NCHW (or NCL) inputs."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ...ir import Node
from ...ops.nn import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .base import Layer


class _Pool(Layer):
    pool: Callable[..., Node]

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, name: Optional[str] = None):
        super().__init__(name)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Node, training: bool) -> Node:
        return type(self).pool(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}"
        if self.stride is not None:
            text += f", stride={self.stride}"
        return text + (f", padding={self.padding!r}" if self.padding != 0 else "")


class MaxPool1d(_Pool):
    """Max pooling over the last axis of (N, C, L) inputs (see gc.nn.max_pool1d)."""

    pool = staticmethod(max_pool1d)


class MaxPool2d(_Pool):
    """Max pooling over the last two axes of (N, C, H, W) inputs (see gc.nn.max_pool2d)."""

    pool = staticmethod(max_pool2d)


class AvgPool1d(_Pool):
    """Average pooling over the last axis of (N, C, L) inputs (see gc.nn.avg_pool1d)."""

    pool = staticmethod(avg_pool1d)


class AvgPool2d(_Pool):
    """Average pooling over the last two axes of (N, C, H, W) inputs (see gc.nn.avg_pool2d)."""

    pool = staticmethod(avg_pool2d)
