"""Checkpoint files: a versioned npz of named arrays plus one JSON metadata entry.

The metadata says what wrote the file (the format tag and version, graphc's version) and
what it holds (`kind`, e.g. "trainer"). Writes are atomic: the arrays go to a temporary
file in the checkpoint's directory, which is flushed to disk and then renamed over the
checkpoint, so a crash or an error mid-write leaves the previous checkpoint whole.
Reading refuses a truncated, corrupt or foreign file with a ValueError naming the path
and what is wrong.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from contextlib import suppress
from typing import Any, Mapping, Union

import numpy as np

from .._version import __version__

FORMAT = "graphc.checkpoint"
VERSION = 1  # of the file layout; a reader refuses files from a later version
META_KEY = "__meta__"
ZIP_MAGIC = b"PK\x03\x04"  # how an npz file (a zip archive) starts

PathLike = Union[str, os.PathLike]


def write_checkpoint(path: PathLike, kind: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write `arrays` and the JSON-able `meta` to `path` (exactly that name: no suffix is added),
    replacing any file there only once the new one is complete on disk."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    header = {"format": FORMAT, "version": VERSION, "graphc": __version__, "kind": kind}
    entries = {META_KEY: np.array(json.dumps({**header, **meta}))}
    entries.update((name, np.asarray(value)) for name, value in arrays.items())
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as file:
            np.savez(file, **entries)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(folder)


def read_checkpoint(path: PathLike, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays by name, metadata) of the checkpoint at `path`, which must be of `kind`."""
    path = os.fspath(path)
    with open(path, "rb") as file:
        start = file.read(len(ZIP_MAGIC))
    if start != ZIP_MAGIC:
        raise _not_a_checkpoint(path, "the file is empty" if not start else "it is not an npz (zip) archive")
    try:
        arrays = _read_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise _not_a_checkpoint(path, f"the npz archive is truncated or corrupt ({error})") from None
    meta = _metadata(path, arrays.pop(META_KEY, None), sorted(arrays))
    if meta["kind"] != kind:
        raise ValueError(f"{path}: a {meta['kind']!r} checkpoint, expected a {kind!r} one")
    return arrays, meta


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of the npz archive at `path`, read now (a damaged member fails here)."""
    with np.load(path, allow_pickle=False) as contents:
        return {name: contents[name] for name in contents.files}


def _metadata(path: str, entry: Any, names: list[str]) -> dict[str, Any]:
    """The checked metadata of a checkpoint from its `META_KEY` entry."""
    if entry is None:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise _not_a_checkpoint(path, f"an npz without graphc's {META_KEY!r} entry (arrays: {shown or 'none'})")
    try:
        meta = json.loads(str(entry[()]))
    except (ValueError, TypeError, IndexError) as error:
        raise _not_a_checkpoint(path, f"its {META_KEY!r} entry is not JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("version"), int):
        raise _not_a_checkpoint(path, f"its {META_KEY!r} entry does not name the {FORMAT!r} format and a version")
    if meta["version"] > VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {meta['version']} (written by graphc {meta.get('graphc', '?')}); "
            f"this graphc ({__version__}) reads versions up to {VERSION}"
        )
    return meta


def _not_a_checkpoint(path: str, why: str) -> ValueError:
    return ValueError(f"{path}: not a graphc checkpoint: {why}")


def _sync_directory(folder: str) -> None:
    """Flush the directory entry of a rename to disk, where the system allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
