"""Dense (fully connected) layer: y = x @ weight + bias, weight shaped (in, out)."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

from ...ir import Node, ShapeError, format_shape
from ..init import Initialiser, RngLike, from_array, initial_value
from .base import Layer


class Dense(Layer):
    """An affine map of the last axis from `in_features` to `out_features`."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True,
        init: Union[str, Initialiser] = "glorot_uniform", rng: RngLike = None,
        name: Optional[str] = None, dtype: str = "float32",
    ):
        super().__init__(name)
        self.in_features, self.out_features = in_features, out_features
        shape = (in_features, out_features)
        self.weight = self.add_parameter("weight", initial_value(init, shape, in_features, out_features, rng, dtype))
        self.bias = self.add_parameter("bias", np.zeros(out_features, dtype)) if bias else None

    def forward(self, x: Node, training: bool) -> Node:
        if x.ndim < 1 or x.type.shape[-1] not in (None, self.in_features):
            raise ShapeError(
                f"{self.name}: Dense({self.in_features}, {self.out_features}) expects inputs whose last "
                f"axis has {self.in_features} features, got {format_shape(x.type.shape)}"
            )
        y = x @ self.weight
        return y if self.bias is None else y + self.bias

    def rescaled(self, scale: np.ndarray, shift: np.ndarray) -> "Dense":
        """A new Dense layer computing scale * self(x) + shift per output feature."""
        w = self.weight.get_value()
        b = self.bias.get_value() if self.bias is not None else np.zeros(self.out_features, w.dtype)
        folded = Dense(self.in_features, self.out_features, init=from_array(w * scale),
                       name=self.name, dtype=w.dtype)
        folded.bias.set_value(b * scale + shift)
        return folded

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}" + ("" if self.bias is not None else ", bias=False")
