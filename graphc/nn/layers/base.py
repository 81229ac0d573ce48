"""The layer contract: a small object that owns shared parameters and builds graphs.

`layer(x, training=True)` builds the training graph (dropout active, batch statistics),
`layer(x)` the inference graph. Building twice gives the same nodes (hash-consing), so
nothing is duplicated. Layers with state that training updates (BatchNorm's running
statistics) expose the update pairs of a training graph through `state_updates`.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ...ir import Node, toposort
from ...ops import shared
from ...ops.convert import as_node

Update = tuple[Node, Node]


class Layer:
    """Base class of layers. Subclasses implement `forward(x, training)`."""

    def __init__(self, name: Optional[str] = None):
        self.name = name or type(self).__name__.lower()
        self._parameters: list[Node] = []
        self._buffers: list[Node] = []

    # -- building graphs ------------------------------------------------------------
    def __call__(self, x: Any, training: bool = False) -> Node:
        """The layer's output for input `x`: the training graph if `training`, else inference."""
        return self.forward(as_node(x), training)

    def forward(self, x: Node, training: bool) -> Node:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    # -- variables --------------------------------------------------------------------
    def add_parameter(self, key: str, value: np.ndarray) -> Node:
        """Register a trainable shared variable named '<layer>.<key>'."""
        var = shared(value, name=f"{self.name}.{key}")
        self._parameters.append(var)
        return var

    def add_buffer(self, key: str, value: np.ndarray) -> Node:
        """Register non-trainable state (updated by training, not by the optimiser)."""
        var = shared(value, name=f"{self.name}.{key}")
        self._buffers.append(var)
        return var

    def children(self) -> Sequence["Layer"]:
        """Direct sublayers (containers override this)."""
        return ()

    def walk(self) -> Iterator["Layer"]:
        """This layer and all its sublayers, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def parameters(self) -> list[Node]:
        """The trainable shared variables of this layer and its sublayers, each once."""
        return _unique(p for layer in self.walk() for p in layer._parameters)

    def buffers(self) -> list[Node]:
        """The non-trainable shared variables (running statistics), each once."""
        return _unique(b for layer in self.walk() for b in layer._buffers)

    def variables(self) -> list[Node]:
        """Parameters then buffers: everything that makes up the model's state."""
        return self.parameters() + self.buffers()

    def get_state(self) -> list[np.ndarray]:
        """Copies of every variable's value (a snapshot, e.g. of the best weights)."""
        return [v.get_value() for v in self.variables()]

    def set_state(self, values: Sequence[np.ndarray]) -> None:
        """Restore a snapshot taken with `get_state`."""
        variables = self.variables()
        if len(values) != len(variables):
            raise ValueError(f"set_state: the model has {len(variables)} variables, got {len(values)} values")
        for var, value in zip(variables, values):
            var.set_value(value)

    def num_parameters(self) -> int:
        return int(sum(np.prod(p.type.shape, dtype=np.int64) for p in self.parameters()))

    # -- training-time state ------------------------------------------------------
    def state_updates(self, output: Node) -> list[Update]:
        """(buffer, new value) pairs that the training graph of `output` computes.

        Pass them to `gc.function(updates=...)` next to the optimiser's updates.
        """
        graph = set(toposort([output]))
        pairs = [pair for layer in self.walk() for pair in layer.own_state_updates(graph)]
        targets = [var for var, _ in pairs]
        if len(set(targets)) != len(targets):
            raise ValueError(
                f"state_updates: a layer of {self.name!r} is applied more than once in training "
                "mode in this graph, so its running statistics would be updated twice"
            )
        return pairs

    def own_state_updates(self, graph: set[Node]) -> list[Update]:
        """This layer's updates for training outputs it built that lie in `graph`."""
        return []

    # -- printing -------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _unique(nodes) -> list[Node]:
    seen: set[Node] = set()
    out = []
    for n in nodes:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out
