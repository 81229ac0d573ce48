"""Buffer planning: offsets in one arena for values that live during spans of kernels.

A value is live from the group that writes it to the last group that reads it
(inclusive); two values may share bytes only if their spans are disjoint.
Values are placed one by one, each at the lowest aligned offset that overlaps
no placed value live at the same time. The order matters: largest first (the
"greedy by size" of TFLite's arena planner) reaches the peak of live bytes on
most networks, largest size x lifetime first does better where long-lived
small values would fragment it, and first-use order is the planner's old
rule; the plan taken is the smallest of the three.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

#: Every slice starts on a cache line (and so is aligned for any vector load).
ALIGN = 64

Span = tuple[int, int, int]                     # first group, last group, bytes


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


_ORDERS: tuple[Callable[[tuple[str, Span]], tuple], ...] = (
    lambda kv: (-kv[1][2], kv[1][0], kv[0]),                                   # largest first
    lambda kv: (-kv[1][2] * (kv[1][1] - kv[1][0] + 1), kv[1][0], kv[0]),       # most byte-groups first
    lambda kv: (kv[1][0], -kv[1][2], kv[0]),                                   # first born first
)


def _place(spans: list[tuple[str, Span]]) -> tuple[dict[str, int], int]:
    """Offsets for `spans` placed in the given order, and the arena's size."""
    n = len(spans)
    starts, ends = np.zeros(n, np.int64), np.zeros(n, np.int64)
    firsts, lasts = np.zeros(n, np.int64), np.zeros(n, np.int64)
    offsets: dict[str, int] = {}
    total = 0
    for k, (name, (first, last, nbytes)) in enumerate(spans):
        size = _align(max(nbytes, 1))
        live = (firsts[:k] <= last) & (lasts[:k] >= first)
        offset = 0
        for o, e in sorted(zip(starts[:k][live].tolist(), ends[:k][live].tolist())):
            if offset + size <= o:
                break
            offset = max(offset, e)
        starts[k], ends[k], firsts[k], lasts[k] = offset, offset + size, first, last
        offsets[name] = offset
        total = max(total, offset + size)
    return offsets, total


def plan_arena(spans: dict[str, Span]) -> tuple[dict[str, int], int]:
    """Offsets for `spans` (name -> (first, last, nbytes)) and the arena's size in bytes."""
    items = list(spans.items())
    return min((_place(sorted(items, key=order)) for order in _ORDERS), key=lambda plan: plan[1])
