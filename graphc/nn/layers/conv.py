"""Convolution layers (NCHW data, weights as in PyTorch: (Cout, Cin/groups, *kernel) for a
convolution, (Cin, Cout/groups, *kernel) for a transposed one)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from ...ir import Node
from ...ops.nn import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..init import Initialiser, RngLike, from_array, initial_value
from .base import Layer


class _ConvBase(Layer):
    """What convolutions and transposed convolutions share: `rank` spatial axes, a weight
    whose leading two axes are `weight_channels(in, out, groups)`, an optional bias, and
    the per-output-channel rescaling that folds a following BatchNorm."""

    rank: int

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Union[int, tuple], stride: Any = 1,
        padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
        init: Union[str, Initialiser] = "glorot_uniform", rng: RngLike = None, name: Optional[str] = None,
        dtype: str = "float32",
    ):
        super().__init__(name)
        if not isinstance(groups, int) or groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: groups={groups!r} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        kernel = (kernel_size,) * self.rank if isinstance(kernel_size, int) else tuple(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        area = int(np.prod(kernel))
        shape = self.weight_channels(in_channels, out_channels, groups) + kernel
        # fans as PyTorch counts them from the weight's shape
        self.weight = self.add_parameter("weight", initial_value(init, shape, shape[1] * area, shape[0] * area,
                                                                 rng, dtype))
        self.bias = self.add_parameter("bias", np.zeros(out_channels, dtype)) if bias else None

    @staticmethod
    def weight_channels(in_channels: int, out_channels: int, groups: int) -> tuple[int, int]:
        raise NotImplementedError

    def options(self) -> dict:
        """The keyword arguments of the layer that `rescaled` copies."""
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)

    def scale_weight(self, w: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """w scaled by `scale` per output channel."""
        raise NotImplementedError

    def rescaled(self, scale: np.ndarray, shift: np.ndarray) -> "_ConvBase":
        """A new layer computing scale * self(x) + shift per output channel."""
        w = self.weight.get_value()
        b = self.bias.get_value() if self.bias is not None else np.zeros(self.out_channels, w.dtype)
        folded = type(self)(self.in_channels, self.out_channels, self.kernel_size, **self.options(),
                            init=from_array(self.scale_weight(w, scale)), name=self.name, dtype=w.dtype)
        folded.bias.set_value(b * scale + shift)
        return folded

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        defaults = dict(stride=1, padding=0, output_padding=0, dilation=1, groups=1)
        for key, value in self.options().items():
            if value != defaults[key]:
                text += f", {key}={value!r}"
        return text + ("" if self.bias is not None else ", bias=False")


class _Conv(_ConvBase):
    """Shared body of Conv1d and Conv2d."""

    conv: Callable[..., Node]

    @staticmethod
    def weight_channels(in_channels: int, out_channels: int, groups: int) -> tuple[int, int]:
        return out_channels, in_channels // groups

    def scale_weight(self, w: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return w * scale.reshape((-1,) + (1,) * (w.ndim - 1))

    def forward(self, x: Node, training: bool) -> Node:
        return type(self).conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution of (N, Cin, L) inputs."""

    rank = 1
    conv = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-D convolution of (N, Cin, H, W) inputs; `groups` = Cin is a depthwise convolution."""

    rank = 2
    conv = staticmethod(conv2d)


class _ConvTranspose(_ConvBase):
    """Shared body of ConvTranspose1d and ConvTranspose2d."""

    conv_transpose: Callable[..., Node]

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, tuple], stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 init: Union[str, Initialiser] = "glorot_uniform", rng: RngLike = None, name: Optional[str] = None,
                 dtype: str = "float32"):
        self.output_padding = output_padding
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, init,
                         rng, name, dtype)

    @staticmethod
    def weight_channels(in_channels: int, out_channels: int, groups: int) -> tuple[int, int]:
        return in_channels, out_channels // groups

    def options(self) -> dict:
        return dict(super().options(), output_padding=self.output_padding)

    def scale_weight(self, w: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Output channel g * Cout/groups + j is column j of group g's rows of w."""
        per_group = w.reshape((self.groups, -1) + w.shape[1:])
        factors = scale.reshape((self.groups, 1, -1) + (1,) * (w.ndim - 2))
        return (per_group * factors).reshape(w.shape)

    def forward(self, x: Node, training: bool) -> Node:
        return type(self).conv_transpose(x, self.weight, self.bias, self.stride, self.padding,
                                         self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution of (N, Cin, L) inputs (weight (Cin, Cout/groups, k))."""

    rank = 1
    conv_transpose = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution of (N, Cin, H, W) inputs (weight (Cin, Cout/groups, kH, kW)):
    learned upsampling, as in U-Net decoders and GAN generators."""

    rank = 2
    conv_transpose = staticmethod(conv_transpose2d)
