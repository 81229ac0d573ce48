"""Checkpoint files: a versioned npz of named arrays plus one JSON metadata entry.

The metadata says what wrote the file (the format tag and version, graphc's version) and
what it holds (`kind`, e.g. "trainer"). Writes are atomic: the arrays go to a temporary
file in the checkpoint's directory, which is flushed to disk and then renamed over the
checkpoint, so a crash or an error mid-write leaves the previous checkpoint whole.
Reading refuses a truncated, corrupt or foreign file with a ValueError naming the path
and what is wrong; `saved_values` and `generator_from_state` check what a checkpoint holds
against what it is restored into.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from contextlib import suppress
from typing import Any, Mapping, Optional, Union

import numpy as np

from .._version import __version__
from ..ir import Node

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


def saved_values(path: PathLike, section: str, variables: list[Node], arrays: dict[str, np.ndarray],
                 names: list[str], check_names: bool) -> list[tuple[Node, np.ndarray]]:
    """(variable, saved value) pairs for the trainer restoring `variables` from the arrays
    '<section>/<i>' of a checkpoint, saved in the variables' order and recorded under `names`;
    a ValueError naming the first difference (count, name if `check_names`, shape or dtype)
    when they do not fit."""
    if len(names) != len(variables):
        raise ValueError(f"{path}: the checkpoint has {len(names)} {section} variables, this trainer "
                         f"{len(variables)} (was it built with the same model, optimizer and options?)")
    pairs = []
    for index, (name, var) in enumerate(zip(names, variables)):
        if check_names and name != var.name:
            raise ValueError(f"{path}: {section} variable {index} is {name!r} in the checkpoint, {var.name!r} "
                             "in this trainer (was it built with the same optimizer and options?)")
        value = arrays.get(f"{section}/{index}")
        if value is None:
            raise ValueError(f"{path}: a damaged checkpoint: no value of {section} variable {name!r}")
        if value.shape != var.type.shape or value.dtype != var.dtype:
            raise ValueError(f"{path}: {section} variable {name!r} is {value.dtype}{list(value.shape)} in the "
                             f"checkpoint, {var.dtype}{list(var.type.shape)} in this trainer")
        pairs.append((var, value))
    return pairs


def generator_from_state(path: PathLike, state: Optional[dict[str, Any]]) -> Optional[np.random.Generator]:
    """The numpy Generator whose bit generator had `state` (None stays None)."""
    if state is None:
        return None
    kind = getattr(np.random, str(state.get("bit_generator")), None)
    if not (isinstance(kind, type) and issubclass(kind, np.random.BitGenerator)):
        raise ValueError(f"{path}: unknown bit generator {state.get('bit_generator')!r} in the checkpoint")
    bit_generator = kind()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


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
