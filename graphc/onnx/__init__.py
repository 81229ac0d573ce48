"""ONNX import and export (`gc.onnx`; needs the `onnx` package: pip install graphc[onnx]).

`load(path | bytes | ModelProto, frozen=False)` builds an ordinary graphc graph through
graphc's ops and gc.nn's functions; `save(path, inputs, outputs, opset=17)` writes one.
The `onnx` package is imported when these are first called, not by `import graphc`.
"""
from .export import save
from .model import Model, load
from .registry import OnnxError, supported_ops

__all__ = ["Model", "OnnxError", "load", "save", "supported_ops"]
