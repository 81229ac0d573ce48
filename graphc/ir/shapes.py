"""Shape algebra shared by ops: broadcasting and axis normalisation, with clear errors."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from .errors import ShapeError
from .types import Shape, format_shape


def broadcast_shapes(op: str, *shapes: Sequence[Optional[int]]) -> Shape:
    """numpy broadcasting of static shapes.

    A dimension broadcasts only when its size is known to be 1 (as in PyTensor): an
    unknown size meeting a known size n is taken to be n, and checked when run.
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out: list[Optional[int]] = []
    for axis, dims in enumerate(zip(*padded)):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            listing = " and ".join(format_shape(s) for s in shapes)
            raise ShapeError(
                f"{op}: shapes {listing} do not broadcast: axis {axis - ndim} has sizes "
                f"{sorted(known)}; sizes must be equal or 1"
            )
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def check_no_hidden_broadcast(op: str, static: Sequence[Sequence[Optional[int]]], actual: Sequence[Sequence[int]]) -> None:
    """Refuse run-time sizes that would broadcast where the static shapes said they do not.

    `broadcast_shapes` takes an unknown size meeting a known size n to be n; a run-time 1
    there would broadcast silently and give gradients of the wrong shape.
    """
    ndim = max((len(s) for s in actual), default=0)
    for i, (st, act) in enumerate(zip(static, actual)):
        lead = ndim - len(act)
        for axis, (d, a) in enumerate(zip(st, act)):
            if d is None and a == 1 and any(
                len(o) - len(act) + axis >= 0 and o[len(o) - len(act) + axis] != 1 for o in actual
            ):
                raise ShapeError(
                    f"{op}: operand {i} has size 1 at run time on axis {axis + lead - ndim}, declared "
                    f"unknown (None); it would broadcast there. Declare that size as 1 to broadcast"
                )


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    """Map a possibly negative axis into range(ndim)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ShapeError(f"{op}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def normalize_axes(op: str, axis: Optional[int | Iterable[int]], ndim: int) -> tuple[int, ...]:
    """Sorted, non-negative, distinct axes; None means all axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axes: tuple = (int(axis),)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise ShapeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
    norm = tuple(normalize_axis(op, a, ndim) for a in axes)
    if len(set(norm)) != len(norm):
        raise ShapeError(f"{op}: repeated axis in {axes!r}")
    return tuple(sorted(norm))
