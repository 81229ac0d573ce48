"""The dtypes graphc supports and numpy's promotion rules restricted to them."""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DTypeError

SUPPORTED = tuple(np.dtype(d) for d in ("float32", "float64", "int32", "int64", "bool"))
DEFAULT_FLOAT = np.dtype("float32")
_SHORT = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "bool"}
_SHORT_OF = {np.dtype(name): short for name, short in _SHORT.items()}


def as_dtype(dtype: Any) -> np.dtype:
    """Return the numpy dtype for `dtype`, or raise if graphc does not support it."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"unknown dtype {dtype!r}") from exc
    if dt not in SUPPORTED:
        names = ", ".join(d.name for d in SUPPORTED)
        raise DTypeError(f"dtype {dt.name} is not supported; use one of {names}")
    return dt


def short_name(dtype: np.dtype) -> str:
    """A compact name for listings: f32, i64, bool."""
    found = _SHORT_OF.get(dtype)        # a dict lookup: listings and cache keys ask for thousands
    return found if found is not None else _SHORT[np.dtype(dtype).name]


def is_float(dtype: np.dtype) -> bool:
    """float32 or float64: the dtypes that carry gradients."""
    return np.dtype(dtype).kind == "f"


def is_integer(dtype: np.dtype) -> bool:
    """int32 or int64 (class labels, indices, counts)."""
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype: np.dtype) -> bool:
    """bool (comparisons, masks, conditions of where)."""
    return np.dtype(dtype).kind == "b"


def promote(*dtypes: np.dtype) -> np.dtype:
    """numpy's result type of mixing `dtypes` (int32 with float32 gives float64, as numpy)."""
    return as_dtype(np.result_type(*dtypes))


def float_of(dtype: np.dtype) -> np.dtype:
    """The float dtype a float-valued function returns for `dtype` (numpy: int -> float64).

    numpy gives float16 for bool; graphc has no float16 and gives float32.
    """
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return dt
    return DEFAULT_FLOAT if dt.kind == "b" else np.dtype("float64")


def check_same_kind(what: str, label: str, target: np.dtype, source: np.dtype) -> None:
    """Refuse storing values of dtype `source` in `label` of dtype `target` unless numpy's
    same_kind rule casts them: within a kind (float64 -> float32 rounds, as numpy's astype) or
    up from bool to int to float; never down (float -> int would drop the fractions)."""
    if not np.can_cast(source, target, casting="same_kind"):
        raise DTypeError(
            f"{what}: {label!r} has dtype {np.dtype(target)}; values of dtype {np.dtype(source)} would change "
            f"kind (casts follow numpy's same_kind rule: float64 -> float32 and int -> float, not float -> int)"
        )
