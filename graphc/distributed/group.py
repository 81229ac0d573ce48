"""The process-group interface, and the group of one process (no MPI)."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np


class ProcessGroup:
    """`size` processes numbered 0..size-1 that exchange flat numpy buffers.

    Every member must make the same calls in the same order (collectives), with buffers
    of the same shape and dtype.
    """

    rank: int = 0
    size: int = 1

    def broadcast(self, buffer: np.ndarray, root: int = 0) -> None:
        """Overwrite `buffer` (contiguous) on every rank with root's."""
        raise NotImplementedError

    def allreduce_sum(self, buffer: np.ndarray) -> None:
        """Replace `buffer` (contiguous) on every rank by the elementwise sum over the ranks, in place."""
        raise NotImplementedError

    def allgather(self, value: Any) -> list[Any]:
        """Every rank's `value` (a small picklable object), in rank order."""
        raise NotImplementedError

    def abort(self, message: str) -> None:
        """Print `message` to stderr and end every rank with a non-zero status (does not return)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} rank {self.rank} of {self.size}>"


class SingleProcess(ProcessGroup):
    """This process alone: broadcasts and reductions leave buffers as they are."""

    def broadcast(self, buffer: np.ndarray, root: int = 0) -> None:
        check_root(root, self.size)
        check_buffer("broadcast", buffer)

    def allreduce_sum(self, buffer: np.ndarray) -> None:
        check_buffer("allreduce_sum", buffer)

    def allgather(self, value: Any) -> list[Any]:
        return [value]

    def abort(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(1)


def check_root(root: int, size: int) -> None:
    if not 0 <= root < size:
        raise ValueError(f"broadcast: root {root} is not a rank of a group of {size}")


def check_buffer(what: str, buffer: np.ndarray) -> None:
    """Refuse what MPI cannot fill in place: anything but a writable C-contiguous numpy array
    (a strided view would be sent as the wrong bytes). Checked alone too, so that a script that
    runs in one process does not fail only under mpiexec."""
    if not (isinstance(buffer, np.ndarray) and buffer.flags.c_contiguous and buffer.flags.writeable):
        got = type(buffer).__name__ if not isinstance(buffer, np.ndarray) else "a read-only or strided array"
        raise ValueError(f"{what}: needs a writable C-contiguous numpy array, got {got}")
