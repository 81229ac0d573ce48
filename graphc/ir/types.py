"""Tensor types: a dtype and a shape whose entries are ints or None (unknown)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from .dtypes import as_dtype, short_name
from .errors import ShapeError

Shape = tuple[Optional[int], ...]


def as_shape(shape: Iterable[Optional[int]] | int | None) -> Shape:
    """Normalise a user shape: ints >= 0 or None for unknown."""
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    out = []
    for d in shape:
        if d is None:
            out.append(None)
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            out.append(int(d))
        else:
            raise ShapeError(f"shape entries must be ints >= 0 or None, got {tuple(shape)!r}")
    return tuple(out)


def format_shape(shape: Sequence[Optional[int]]) -> str:
    """A shape for error messages, as Python writes tuples, unknown sizes as ?: (?, 3)."""
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass(frozen=True)
class TensorType:
    """The static type of a node's value."""

    dtype: np.dtype
    shape: Shape

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", as_dtype(self.dtype))
        object.__setattr__(self, "shape", as_shape(self.shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        """True when every dimension is known."""
        return all(d is not None for d in self.shape)

    @property
    def size(self) -> Optional[int]:
        """Number of elements, or None when a dimension is unknown."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.is_static else None

    def accepts(self, shape: Sequence[int]) -> bool:
        """Whether a concrete array shape fits this type."""
        return len(shape) == self.ndim and all(d is None or d == s for d, s in zip(self.shape, shape))

    def __str__(self) -> str:
        return f"{short_name(self.dtype)}[{','.join('?' if d is None else str(d) for d in self.shape)}]"
