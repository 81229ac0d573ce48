"""Strided layouts: how a value sits in memory, and the view ops that only change it.

A materialised value is a strided layout over some program argument (its
storage): element `idx` lives at element `offset + sum(idx * strides)` of the
storage. Broadcasts, transposes, axis insertion/removal, basic slicing, flips
and most reshapes derive a new layout from the old one and cost no copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ...ir import Node
from ...ops.indexing import GetItem
from ...ops.shape import BroadcastTo, ExpandDims, Flip, MatchShape, Reshape, Squeeze, Transpose
from .loopir import Buffer, Expr, Load, as_expr, const, contiguous_strides, itemsize

#: Ops whose result is a view of their (first) input.
VIEW_OPS = (BroadcastTo, Transpose, ExpandDims, Squeeze, GetItem, Flip, Reshape, MatchShape)


@dataclass(frozen=True)
class Layout:
    """A strided array of `dtype` over the argument named `storage`; offset and strides in elements."""

    storage: str
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0

    @staticmethod
    def contiguous(storage: str, dtype: str, shape: Sequence[int]) -> "Layout":
        return Layout(storage, dtype, tuple(shape), contiguous_strides(shape))

    @property
    def is_contiguous(self) -> bool:
        return all(n == 1 or s == c for n, s, c in zip(self.shape, self.strides, contiguous_strides(self.shape)))

    def load(self, storage: Buffer, idx: Sequence[Expr]) -> Load:
        """The element at `idx`, read from `storage` (the buffer behind `self.storage`).
        An offset is the start of a view of `storage` rather than a term of the index, so
        that reading x[t] is the same kernel for every t, over another view."""
        index: Expr = const(0)
        for i, s, n in zip(idx, self.strides, self.shape):
            if n != 1:
                index = index + as_expr(i) * s
        if self.offset:
            nbytes = self.offset * itemsize(self.dtype)
            storage = Buffer(f"{storage.name}_at{nbytes}", storage.dtype, storage.shape, storage.strides,
                             base=storage.name, offset=nbytes)
        return Load(storage, index)

    def buffer(self, name: str, storage: Buffer) -> Buffer:
        """This layout as a Buffer of its own (a view of `storage` when needed)."""
        if self.offset == 0 and self.strides == storage.strides and self.shape == storage.shape:
            return storage
        return Buffer(name, self.dtype, self.shape, self.strides, base=self.storage,
                      offset=self.offset * itemsize(self.dtype))


def view_layout(node: Node, src: Layout) -> Optional[Layout]:
    """The layout of view op `node` applied to an input laid out as `src`, or None
    when no strided layout expresses it (a reshape of a non-contiguous view)."""
    op, shape = node.op, tuple(node.type.shape)
    strides, offset = list(src.strides), src.offset
    if isinstance(op, MatchShape):
        return src
    if isinstance(op, BroadcastTo):
        lead = len(shape) - len(src.shape)
        new = [0] * lead + [0 if n == 1 and d != 1 else s for n, s, d in zip(src.shape, strides, shape[lead:])]
        return Layout(src.storage, src.dtype, shape, tuple(new), offset)
    if isinstance(op, Transpose):
        return Layout(src.storage, src.dtype, shape, tuple(strides[p] for p in op.perm), offset)
    if isinstance(op, ExpandDims):
        for a in op.axes:
            strides.insert(a, 0)
        return Layout(src.storage, src.dtype, shape, tuple(strides), offset)
    if isinstance(op, Squeeze):
        return Layout(src.storage, src.dtype, shape, tuple(s for i, s in enumerate(strides) if i not in op.axes), offset)
    if isinstance(op, Flip):
        for a in op.axes:
            offset += (src.shape[a] - 1) * strides[a]
            strides[a] = -strides[a]
        return Layout(src.storage, src.dtype, shape, tuple(strides), offset)
    if isinstance(op, GetItem):
        new, axis = [], 0
        for item in op.items:
            if item[0] == "new":
                new.append(0)
                continue
            n, s = src.shape[axis], strides[axis]
            if item[0] == "int":
                offset += (item[1] % n) * s
            else:
                start, _, step = slice(*item[1:]).indices(n)
                offset += start * s
                new.append(s * step)
            axis += 1
        return Layout(src.storage, src.dtype, shape, tuple(new), offset)
    if isinstance(op, Reshape):
        new_strides = reshape_strides(src.shape, src.strides, shape)
        return None if new_strides is None else Layout(src.storage, src.dtype, shape, new_strides, offset)
    raise TypeError(f"{op} is not a view op")


def reshape_strides(old_shape: Sequence[int], old_strides: Sequence[int],
                    new_shape: Sequence[int]) -> Optional[tuple[int, ...]]:
    """Strides viewing a C-order reshape of a strided array without a copy, or None.

    Axes are matched in groups of equal element count; a group of old axes can be
    re-split only if it is itself C-contiguous (each axis' stride is the next
    one's stride times its size), as numpy's no-copy reshape requires.
    """
    if 0 in old_shape or 0 in new_shape:
        return contiguous_strides(new_shape)
    old = [(n, s) for n, s in zip(old_shape, old_strides) if n != 1]
    out: list[int] = []
    i = j = 0
    new = list(new_shape)
    while j < len(new) and new[j] == 1:
        out.append(0)
        j += 1
    while i < len(old):
        # one group: old axes i..i2 and new axes j..j2 with equal products
        i2, j2 = i + 1, j + 1
        po, pn = old[i][0], new[j]
        while po != pn:
            if po < pn:
                po *= old[i2][0]
                i2 += 1
            else:
                pn *= new[j2]
                j2 += 1
        for k in range(i, i2 - 1):
            if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                return None
        stride = old[i2 - 1][1]
        group = []
        for n in reversed(new[j:j2]):
            group.append(stride if n != 1 else 0)
            stride *= n
        out.extend(reversed(group))
        i, j = i2, j2
        while j < len(new) and new[j] == 1:
            out.append(0)
            j += 1
    return tuple(out)
