"""Building and running one-kernel programs in tests."""
import numpy as np

from graphc.backend.llvm import compile_program
from graphc.backend.llvm.loopir import Buffer, Kernel, Program


def run(kernel: Kernel, params: list[Buffer], arrays: list[np.ndarray], nthreads: int = 1) -> None:
    compile_program(Program(kernel.name, tuple(params), (kernel,)))(*arrays, nthreads=nthreads)


def rand(shape, dtype, rng, low=-3.0, high=3.0):
    return rng.uniform(low, high, size=shape).astype(dtype)
