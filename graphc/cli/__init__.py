"""The `graphc` command: `graphc demo` trains the digits CNN, `graphc inspect` prints gradient graphs."""
from .main import main

__all__ = ["main"]
