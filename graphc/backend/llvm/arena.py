"""Buffer planning: offsets in one arena for values that live during spans of kernels.

A value is live from the group that writes it to the last group that reads it
(inclusive); two values may share bytes only if their spans are disjoint.
Values are placed in order of their first group, each at the lowest aligned
offset that overlaps no live value (first fit), which reuses memory as soon
as it is dead.
"""
from __future__ import annotations

#: Every slice starts on a cache line (and so is aligned for any vector load).
ALIGN = 64


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def plan_arena(spans: dict[str, tuple[int, int, int]]) -> tuple[dict[str, int], int]:
    """Offsets for `spans` (name -> (first, last, nbytes)) and the arena's size in bytes."""
    placed: list[tuple[int, int, int]] = []        # (offset, end offset, last group)
    offsets: dict[str, int] = {}
    total = 0
    for name, (first, last, nbytes) in sorted(spans.items(), key=lambda kv: (kv[1][0], -kv[1][2], kv[0])):
        size = _align(max(nbytes, 1))
        busy = sorted((o, e) for o, e, end in placed if end >= first)
        offset = 0
        for o, e in busy:
            if offset + size <= o:
                break
            offset = max(offset, e)
        offsets[name] = offset
        placed.append((offset, offset + size, last))
        total = max(total, offset + size)
    return offsets, total
