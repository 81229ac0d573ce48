"""Checking the arguments of a compiled function against its inputs' types."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, ShapeError, format_shape

#: The `cast_inputs` rules a function accepts: numpy's casting names ("no" is strict).
CASTING_RULES = ("no", "safe", "same_kind")


def casting_rule(cast_inputs: Optional[str]) -> str:
    """The numpy casting rule for `gc.function(cast_inputs=...)`: None means "no"."""
    rule = "no" if cast_inputs is None else cast_inputs
    if rule not in CASTING_RULES:
        choices = ", ".join(repr(r) for r in CASTING_RULES)
        raise ValueError(f"function: cast_inputs must be None or one of {choices}, got {cast_inputs!r}")
    return rule


def check_arguments(inputs: Sequence[Node], args: Sequence[Any], casting: str = "no") -> list[np.ndarray]:
    """Arrays for `args`, or a clear error naming the input and what it expected.

    numpy arrays must have the input's dtype exactly under the `casting` rule "no" (no
    silent downcast); under "safe" or "same_kind" they are converted when
    `np.can_cast(array.dtype, input dtype, casting)` allows it. Python numbers and lists are
    converted when that keeps their kind (2 -> 2.0, not 1.5 -> 1).
    """
    if len(args) != len(inputs):
        names = ", ".join(i.name or "?" for i in inputs)
        raise TypeError(f"function takes {len(inputs)} arguments ({names}), got {len(args)}")
    arrays = []
    for node, arg in zip(inputs, args):
        expected = node.type
        if isinstance(arg, (np.ndarray, np.generic)):
            arr = _cast_array(node, np.asarray(arg), casting)
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


def _cast_array(node: Node, arr: np.ndarray, casting: str) -> np.ndarray:
    """`arr` in the input's dtype, converted only as far as the `casting` rule allows."""
    expected = node.type.dtype
    if arr.dtype == expected:
        return arr
    if casting == "no":
        raise DTypeError(
            f"argument {node.name!r}: expected dtype {expected}, got {arr.dtype} "
            f"(convert with .astype(np.{expected}))"
        )
    if not np.can_cast(arr.dtype, expected, casting=casting):
        raise DTypeError(
            f"argument {node.name!r}: expected dtype {expected}, got {arr.dtype}, which the function's "
            f"cast_inputs={casting!r} rule does not convert (numpy.can_cast refuses it)"
        )
    return arr.astype(expected)
