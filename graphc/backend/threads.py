"""How many threads compiled code runs on: GRAPHC_NUM_THREADS if set, else the usable cores.

Apart from the llvm backend (and llvmlite) so that reading the setting costs nothing, and
so that a bad value fails with one clear message instead of int()'s or a silent 1.
"""
from __future__ import annotations

import operator
import os

ENV_VAR = "GRAPHC_NUM_THREADS"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def positive_threads(value: object, source: str) -> int:
    """`value` (an int, or a string of one) as a thread count, else ValueError naming `source`,
    the value and what is accepted: 0 and negative counts are refused, not read as 1."""
    try:
        count = int(value.strip()) if isinstance(value, str) else operator.index(value)
    except (TypeError, ValueError):
        count = 0
    if isinstance(value, bool) or count < 1:
        raise ValueError(f"{source}={value!r} is not a valid thread count: expected a positive integer "
                         f"(1, 2, ...)")
    return count


def num_threads() -> int:
    """The number of threads compiled functions use: GRAPHC_NUM_THREADS if set (a positive
    integer), else the cores this process may run on."""
    raw = os.environ.get(ENV_VAR, "")
    if not raw.strip():  # unset or empty
        return available_cores()
    return positive_threads(raw, ENV_VAR)
