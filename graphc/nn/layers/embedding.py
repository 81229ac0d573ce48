"""Embedding layer: a trainable table of vectors looked up by integer indices."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ...ir import Node
from ...ops.nn.embedding import embedding
from ..init import RngLike, as_rng
from .base import Layer


class Embedding(Layer):
    """torch.nn.Embedding: `num_embeddings` vectors of `embedding_dim` values, drawn from
    N(0, 1) as PyTorch's; `layer(indices)` has shape indices.shape + (embedding_dim,)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, rng: RngLike = None,
                 name: Optional[str] = None, dtype: str = "float32"):
        super().__init__(name)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        table = as_rng(rng).standard_normal((num_embeddings, embedding_dim))
        self.weight = self.add_parameter("weight", np.asarray(table, dtype=dtype))

    def forward(self, x: Node, training: bool) -> Node:
        return embedding(x, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
