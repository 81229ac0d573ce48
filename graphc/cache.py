"""`gc.cache`: the on-disk cache of compiled functions — where it is, what it holds, emptying it.

Using it does not load LLVM. See graphc.backend.diskcache for how entries are named.
"""
from .backend.diskcache import CacheInfo, clear, directory, info

__all__ = ["CacheInfo", "clear", "directory", "info"]
