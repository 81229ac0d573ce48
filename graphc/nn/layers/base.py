"""The layer contract: a small object that owns shared parameters and builds graphs.

`layer(x, training=True)` builds the training graph (dropout active, batch statistics),
`layer(x)` the inference graph. Building twice gives the same nodes (hash-consing), so
nothing is duplicated. Layers with state that training updates (BatchNorm's running
statistics) expose the update pairs of a training graph through `state_updates`.

State names (`state_dict`, `load_state_dict`) are paths, as PyTorch's: a variable registered
with `add_parameter("weight", ...)` in a child named `conv1` is `conv1.weight`; a nested
container's name is one more prefix (`block.conv1.weight`); the root's own name is not part
of the path. Children of one container that share a name are told apart by their position
among its children (`dense_0.weight`, `dense_2.weight`), so the names of a model depend on
its architecture only.
"""
from __future__ import annotations

from collections import Counter
from itertools import chain
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np

from ...ir import DTypeError, Node, format_shape, toposort
from ...ir.dtypes import check_same_kind
from ...ops import shared
from ...ops.convert import as_node

Update = tuple[Node, Node]


class Layer:
    """Base class of layers. Subclasses implement `forward(x, training)`."""

    def __init__(self, name: Optional[str] = None):
        self.name = name or type(self).__name__.lower()
        self._parameters: dict[str, Node] = {}
        self._buffers: dict[str, Node] = {}

    # -- building graphs ------------------------------------------------------------
    def __call__(self, x: Any, training: bool = False) -> Node:
        """The layer's output for input `x`: the training graph if `training`, else inference."""
        return self.forward(as_node(x), training)

    def forward(self, x: Node, training: bool) -> Node:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    # -- variables --------------------------------------------------------------------
    def add_parameter(self, key: str, value: np.ndarray) -> Node:
        """Register a trainable shared variable named '<layer>.<key>'."""
        return self._register(self._parameters, key, value)

    def add_buffer(self, key: str, value: np.ndarray) -> Node:
        """Register non-trainable state (updated by training, not by the optimiser)."""
        return self._register(self._buffers, key, value)

    def _register(self, table: dict[str, Node], key: str, value: np.ndarray) -> Node:
        """A new shared variable '<layer>.<key>' in `table`; keys are unique within a layer."""
        if key in self._parameters or key in self._buffers:
            raise ValueError(f"{self.name}: a variable {key!r} is already registered")
        table[key] = shared(value, name=f"{self.name}.{key}")
        return table[key]

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
        return _unique(p for layer in self.walk() for p in layer._parameters.values())

    def buffers(self) -> list[Node]:
        """The non-trainable shared variables (running statistics), each once."""
        return _unique(b for layer in self.walk() for b in layer._buffers.values())

    def variables(self) -> list[Node]:
        """Parameters then buffers: everything that makes up the model's state."""
        return self.parameters() + self.buffers()

    def named_variables(self) -> dict[str, Node]:
        """Parameters then buffers by their state names (see the module docstring), each
        variable once, under the first name it is reached by."""
        named: dict[str, Node] = {}
        seen: set[Node] = set()
        for name, var in chain(self._named("_parameters"), self._named("_buffers")):
            if var in seen:
                continue
            if name in named:
                raise ValueError(
                    f"{self.name}: two variables would be named {name!r}; give their layers distinct names"
                )
            seen.add(var)
            named[name] = var
        return named

    def _named(self, table: str, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """(path, variable) for the variables in `table` of this layer and its sublayers."""
        yield from ((prefix + key, var) for key, var in getattr(self, table).items())
        for name, child in _child_names(self.children()):
            yield from child._named(table, f"{prefix}{name}.")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter's and buffer's value by name, e.g. {'conv1.weight': ...}:
        what `load_state_dict` restores, and what `np.savez(path, **model.state_dict())` saves."""
        return {name: var.get_value() for name, var in self.named_variables().items()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Set the variables from `state` by name. Shapes must match and dtypes cast under numpy's
        same_kind rule, as set_value's; with `strict`, the keys must be exactly the model's.
        Everything is checked before anything is set, and one ValueError lists every problem:
        missing and unexpected keys, shapes and dtypes."""
        named = self.named_variables()
        values = {name: np.asarray(state[name]) for name in named if name in state}
        problems = _key_problems(list(named), list(state)) if strict else []
        problems += [p for p in (_mismatch(name, named[name], value) for name, value in values.items()) if p]
        if problems:
            raise ValueError(f"load_state_dict into {self.name!r}:\n  " + "\n  ".join(problems))
        for name, value in values.items():
            named[name].set_value(value)

    def get_state(self) -> list[np.ndarray]:
        """Copies of every variable's value, in the order of `variables()` (a snapshot, e.g. of the
        best weights); `state_dict` is the same by name."""
        return list(self.state_dict().values())

    def set_state(self, values: Sequence[np.ndarray]) -> None:
        """Restore a snapshot taken with `get_state` (positional; `load_state_dict` goes by name)."""
        names = list(self.named_variables())
        if len(values) != len(names):
            raise ValueError(f"set_state: the model has {len(names)} variables, got {len(values)} values")
        self.load_state_dict(dict(zip(names, values)))

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

    def __reduce__(self):
        raise TypeError(
            f"{type(self).__name__} layers are not picklable (their variables are graph nodes): save "
            "model.state_dict() (np.savez) and load_state_dict() it into a newly built model"
        )

    # -- printing -------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _child_names(children: Sequence[Layer]) -> list[tuple[str, Layer]]:
    """Each child with its name in state paths: its own, or '<name>_<position>' when distinct
    siblings share it."""
    counts = Counter(child.name for child in _unique_layers(children))
    return [(child.name if counts[child.name] == 1 else f"{child.name}_{i}", child) for i, child in enumerate(children)]


def _unique_layers(layers: Sequence[Layer]) -> list[Layer]:
    """`layers` without repeats: a layer applied twice is one layer with one name."""
    return list({id(layer): layer for layer in layers}.values())


def _mismatch(name: str, var: Node, value: np.ndarray) -> Optional[str]:
    """Why `value` cannot be loaded into `var` (its shape, or a dtype of another kind), or None."""
    if value.shape != var.type.shape:
        return f"{name!r} has shape {format_shape(var.type.shape)}, the state's value {format_shape(value.shape)}"
    try:
        check_same_kind("load_state_dict", name, var.type.dtype, value.dtype)
    except DTypeError as error:
        return str(error).removeprefix("load_state_dict: ")
    return None


def _key_problems(expected: list[str], given: list[str]) -> list[str]:
    """The keys a strict load misses and the ones it does not expect."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    return ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {unexpected}"] if unexpected else [])


def _unique(nodes) -> list[Node]:
    seen: set[Node] = set()
    out = []
    for n in nodes:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out
