"""Layers that set the spatial size of their output: AdaptiveAvgPool2d and Upsample."""
from __future__ import annotations

from typing import Any, Optional

from ...ir import Node
from ...ops.nn import adaptive_avg_pool2d, interpolate
from .base import Layer


class AdaptiveAvgPool2d(Layer):
    """Average pooling of (N, C, H, W) inputs to `output_size` (see gc.nn.adaptive_avg_pool2d);
    AdaptiveAvgPool2d(1) is global average pooling."""

    def __init__(self, output_size: Any, name: Optional[str] = None):
        super().__init__(name)
        self.output_size = output_size

    def forward(self, x: Node, training: bool) -> Node:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Upsample(Layer):
    """Resample to `size` or by `scale_factor` (see gc.nn.interpolate)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: Optional[bool] = None, name: Optional[str] = None):
        super().__init__(name)
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, bool(align_corners)

    def forward(self, x: Node, training: bool) -> Node:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}" + (", align_corners=True" if self.align_corners else "")
