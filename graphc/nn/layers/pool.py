"""Pooling layers over the spatial axes of NCHW (or NCL) inputs."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ...ir import Node
from ...ops.nn import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .base import Layer


class _Pool(Layer):
    pool: Callable[..., Node]

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, name: Optional[str] = None,
                 **options: Any):
        super().__init__(name)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        #: the pooling's other PyTorch options that differ from their defaults
        self.options = {key: value for key, value in options.items() if value != self.defaults[key]}

    defaults: dict[str, Any] = {}

    def forward(self, x: Node, training: bool) -> Node:
        return type(self).pool(x, self.kernel_size, self.stride, self.padding, **self.options)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}"
        if self.stride is not None:
            text += f", stride={self.stride}"
        text += f", padding={self.padding!r}" if self.padding != 0 else ""
        return text + "".join(f", {key}={value!r}" for key, value in self.options.items())


class _MaxPool(_Pool):
    defaults = {"dilation": 1, "ceil_mode": False}

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False, name: Optional[str] = None):
        super().__init__(kernel_size, stride, padding, name, dilation=dilation, ceil_mode=ceil_mode)


class _AvgPool(_Pool):
    defaults = {"ceil_mode": False, "count_include_pad": True}

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, name: Optional[str] = None):
        super().__init__(kernel_size, stride, padding, name, ceil_mode=ceil_mode, count_include_pad=count_include_pad)


class MaxPool1d(_MaxPool):
    """Max pooling over the last axis of (N, C, L) inputs (see gc.nn.max_pool1d)."""

    pool = staticmethod(max_pool1d)


class MaxPool2d(_MaxPool):
    """Max pooling over the last two axes of (N, C, H, W) inputs (see gc.nn.max_pool2d)."""

    pool = staticmethod(max_pool2d)


class AvgPool1d(_AvgPool):
    """Average pooling over the last axis of (N, C, L) inputs (see gc.nn.avg_pool1d)."""

    pool = staticmethod(avg_pool1d)


class AvgPool2d(_AvgPool):
    """Average pooling over the last two axes of (N, C, H, W) inputs (see gc.nn.avg_pool2d)."""

    pool = staticmethod(avg_pool2d)
