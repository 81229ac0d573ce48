"""Collectives: values summed over the processes of a data-parallel run, inside a graph.

`allreduce_sum(x)` is x summed elementwise over every process that runs the same graph (the
ranks of `mpiexec -n N`), so a layer can use statistics of the whole global batch (synchronised
batch norm). Ops know nothing of MPI: the sum goes through the *communicator*, a function that
sums a contiguous numpy buffer over the processes in place, installed with `set_communicator`
(`Trainer(distributed=True)` installs its process group's). Without one, the op is the identity:
a process alone is the whole group.

Every process must run its collectives in the same order with buffers of the same shape: they
are matched by order, as MPI matches collectives.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, TensorType
from ..ir.dtypes import is_bool
from .convert import as_node
from .tangents import linear

#: Sums a writable C-contiguous buffer elementwise over the processes, in place.
Communicator = Callable[[np.ndarray], None]

_communicator: Optional[Communicator] = None


def set_communicator(communicator: Optional[Communicator]) -> Optional[Communicator]:
    """Make `communicator` the sum over processes that allreduce_sum runs (None: this process
    alone, the identity); returns the one it replaces."""
    global _communicator
    previous, _communicator = _communicator, communicator
    return previous


def sum_over_processes(buffer: np.ndarray) -> None:
    """Sum `buffer` (writable, C-contiguous) over the processes in place, through the installed
    communicator; nothing without one. The backends' implementation of AllReduceSum."""
    if _communicator is not None:
        _communicator(buffer)


@dataclass(frozen=True)
class AllReduceSum(Op):
    """x summed elementwise over the processes (see the module docstring).

    Its gradient is itself: with every process's loss added into one, the cotangent of a
    process's x is the sum of every process's cotangent of the result. It is linear, so its
    forward-mode tangent is the sum of the processes' tangents.
    """

    name = "allreduce_sum"

    def infer_type(self, x: TensorType) -> TensorType:
        if is_bool(x.dtype):
            raise DTypeError(f"allreduce_sum: needs a numeric input, got {x}")
        return x

    def reference(self, x: np.ndarray) -> np.ndarray:
        out = np.array(x, order="C", copy=True)
        sum_over_processes(out)
        return out

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [allreduce_sum(grad)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


def allreduce_sum(x: Any) -> Node:
    """x summed elementwise over the processes of a data-parallel run (x itself in one process)."""
    return Node.make(AllReduceSum(), [as_node(x)])
