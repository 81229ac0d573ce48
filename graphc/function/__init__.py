"""Compiling graphs into callables: `function`."""
from .api import Function, function

__all__ = ["Function", "function"]
