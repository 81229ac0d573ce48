"""The on-disk cache of object code.

One file per key under `cache_dir()` (GRAPHC_CACHE_DIR, else ~/.cache/graphc or
$XDG_CACHE_HOME/graphc). A file is a magic line, the SHA-256 of the payload and
the payload. Writes go to a temporary file in the same directory and are
renamed into place, so readers in other processes see a whole entry or none;
an entry whose checksum does not match is deleted and reported as a miss.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional

MAGIC = b"graphc-object 1\n"
_SUFFIX = ".obj"


def cache_dir() -> Path:
    env = os.environ.get("GRAPHC_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "graphc"


def make_key(*parts: str) -> str:
    """A hex digest naming an entry, from everything the entry depends on."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / f"{key}{_SUFFIX}"


def get(key: str) -> Optional[bytes]:
    """The payload stored under `key`, or None (missing or corrupt, then removed)."""
    path = _path(key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, digest, payload = data[:len(MAGIC)], data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if head == MAGIC and hashlib.sha256(payload).digest() == digest:
        return payload
    try:
        path.unlink()
    except OSError:
        pass
    return None


def put(key: str, payload: bytes) -> None:
    """Store `payload` under `key` atomically; a failure to write is not an error."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, _path(key))
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def clear() -> int:
    """Remove every entry (and stray temporary files); return how many entries went."""
    removed = 0
    directory = cache_dir()
    if not directory.is_dir():
        return 0
    for path in directory.iterdir():
        if path.suffix == _SUFFIX:
            try:
                path.unlink()
                removed += not path.name.startswith(".tmp-")
            except OSError:
                pass
    return removed
