"""ONNX element types and the numpy dtypes graphc supports."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .registry import OnnxError

#: ONNX TensorProto element type -> numpy dtype, for the dtypes graphc computes with.
ONNX_TO_NUMPY = {1: np.dtype("float32"), 6: np.dtype("int32"), 7: np.dtype("int64"),
                 9: np.dtype("bool"), 11: np.dtype("float64")}
NUMPY_TO_ONNX = {dt: code for code, dt in ONNX_TO_NUMPY.items()}


def onnx_type_name(code: int) -> str:
    """The TensorProto name of an element type (FLOAT16, UINT8, ...)."""
    from onnx import TensorProto

    return TensorProto.DataType.Name(code) if code in TensorProto.DataType.values() else str(code)


def to_numpy(code: int, where: str, fail: Callable[[str], None] | None = None) -> np.dtype:
    """The numpy dtype of ONNX element type `code`, or an error naming it and what is supported."""
    if code in ONNX_TO_NUMPY:
        return ONNX_TO_NUMPY[code]
    supported = ", ".join(onnx_type_name(c) for c in ONNX_TO_NUMPY)
    message = f"{where}: the element type {onnx_type_name(code)} is not supported (supported: {supported})"
    if fail is not None:
        fail(message)
    raise OnnxError(message)


def to_onnx(dtype: np.dtype, where: str) -> int:
    """The ONNX element type of a graphc dtype."""
    try:
        return NUMPY_TO_ONNX[np.dtype(dtype)]
    except KeyError:
        raise OnnxError(f"{where}: dtype {np.dtype(dtype).name} has no ONNX form here") from None
