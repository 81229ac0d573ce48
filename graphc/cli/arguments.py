"""Argument types of the `graphc` subcommands: each refuses a bad value while the command line
is parsed, so argparse reports it (`error: argument --lr: ...`, exit status 2) before any work."""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def positive_int(text: str) -> int:
    """An integer of at least 1 (epochs, batch sizes, thread counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (learning rates): nan and inf are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def writable_path(text: str) -> str:
    """A file path that can be created or overwritten: checked before the work whose result it keeps."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: no directory {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {text}: permission denied")
    return text


def plot_path(text: str) -> str:
    """A writable path for a plot, refused unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        message = "needs matplotlib, which is not installed (pip install 'graphc[plot]')"
        raise argparse.ArgumentTypeError(message) from None
    return writable_path(text)
