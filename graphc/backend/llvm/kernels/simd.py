"""The host's vector registers, which the register-blocked kernels size their tiles by.

AVX-512 hosts have 32 registers of 64 bytes, AVX/AVX2 hosts 16 of 32 bytes. The
cache key of every program already names the CPU and its features, so code
specialised here is never loaded on another kind of machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .. import jit
from ..loopir import itemsize


@dataclass(frozen=True)
class Simd:
    """`registers` vector registers of `width` bytes."""

    width: int
    registers: int

    def lanes(self, dtype: str) -> int:
        """Elements of `dtype` per register."""
        return max(1, self.width // itemsize(dtype))


@lru_cache(maxsize=None)
def host_simd() -> Simd:
    features = set(jit.host()[2].split(","))
    if "+avx512f" in features:
        return Simd(64, 32)
    if "+avx" in features:
        return Simd(32, 16)
    return Simd(16, 16)
