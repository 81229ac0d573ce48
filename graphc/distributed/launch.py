"""Which group this process belongs to: MPI's world under an MPI launcher, else itself alone."""
from __future__ import annotations

import os
from typing import Optional

from ..backend.threads import ENV_VAR, available_cores
from .group import ProcessGroup, SingleProcess

#: How launchers tell a process the number of ranks on its machine (MPICH, Open MPI).
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")

#: Environment variables an MPI launcher sets in the processes it starts (MPICH's hydra and
#: Intel MPI: PMI_*; Open MPI: OMPI_COMM_WORLD_*; PMIx launchers such as srun: PMIX_RANK).
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")

_group: Optional[ProcessGroup] = None


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def init() -> ProcessGroup:
    """The process group of this run, made at the first call and returned by later ones.

    Under an MPI launcher it is MPI's world (mpi4py is imported now, and an uncaught exception
    on any rank aborts them all: see abort_on_error); otherwise it is this process alone and
    MPI is not touched. Under a launcher, unless GRAPHC_NUM_THREADS is set, each rank's compiled
    code gets its share of the machine's cores (see threads_per_rank), not all of them.
    """
    global _group
    if _group is None:
        if launched_by_mpi():
            os.environ.setdefault(ENV_VAR, str(threads_per_rank()))
            _group = _mpi_group()
        else:
            _group = SingleProcess()
    return _group


def threads_per_rank() -> int:
    """This process's cores divided by the number of ranks the launcher put on this machine
    (at least 1), so that ranks sharing a machine do not oversubscribe its cores."""
    local = next((int(os.environ[name]) for name in LOCAL_SIZE_VARIABLES if os.environ.get(name, "").isdigit()), 1)
    return max(1, available_cores() // max(1, local))


def rank() -> int:
    """This process's number in the group, 0 to size() - 1 (0 when alone)."""
    return init().rank


def size() -> int:
    """The number of processes in the group (1 when alone)."""
    return init().size


def _mpi_group() -> ProcessGroup:
    try:
        from .mpi import MPIGroup
    except ImportError as error:
        raise RuntimeError(
            f"graphc.distributed: this process was started by an MPI launcher but mpi4py cannot be imported "
            f"({error}); install it with pip install 'graphc[mpi]'"
        ) from None
    from .failures import abort_on_uncaught_exceptions

    group = MPIGroup()
    if group.size > 1:
        abort_on_uncaught_exceptions(group)
    return group
