"""Where the on-disk cache of compiled functions lives, what it holds, emptying it.

Each compiled function (object code and calling plan) is one file under
`directory()`: GRAPHC_CACHE_DIR if set, else $XDG_CACHE_HOME/graphc, else
~/.cache/graphc. A file is named by a digest of everything the code depends on (the
graph's structure and argument shapes, the host CPU, LLVM, graphc's source), so an
entry is never stale: code that changed asks for other names. Clearing is always
safe, also while other processes use the cache.

This module only touches files (no LLVM), so `gc.cache` can use it cheaply.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Entries' file names end with SUFFIX; files still being written start with TEMP_PREFIX.
SUFFIX = ".obj"
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
    """What the cache holds: its directory, the number of entries and their total size."""

    directory: Path
    entries: int
    bytes: int

    def __str__(self) -> str:
        size = f"{self.bytes / 1e6:.1f} MB" if self.bytes >= 1e6 else f"{self.bytes / 1e3:.1f} kB"
        return f"{self.directory}: {self.entries} entries, {size}"


def _entry_files() -> list[Path]:
    """The cache's files (entries and temporary ones), or none if there is no directory."""
    try:
        return [p for p in directory().iterdir() if p.name.endswith(SUFFIX)]
    except OSError:
        return []


def info() -> CacheInfo:
    """The cache's directory, number of entries and bytes on disk."""
    entries, total = 0, 0
    for path in _entry_files():
        if path.name.startswith(TEMP_PREFIX):
            continue
        try:
            total += path.stat().st_size
            entries += 1
        except OSError:     # removed meanwhile by another process
            pass
    return CacheInfo(directory(), entries, total)


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
