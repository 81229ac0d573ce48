"""The step `function` has its backend run on the graph before compiling it: the simplifier.

A backend that caches compiled code keys it on the graph as given plus the
step's `key`, and runs the step only when the code is not cached: simplifying
costs far more than loading cached code.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..ir import Node
from ..simplify import simplify


class Simplifier:
    """`gc.simplify` as a preparation step: `step(outputs)`, and `step.key` naming what its
    result depends on besides graphc's own source (the version of sympy)."""

    def __call__(self, outputs: Sequence[Node]) -> list[Node]:
        return simplify(list(outputs))

    @property
    def key(self) -> str:
        return _simplifier_key()


@lru_cache(maxsize=None)
def _simplifier_key() -> str:
    from importlib import metadata  # ~15 ms to import: only when a cache key is first needed

    try:
        sympy = metadata.version("sympy")
    except metadata.PackageNotFoundError:
        sympy = "absent"
    return f"simplify, sympy {sympy}"
