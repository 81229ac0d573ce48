"""Lowerings from graph ops to loop-IR kernels (registry.py states the contract).

reduce.py, matmul.py, softmax.py and data.py lower the core ops that are not
computed inline by fusion.py; nn.py (when present) convolution and pooling.
"""
from __future__ import annotations

import importlib
from functools import lru_cache

_MODULES = ("reduce", "matmul", "softmax", "data", "nn")


@lru_cache(maxsize=None)
def load_lowerings() -> None:
    """Import every lowering module once, so each registers its ops."""
    for name in _MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
