"""Data-parallel processes over MPI: the process group a distributed Trainer talks through.

`init()` returns the group of the processes this one was started with: under an MPI
launcher (`mpiexec -n N ...`) the N processes of MPI's world, over mpi4py; otherwise this
process alone, without importing MPI, so a single process runs exactly as it would without
this package. `rank()` and `size()` are this process's place in that group.

The group moves flat numpy buffers (broadcast, in-place allreduce) and small Python values
(allgather); it knows nothing of graphs. Under MPI, an uncaught exception on one rank prints
that rank's message and aborts every rank (see `abort_on_error`), so no rank is left waiting.
"""
from __future__ import annotations

from .group import ProcessGroup, SingleProcess
from .launch import init, launched_by_mpi, rank, size
from .failures import abort_on_error

__all__ = ["ProcessGroup", "SingleProcess", "abort_on_error", "init", "launched_by_mpi", "rank", "size"]
