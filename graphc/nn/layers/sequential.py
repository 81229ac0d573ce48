"""Sequential: layers applied one after another."""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

from ...ir import Node
from .base import Layer


class Sequential(Layer):
    """A chain of layers; `model[i]`, `len(model)` and iteration work as on a list."""

    def __init__(self, *layers: Layer, name: Optional[str] = None):
        super().__init__(name)
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: expected layers, got {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x: Node, training: bool) -> Node:
        for layer in self.layers:
            x = layer(x, training)
        return x

    def children(self) -> Sequence[Layer]:
        return self.layers

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({i}): " + repr(layer).replace("\n", "\n  ") for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
