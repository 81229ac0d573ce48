"""graphc as an onnx.backend.base.Backend, so onnx's own backend tests run against it:
`prepare` imports the model (gc.onnx.load, frozen) and compiles it (gc.function).

A model whose graph inputs carry values the importer needs (axes, shapes, pads, scales: onnx's
node tests feed them as inputs) is imported at `run`, with those inputs made initializers
holding the given values, and compiled once per distinct set of values."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
from onnx.backend.base import Backend, BackendRep

from ..function import function
from .model import load
from .registry import StaticValueError

#: ONNX's INT32 and INT64 element types.
INTEGER_TYPES = (6, 7)
Inputs = Union[Sequence[np.ndarray], Mapping[str, np.ndarray], np.ndarray]


class GraphcRep(BackendRep):
    """An imported, compiled model: `run(inputs)` with arrays in the graph inputs' order (or
    a mapping by name) returns the outputs as a tuple of arrays."""

    def __init__(self, proto: Any, backend: str = "llvm"):
        self.proto, self.backend = proto, backend
        initialized = {t.name for t in proto.graph.initializer}
        self.input_names = [i.name for i in proto.graph.input if i.name not in initialized]
        self._compiled: dict[tuple, tuple[list[str], Callable]] = {}
        #: The graph inputs whose values the importer needs, found as it asks for them.
        self.static_inputs: list[str] = []
        try:
            self._compiled[()] = self._compile({})
        except StaticValueError as exc:
            self._need(exc)

    def _need(self, exc: StaticValueError) -> None:
        """Note the graph input `exc` asks for; when it asks for a value computed from graph
        inputs, every integer graph input; re-raise when nothing is left to make known."""
        if exc.value_name in self.input_names:
            wanted = [exc.value_name]
        else:
            wanted = [i.name for i in self.proto.graph.input
                      if i.name in self.input_names and i.type.tensor_type.elem_type in INTEGER_TYPES]
        wanted = [n for n in wanted if n not in self.static_inputs]
        if not wanted:
            raise exc
        self.static_inputs.extend(wanted)

    def _compile(self, known: Mapping[str, np.ndarray]) -> tuple[list[str], Callable]:
        """The model with the inputs in `known` made initializers: its remaining inputs' names
        and compiled function."""
        from onnx import numpy_helper

        proto = self.proto
        if known:
            proto = type(proto)()
            proto.CopyFrom(self.proto)
            proto.graph.initializer.extend(numpy_helper.from_array(v, name) for name, v in known.items())
            kept = [i for i in proto.graph.input if i.name not in known]
            del proto.graph.input[:]
            proto.graph.input.extend(kept)
        model = load(proto, frozen=True)
        return model.input_names, function(model.inputs, model.outputs, backend=self.backend)

    def run(self, inputs: Inputs, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        values = dict(inputs) if isinstance(inputs, Mapping) else dict(zip(self.input_names, inputs))
        values = {name: np.asarray(v) for name, v in values.items()}
        while True:
            known = {n: values[n] for n in self.static_inputs}
            key = tuple((n, v.dtype.str, v.shape, v.tobytes()) for n, v in known.items())
            if key not in self._compiled:
                try:
                    self._compiled[key] = self._compile(known)
                except StaticValueError as exc:
                    self._need(exc)
                    continue
            names, f = self._compiled[key]
            return tuple(f(*[values[n] for n in names]))


class GraphcBackend(Backend):
    """prepare(model, device="CPU", backend="llvm") -> GraphcRep; CPU only."""

    @classmethod
    def prepare(cls, model: Any, device: str = "CPU", **kwargs: Any) -> GraphcRep:
        super().prepare(model, device, **kwargs)
        return GraphcRep(model, kwargs.get("backend", "llvm"))

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


prepare = GraphcBackend.prepare
run_model = GraphcBackend.run_model
supports_device = GraphcBackend.supports_device
