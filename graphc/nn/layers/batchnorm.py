"""Batch normalisation with running statistics for inference; optionally with the statistics of
the global batch of a data-parallel run (synchronised batch norm)."""
from __future__ import annotations

import weakref
from typing import Optional

import numpy as np

from ...ir import Node, normalize_axis
from ...ops import cast, concatenate, expand_dims, reduce_sum, reshape, square
from ...ops.collective import allreduce_sum
from ...ops.nn import batch_moments, batch_norm
from ...ops.nn.normalization import float_channels
from ...ops.reduce import count
from .base import Layer, Update


class BatchNorm(Layer):
    """Normalise each channel (along `axis`) to zero mean and unit variance, then scale
    by gamma and shift by beta.

    Training graphs use the batch's statistics; each one also yields updates of the running
    mean and (unbiased) variance, `running = (1 - momentum) * running + momentum * batch`
    as in PyTorch, collected by `model.state_updates(output)`. Inference graphs use the
    running statistics.

    With `sync=True` (PyTorch's SyncBatchNorm) a training graph uses the statistics of the
    batch summed over the processes of a data-parallel run (graphc.ops.allreduce_sum: the
    global batch of `Trainer(distributed=True, sync_batch_norm=True)`); in one process that is
    the batch itself.
    """

    def __init__(
        self, num_features: int, axis: int = 1, momentum: float = 0.1, eps: float = 1e-5,
        name: Optional[str] = None, dtype: str = "float32", sync: bool = False,
    ):
        super().__init__(name)
        self.num_features, self.axis, self.momentum, self.eps = num_features, axis, momentum, eps
        self.sync = sync
        self.gamma = self.add_parameter("gamma", np.ones(num_features, dtype))
        self.beta = self.add_parameter("beta", np.zeros(num_features, dtype))
        self.running_mean = self.add_buffer("running_mean", np.zeros(num_features, dtype))
        self.running_var = self.add_buffer("running_var", np.ones(num_features, dtype))
        self._updates: "weakref.WeakKeyDictionary[Node, list[Update]]" = weakref.WeakKeyDictionary()

    def forward(self, x: Node, training: bool) -> Node:
        if training and self.sync:  # normalise with the global batch's statistics in place of the running ones
            mean, var, n = global_batch_moments(x, self.num_features, self.axis)
            y = batch_norm(x, self.gamma, self.beta, mean, var, False, self.eps, self.axis)
        else:
            y = batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var, training, self.eps,
                           self.axis)
            if not training:
                return y
            mean, var, n = local_batch_moments(x, self.axis)
        self._updates[y] = self._running_updates(mean, var, n)
        return y

    def _running_updates(self, mean: Node, var: Node, n: Node) -> list[Update]:
        """The running statistics' updates from a batch's mean and biased variance over n values."""
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
        axis = "" if self.axis == 1 else f", axis={self.axis}"
        return f"{self.num_features}{axis}" + (", sync" if self.sync else "")


def local_batch_moments(x: Node, axis: int = 1) -> tuple[Node, Node, Node]:
    """Per-channel mean and biased variance (C,) of this process's batch, and its number of values
    per channel."""
    mean, var = batch_moments(x, axis)
    channel = normalize_axis("BatchNorm", axis, x.ndim)
    return mean, var, count(x, tuple(a for a in range(x.ndim) if a != channel), var.dtype)


def global_batch_moments(x: Node, channels: int, axis: int = 1) -> tuple[Node, Node, Node]:
    """Per-channel mean and biased variance (C,) of x summed over the processes, and the number
    of values per channel in all, in two passes as in one process: the processes add their
    per-channel sums and counts (one allreduce), then their sums of squared deviations from the
    global mean (another). Gradients flow back through allreduce_sum's own vjp. `channels` is
    the size of the channel axis where x's shape does not say."""
    x, reduced = float_channels("BatchNorm", x, axis)
    channels = x.type.shape[normalize_axis("BatchNorm", axis, x.ndim)] or channels
    local = concatenate([reduce_sum(x, reduced), reshape(count(x, reduced, x.dtype), (1,))])
    totals = allreduce_sum(local)
    n = totals[channels]
    mean = totals[:channels] / n
    centred = x - expand_dims(mean, reduced)
    return mean, allreduce_sum(reduce_sum(square(centred), reduced)) / n, n
