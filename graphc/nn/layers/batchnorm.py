"""Batch normalisation with running statistics for inference."""
from __future__ import annotations

import weakref
from typing import Optional

import numpy as np

from ...ir import Node, normalize_axis
from ...ops import cast
from ...ops.nn import batch_moments, batch_norm
from ...ops.reduce import count
from .base import Layer, Update


class BatchNorm(Layer):
    """Normalise each channel (along `axis`) to zero mean and unit variance, then scale
    by gamma and shift by beta.

    Training graphs use the batch's statistics; each one also yields updates of the running
    mean and (unbiased) variance, `running = (1 - momentum) * running + momentum * batch`
    as in PyTorch, collected by `model.state_updates(output)`. Inference graphs use the
    running statistics.
    """

    def __init__(
        self, num_features: int, axis: int = 1, momentum: float = 0.1, eps: float = 1e-5,
        name: Optional[str] = None, dtype: str = "float32",
    ):
        super().__init__(name)
        self.num_features, self.axis, self.momentum, self.eps = num_features, axis, momentum, eps
        self.gamma = self.add_parameter("gamma", np.ones(num_features, dtype))
        self.beta = self.add_parameter("beta", np.zeros(num_features, dtype))
        self.running_mean = self.add_buffer("running_mean", np.zeros(num_features, dtype))
        self.running_var = self.add_buffer("running_var", np.ones(num_features, dtype))
        self._updates: "weakref.WeakKeyDictionary[Node, list[Update]]" = weakref.WeakKeyDictionary()

    def forward(self, x: Node, training: bool) -> Node:
        y = batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var, training, self.eps, self.axis)
        if training:
            self._updates[y] = self._running_updates(x)
        return y

    def _running_updates(self, x: Node) -> list[Update]:
        mean, var = batch_moments(x, self.axis)
        axis = normalize_axis("BatchNorm", self.axis, x.ndim)
        n = count(x, tuple(a for a in range(x.ndim) if a != axis), var.dtype)
        unbiased = var * (n / (n - 1))
        m = self.momentum
        return [
            (self.running_mean, (1 - m) * self.running_mean + m * cast(mean, self.running_mean.dtype)),
            (self.running_var, (1 - m) * self.running_var + m * cast(unbiased, self.running_var.dtype)),
        ]

    def own_state_updates(self, graph: set[Node]) -> list[Update]:
        return [pair for out, pairs in list(self._updates.items()) if out in graph for pair in pairs]

    def inference_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """(scale, shift) per channel such that the inference output is scale * x + shift."""
        var = self.running_var.get_value().astype(np.float64)
        scale = self.gamma.get_value() / np.sqrt(var + self.eps)
        shift = self.beta.get_value() - self.running_mean.get_value() * scale
        return scale, shift

    def extra_repr(self) -> str:
        return f"{self.num_features}" + ("" if self.axis == 1 else f", axis={self.axis}")
