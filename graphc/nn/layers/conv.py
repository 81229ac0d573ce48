"""Convolution layers (NCHW data, weights (Cout, Cin, *kernel) as in PyTorch)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from ...ir import Node
from ...ops.nn import conv1d, conv2d
from ..init import Initialiser, RngLike, from_array, initial_value
from .base import Layer


class _Conv(Layer):
    """Shared body of Conv1d and Conv2d: `rank` spatial axes."""

    rank: int
    conv: Callable[..., Node]

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Union[int, tuple], stride: Any = 1,
        padding: Any = 0, bias: bool = True, init: Union[str, Initialiser] = "glorot_uniform",
        rng: RngLike = None, name: Optional[str] = None, dtype: str = "float32",
    ):
        super().__init__(name)
        kernel = (kernel_size,) * self.rank if isinstance(kernel_size, int) else tuple(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding = stride, padding
        area = int(np.prod(kernel))
        shape = (out_channels, in_channels) + kernel
        self.weight = self.add_parameter(
            "weight", initial_value(init, shape, in_channels * area, out_channels * area, rng, dtype)
        )
        self.bias = self.add_parameter("bias", np.zeros(out_channels, dtype)) if bias else None

    def forward(self, x: Node, training: bool) -> Node:
        return type(self).conv(x, self.weight, self.bias, self.stride, self.padding)

    def rescaled(self, scale: np.ndarray, shift: np.ndarray) -> "_Conv":
        """A new layer computing scale * self(x) + shift per output channel."""
        w = self.weight.get_value()
        b = self.bias.get_value() if self.bias is not None else np.zeros(self.out_channels, w.dtype)
        folded = type(self)(
            self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding,
            init=from_array(w * scale.reshape((-1,) + (1,) * (w.ndim - 1))), name=self.name, dtype=w.dtype,
        )
        folded.bias.set_value(b * scale + shift)
        return folded

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != 1:
            text += f", stride={self.stride}"
        if self.padding != 0:
            text += f", padding={self.padding!r}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_Conv):
    """1-D convolution of (N, Cin, L) inputs."""

    rank = 1
    conv = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-D convolution of (N, Cin, H, W) inputs."""

    rank = 2
    conv = staticmethod(conv2d)
