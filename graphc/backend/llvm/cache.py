"""The entries of the on-disk cache of object code: checked reads and atomic writes.

Where entries live and clearing them belong to `graphc.backend.diskcache` (usable
without loading LLVM, public as `gc.cache`); `cache_dir` and `clear` are re-exported here.
An entry is a magic line, the SHA-256 of its key and payload, and the payload.
Writes go to a temporary file in the same directory and are renamed into place,
so readers in other processes see a whole entry or none, and concurrent writers
of one key leave one whole entry (the last rename wins; both wrote the same
code). An entry whose checksum does not match (corrupt, truncated, or another
key's entry copied over this one's name) is deleted and reported as a miss.
Entries get the permissions the umask gives new files, as other tools' caches
do, so a cache directory can be shared by a group.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import Optional

from ..diskcache import SUFFIXES, TEMP_PREFIX, clear
from ..diskcache import directory as cache_dir

__all__ = ["cache_dir", "clear", "get", "make_key", "put"]

MAGIC = b"graphc-object 2\n"


def make_key(*parts: str) -> str:
    """A hex digest naming an entry, from everything the entry depends on."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _digest(key: str, payload: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\0" + payload).digest()


def _path(key: str, kind: str) -> Path:
    return cache_dir() / f"{key}{SUFFIXES[kind]}"


def get(key: str, kind: str = "kernel") -> Optional[bytes]:
    """The payload of the entry of `kind` ("kernel" or "function") stored under `key`,
    or None (missing or corrupt, then removed)."""
    path = _path(key, kind)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, digest, payload = data[:len(MAGIC)], data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if head == MAGIC and _digest(key, payload) == digest:
        return payload
    with contextlib.suppress(OSError):
        path.unlink()
    return None


def exists(key: str, kind: str = "kernel") -> bool:
    """Whether an entry of `kind` is stored under `key` (unchecked: `get` checks it)."""
    return _path(key, kind).exists()


def put(key: str, payload: bytes, kind: str = "kernel") -> None:
    """Store `payload` as the entry of `kind` under `key`, atomically; a failure to write
    is not an error."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}{SUFFIXES[kind]}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)    # the umask applies
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + _digest(key, payload) + payload)
            os.replace(tmp, _path(key, kind))
        except BaseException:
            with contextlib.suppress(OSError):   # gone already if a clear() raced us
                os.unlink(tmp)
            raise
    except OSError:
        pass
