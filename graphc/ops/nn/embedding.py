"""Embedding lookups: rows of a weight table picked by integer indices (a take along axis 0)."""
from __future__ import annotations

from typing import Any

from ...ir import Node, ShapeError, format_shape
from ..convert import as_node
from ..gather import gather


def embedding(indices: Any, weight: Any) -> Node:
    """torch.nn.functional.embedding: weight (num_embeddings, dim) looked up at integer
    `indices` of any shape, giving indices.shape + (dim,). Its gradient adds each output
    row into the row it came from (repeated indices accumulate)."""
    indices, weight = as_node(indices), as_node(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-d (num_embeddings, embedding_dim), got {format_shape(weight.shape)}")
    return gather("embedding", weight, [indices], (0,), 0)
