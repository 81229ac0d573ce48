"""Where the on-disk cache of compiled functions lives, what it holds, emptying it.

The cache is a directory, `directory()`: GRAPHC_CACHE_DIR if set, else
$XDG_CACHE_HOME/graphc, else ~/.cache/graphc. It holds two kinds of entry, one
file each: a compiled function's calling plan (which kernels it runs on which
buffers; `*.fn`), and a kernel's object code (`*.obj`), shared by every function
and process that needs that kernel. A file is named by a digest of everything
it depends on (the graph's structure and argument shapes, or the kernel's loop
nest; the host CPU, LLVM, graphc's source), so an entry is never stale: code
that changed asks for other names. Clearing is always safe, also while other
processes use the cache.

This module only touches files (no LLVM), so `gc.cache` can use it cheaply.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The file name ending of each kind of entry; files still being written start with TEMP_PREFIX.
SUFFIXES = {"function": ".fn", "kernel": ".obj"}
TEMP_PREFIX = ".tmp-"


def directory() -> Path:
    """Where compiled functions are stored (it may not exist yet)."""
    env = os.environ.get("GRAPHC_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "graphc"


@dataclass(frozen=True)
class CacheInfo:
    """What the cache holds: its directory, the number of entries (functions and
    kernels) and their total size."""

    directory: Path
    entries: int
    bytes: int
    functions: int = 0
    kernels: int = 0

    def __str__(self) -> str:
        size = f"{self.bytes / 1e6:.1f} MB" if self.bytes >= 1e6 else f"{self.bytes / 1e3:.1f} kB"
        return f"{self.directory}: {self.entries} entries ({self.functions} functions, {self.kernels} kernels), {size}"


def _entry_files() -> list[Path]:
    """The cache's files (entries and temporary ones), or none if there is no directory."""
    try:
        return [p for p in directory().iterdir() if p.suffix in SUFFIXES.values()]
    except OSError:
        return []


def info() -> CacheInfo:
    """The cache's directory, number of entries and bytes on disk."""
    counts = dict.fromkeys(SUFFIXES.values(), 0)
    total = 0
    for path in _entry_files():
        if path.name.startswith(TEMP_PREFIX):
            continue
        try:
            total += path.stat().st_size
            counts[path.suffix] += 1
        except OSError:     # removed meanwhile by another process
            pass
    return CacheInfo(directory(), sum(counts.values()), total, counts[SUFFIXES["function"]],
                     counts[SUFFIXES["kernel"]])


def clear() -> int:
    """Remove every entry (and stray temporary files); return how many entries went.

    Functions already compiled in this process keep working; the next process compiles again.
    """
    removed = 0
    for path in _entry_files():
        try:
            path.unlink()
            removed += not path.name.startswith(TEMP_PREFIX)
        except OSError:
            pass
    return removed
