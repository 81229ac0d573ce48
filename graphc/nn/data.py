"""Feeding data to training: seeded minibatches, numpy-side augmentation, splits."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .init import RngLike, as_rng

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def minibatches(
    *arrays: np.ndarray, batch_size: int, shuffle: bool = True, rng: RngLike = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned slices of `arrays` of `batch_size` rows (the last may be smaller
    unless `drop_last`), in a seeded random order when `shuffle`."""
    if not arrays:
        raise ValueError("minibatches: give at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"minibatches: arrays differ in length: {[len(a) for a in arrays]}")
    if batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be >= 1, got {batch_size}")
    order = as_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        index = order[start:start + batch_size]
        yield tuple(a[index] for a in arrays)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


class RandomFlip:
    """Mirror each sample along `axis` (default: the last, i.e. horizontally) with probability p."""

    def __init__(self, p: float = 0.5, axis: int = -1):
        self.p, self.axis = p, axis

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = batch.copy()
        chosen = rng.random(len(batch)) < self.p
        out[chosen] = np.flip(batch[chosen], self.axis)
        return out

    def __repr__(self) -> str:
        return f"RandomFlip(p={self.p})"


class RandomShift:
    """Shift each image (last two axes) by up to `max_shift` pixels per axis, filling with zeros."""

    def __init__(self, max_shift: int = 1):
        self.max_shift = max_shift

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        s = self.max_shift
        height, width = batch.shape[-2:]
        padded = np.pad(batch, [(0, 0)] * (batch.ndim - 2) + [(s, s), (s, s)])
        dy = rng.integers(-s, s + 1, len(batch))
        dx = rng.integers(-s, s + 1, len(batch))
        out = np.empty_like(batch)
        for a in range(-s, s + 1):  # one vectorised copy per distinct offset
            for b in range(-s, s + 1):
                chosen = (dy == a) & (dx == b)
                out[chosen] = padded[chosen, ..., s - a:s - a + height, s - b:s - b + width]
        return out

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class Compose:
    """Apply transforms in order."""

    def __init__(self, *transforms: Transform):
        self.transforms = transforms

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for t in self.transforms:
            batch = t(batch, rng)
        return batch

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.transforms))})"


def split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0, stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_a, y_a, x_b, y_b) with `fraction` of the rows in b, stratified by the labels `y`
    (each class keeps its share) when `stratify`."""
    from sklearn.model_selection import train_test_split

    x_a, x_b, y_a, y_b = train_test_split(
        x, y, test_size=fraction, random_state=seed, stratify=y if stratify else None
    )
    return x_a, y_a, x_b, y_b


def is_classification(targets: np.ndarray) -> bool:
    """Integer class labels (as opposed to regression targets or one-hot rows)."""
    return targets.ndim == 1 and targets.dtype.kind in "iu"


__all__ = [
    "minibatches", "num_batches", "RandomFlip", "RandomShift", "Compose", "split", "is_classification",
]
