"""The executors `function` can compile to, by name."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..backend.reference import Program
from ..ir import Node

Executor = Callable[[list[np.ndarray]], list[np.ndarray]]


def _numpy_backend(inputs: Sequence[Node], outputs: Sequence[Node]) -> Executor:
    program = Program(outputs)

    def run(arrays: list[np.ndarray]) -> list[np.ndarray]:
        return program.run(dict(zip(inputs, arrays)))

    return run


def _llvm_backend(inputs: Sequence[Node], outputs: Sequence[Node], **options) -> Executor:
    """Native code through LLVM; imported on first use (llvmlite takes ~0.1 s to load)."""
    from ..backend.llvm.executor import LLVMExecutor

    return LLVMExecutor(inputs, outputs, **options)


BACKENDS: dict[str, Callable[..., Executor]] = {"numpy": _numpy_backend, "llvm": _llvm_backend}


def get_backend(name: str) -> Callable[..., Executor]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose from {sorted(BACKENDS)}") from None
