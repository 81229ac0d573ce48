"""Functions of this process that compiled kernels call back (loopir.HostCall).

A kernel cannot hold the address of a Python function: its object code is cached on disk and
shared between processes. So the runner is given, at every call, the address of this process's
table of host functions (`table_address`) and puts it in each kernel's argument slots; a
HostCall loads its function from there by position (`HOST_FUNCTIONS`) and calls it as
`int32 f(void *data, int64 count, int32 dtype)` with the dtype's position in loopir.DTYPES.

The functions run on the thread that called the compiled function (ctypes takes the GIL). A
Python exception inside one is kept for that thread and the function returns non-zero; the
kernel then reports a failed call, and the runtime raises the kept exception (`take_failure`).
"""
from __future__ import annotations

import ctypes
import threading
from typing import Callable, Optional

import numpy as np

from ...ops.collective import sum_over_processes

HOST_FUNCTION = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32)

#: What each host function does to its buffer, by name, in table order.
IMPLEMENTATIONS: dict[str, Callable[[np.ndarray], None]] = {"allreduce_sum": sum_over_processes}
HOST_FUNCTIONS = tuple(IMPLEMENTATIONS)

_failures = threading.local()
_table: Optional[tuple[ctypes.Array, list]] = None   # the table, and the callbacks it points to (kept alive)


def as_array(address: int, count: int, dtype_code: int) -> np.ndarray:
    """The `count` elements of dtype DTYPES[dtype_code] at `address`, as a writable numpy array."""
    from .loopir import DTYPES      # here, not at import: a warm start loads no loop IR
    dtype = np.dtype(DTYPES[dtype_code])
    if count == 0:
        return np.empty(0, dtype)
    return np.frombuffer((ctypes.c_char * (count * dtype.itemsize)).from_address(address), dtype)


def _callback(implementation: Callable[[np.ndarray], None]) -> ctypes._CFuncPtr:
    def call(address: int, count: int, dtype_code: int) -> int:
        try:
            implementation(as_array(address, count, dtype_code))
        except BaseException as error:  # noqa: BLE001 - re-raised by the runtime (take_failure)
            _failures.error = error
            return 1
        return 0

    return HOST_FUNCTION(call)


def table_address() -> int:
    """The address of this process's table of host functions (built at the first call)."""
    global _table
    if _table is None:
        callbacks = [_callback(IMPLEMENTATIONS[name]) for name in HOST_FUNCTIONS]
        table = (ctypes.c_void_p * len(callbacks))(*(ctypes.cast(c, ctypes.c_void_p).value for c in callbacks))
        _table = (table, callbacks)
    return ctypes.addressof(_table[0])


def take_failure() -> Optional[BaseException]:
    """The exception a host function raised on this thread since the last call, if any (cleared)."""
    error = getattr(_failures, "error", None)
    _failures.error = None
    return error
