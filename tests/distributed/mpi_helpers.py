"""What the mpiexec tests share: the repository root for PYTHONPATH, and their skip mark."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

import graphc as gc

ROOT = Path(gc.__file__).resolve().parents[1]
MPI_MISSING = (
    "mpi4py is not installed (pip install 'graphc[mpi]')" if importlib.util.find_spec("mpi4py") is None
    else "no mpiexec on PATH (pip install mpich)" if shutil.which("mpiexec") is None else None
)
needs_mpi = pytest.mark.skipif(MPI_MISSING is not None, reason=f"mpiexec -n 2 tests: {MPI_MISSING}")
