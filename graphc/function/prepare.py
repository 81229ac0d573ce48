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
    return f"simplify, sympy {_sympy_version()}"


def _sympy_version() -> str:
    """sympy's version without importing sympy: read from its release.py (0.5 ms), else from
    the package metadata (importlib.metadata costs ~15 ms, a third of a warm start)."""
    import importlib.util
    import re
    from pathlib import Path

    spec = importlib.util.find_spec("sympy")
    if spec is None or spec.origin is None:
        return "absent"
    try:
        found = re.search(r'__version__\s*=\s*"([^"]+)"', (Path(spec.origin).parent / "release.py").read_text())
    except OSError:
        found = None
    if found:
        return found.group(1)
    from importlib import metadata
    return metadata.version("sympy")
