"""Checking the arguments of a compiled function against its inputs' types."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir import DTypeError, Node, ShapeError, format_shape


def check_arguments(inputs: Sequence[Node], args: Sequence[Any]) -> list[np.ndarray]:
    """Arrays for `args`, or a clear error naming the input and what it expected.

    numpy arrays must have the input's dtype exactly (no silent downcast); Python
    numbers and lists are converted when that keeps their kind (2 -> 2.0, not 1.5 -> 1).
    """
    if len(args) != len(inputs):
        names = ", ".join(i.name or "?" for i in inputs)
        raise TypeError(f"function takes {len(inputs)} arguments ({names}), got {len(args)}")
    arrays = []
    for node, arg in zip(inputs, args):
        expected = node.type
        if isinstance(arg, (np.ndarray, np.generic)):
            arr = np.asarray(arg)
            if arr.dtype != expected.dtype:
                raise DTypeError(
                    f"argument {node.name!r}: expected dtype {expected.dtype}, got {arr.dtype} "
                    f"(convert with .astype(np.{expected.dtype}))"
                )
        else:
            try:
                arr = np.asarray(arg)
            except (TypeError, ValueError) as exc:
                raise DTypeError(f"argument {node.name!r}: cannot convert to {expected.dtype}: {exc}") from exc
            if not np.can_cast(arr.dtype, expected.dtype, casting="same_kind"):
                raise DTypeError(
                    f"argument {node.name!r}: expected dtype {expected.dtype}, got values of "
                    f"dtype {arr.dtype} that would not convert without changing kind"
                )
            arr = arr.astype(expected.dtype, copy=False)
        if not expected.accepts(arr.shape):
            raise ShapeError(
                f"argument {node.name!r}: expected shape {format_shape(expected.shape)}, "
                f"got {format_shape(arr.shape)}"
            )
        arrays.append(arr)
    return arrays
