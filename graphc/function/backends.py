"""The executors `function` can compile to, by name.

A backend is called as `backend(inputs, outputs, prepare, **options)`, where
`prepare` (the simplifier, or None) is a step to run on the outputs before
compiling them: the numpy backend runs it at once; the llvm backend only when
the compiled code is not in its cache (see backend/llvm/executor.py).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from ..backend.reference import Program
from ..ir import Node
from .prepare import Simplifier

#: executor(arrays, storage=None) -> outputs; `storage` may offer, per output, an array the
#: caller no longer needs to write that output into (an executor may ignore it).
Executor = Callable[..., list[np.ndarray]]


def _numpy_backend(inputs: Sequence[Node], outputs: Sequence[Node], prepare: Optional[Simplifier]) -> Executor:
    program = Program(list(outputs) if prepare is None else prepare(outputs))

    def run(arrays: list[np.ndarray], storage: Optional[Sequence[Optional[np.ndarray]]] = None) -> list[np.ndarray]:
        return program.run(dict(zip(inputs, arrays)))

    return run


def _llvm_backend(inputs: Sequence[Node], outputs: Sequence[Node], prepare: Optional[Simplifier],
                  **options) -> Executor:
    """Native code through LLVM; imported on first use (llvmlite takes ~0.05 s to load)."""
    from ..backend.llvm.executor import LLVMExecutor

    return LLVMExecutor(inputs, outputs, prepare, **options)


BACKENDS: dict[str, Callable[..., Executor]] = {"numpy": _numpy_backend, "llvm": _llvm_backend}


def get_backend(name: str) -> Callable[..., Executor]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose from {sorted(BACKENDS)}") from None
