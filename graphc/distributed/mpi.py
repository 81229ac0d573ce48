"""The process group of MPI's world, over mpi4py (imported when this module is)."""
from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from mpi4py import MPI

from .group import ProcessGroup, check_root, check_buffer

#: Seconds a failing rank waits between printing its message and aborting: the launcher
#: forwards a rank's output through a pipe, and Abort would otherwise kill it unread.
FORWARDING_GRACE = 1.0


class MPIGroup(ProcessGroup):
    """MPI.COMM_WORLD: buffers travel without pickling; sums are reduced in place."""

    def __init__(self) -> None:
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()

    def broadcast(self, buffer: np.ndarray, root: int = 0) -> None:
        check_root(root, self.size)
        check_buffer("broadcast", buffer)
        self.comm.Bcast(buffer, root=root)

    def allreduce_sum(self, buffer: np.ndarray) -> None:
        check_buffer("allreduce_sum", buffer)
        self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)

    def allgather(self, value: Any) -> list[Any]:
        return self.comm.allgather(value)

    def abort(self, message: str) -> None:
        sys.stdout.flush()
        print(message, file=sys.stderr, flush=True)
        time.sleep(FORWARDING_GRACE)
        self.comm.Abort(1)
