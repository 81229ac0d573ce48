"""Data-parallel training's pieces that are not the training loop: each rank's share of a
batch, the one flat buffer the ranks sum gradients in, and the check that every rank built
the same step (used by Trainer(distributed=True); see docs/distributed.md)."""
from __future__ import annotations

import hashlib
from typing import Any, Optional, Sequence

import numpy as np

from ..distributed import ProcessGroup
from ..ir import Node, toposort
from ..ops import reshape
from ..ops.leaves import Constant, Input, Shared


def shard(rows: int, group: Optional[ProcessGroup]) -> tuple[int, int]:
    """[start, stop) of this rank's share of `rows` rows: contiguous, sizes differing by at most one."""
    if group is None:
        return 0, rows
    return group.rank * rows // group.size, (group.rank + 1) * rows // group.size


class FlatGradients:
    """One preallocated flat buffer holding, side by side, a rank's gradients (and new running
    statistics) weighted by its number of samples: the one buffer the ranks sum in place at each step.

    Each variable's part is a view of the buffer shaped like it; `fill` writes the step's outputs
    into those views (the only copy), and `means` reads the summed buffer back, symbolically, as
    slices divided by the global number of samples.
    """

    def __init__(self, variables: Sequence[Node]):
        dtypes = sorted({var.dtype.name for var in variables})
        if len(dtypes) != 1:
            raise TypeError(f"Trainer(distributed=True): the parameters and running statistics must share one "
                            f"float dtype (their gradients travel in one buffer), got {dtypes}")
        sizes = [int(np.prod(var.type.shape, dtype=np.int64)) for var in variables]
        self.bounds = list(zip(np.cumsum([0] + sizes[:-1]).tolist(), np.cumsum(sizes).tolist()))
        self.shapes = [var.type.shape for var in variables]
        self.buffer = np.zeros(sum(sizes), dtypes[0])
        self.views = [self.buffer[start:stop].reshape(shape) for (start, stop), shape in zip(self.bounds, self.shapes)]

    def fill(self, values: Sequence[np.ndarray]) -> None:
        """Write each variable's (weighted) value into its view."""
        for view, value in zip(self.views, values):
            np.copyto(view, value, casting="same_kind")

    def means(self, summed: Node, count: Node) -> list[Node]:
        """Each variable's part of the symbolic summed buffer, divided by the global count."""
        return [reshape(summed[start:stop], shape) / count for (start, stop), shape in zip(self.bounds, self.shapes)]


def check_every_rank_has_rows(rows: int, batch_size: int, size: int) -> None:
    """Refuse a run with synchronised batch norm in which some rank would get no row of a batch: every
    rank must run each step (the others wait for it in the step's allreduces), and the mean loss of no
    rows is not a number."""
    smallest = rows % batch_size or batch_size  # the last batch's rows
    if smallest < size:
        raise ValueError(
            f"Trainer(sync_batch_norm=True): a batch of {smallest} rows leaves some of the {size} ranks without a "
            f"row ({rows} rows in batches of {batch_size}); choose a batch_size of at least {size} whose last "
            f"batch has at least {size} rows, or drop the last {smallest} rows"
        )


def graph_digest(inputs: Sequence[Node], outputs: Sequence[Node], updates: Sequence[tuple[Node, Node]]) -> str:
    """A digest of what a compiled function computes, equal in two processes that built it the same
    way: every node's op, inputs' positions and type; leaves by name and type; constants by value."""
    targets = [var for var, _ in updates]
    index: dict[Node, int] = {}
    lines = [f"inputs {[(node.name, str(node.type)) for node in inputs]}"]
    for node in toposort(list(outputs) + [value for _, value in updates] + targets):
        index[node] = len(index)
        if isinstance(node.op, (Input, Shared)):
            described = f"{type(node.op).__name__} {node.name}"
        elif isinstance(node.op, Constant):
            described = f"constant {hashlib.sha256(node.op.value.tobytes()).hexdigest()}"
        else:
            described = repr(node.op)
        lines.append(f"{described}({','.join(str(index[i]) for i in node.inputs)}):{node.type}")
    lines.append(f"outputs {[index[o] for o in outputs]} updates {[(index[v], index[e]) for v, e in updates]}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def check_same_plan(plans: list[dict[str, Any]], rank: int) -> None:
    """Refuse a distributed run whose ranks differ in graph or data (each would wait for the others
    at a different step): a ValueError naming the first rank that differs from rank 0, and how."""
    for other, plan in enumerate(plans):
        differences = [what for what in plans[0] if plan[what] != plans[0][what]]
        if differences:
            raise ValueError(
                f"Trainer(distributed=True) on rank {rank}: rank {other} differs from rank 0 in its "
                f"{' and '.join(differences)}: every rank must build the same model, loss and optimiser and "
                f"call fit with the same data and options"
            )
