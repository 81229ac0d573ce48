"""gc.onnx.load: an ONNX model as graphc nodes (inputs, outputs, parameters) that can be
rebuilt on other inputs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from ..ir import Node
from ..ir.dtypes import is_float
from ..ir.types import format_shape
from ..ops import constant, shared, tensor
from ..ops.convert import as_node
from .dtypes import to_numpy
from .importer import convert_graph, initializer_values
from .registry import NEWEST_OPSET, OnnxError

#: The oldest opset of the default domain that the converters cover (see registry.NEWEST_OPSET
#: for the newest).
OLDEST_OPSET = 7

Source = Union[str, Path, bytes, Any]


class Model:
    """An imported ONNX model.

    `inputs`: symbolic inputs for the graph inputs that are not initializers (dtypes and
    static shapes from the file, symbolic dimensions None); `outputs`: the output nodes;
    `params`: the float initializers, by their names in the file, as shared variables
    (constants when frozen; integer initializers are always constants); `model(x1, ...)`
    builds the graph again on other nodes (checked against `file_inputs`, the inputs as the
    file types them; `inputs` differ where load's `shapes` fixed symbolic sizes)."""

    def __init__(self, proto: Any, frozen: bool = False, shapes: Optional[Mapping[str, Sequence[int]]] = None):
        self.proto = proto
        self.opset = _default_opset(proto)
        graph = proto.graph
        self.initial_values = initializer_values(graph)
        self.params: dict[str, Node] = {}
        self._bound: dict[str, Node] = {}
        for name, value in self.initial_values.items():
            trainable = is_float(value.dtype) and not frozen
            node = shared(value, name=name) if trainable else constant(value)
            self._bound[name] = node
            if trainable:
                self.params[name] = node
        types = input_types(proto)
        self.input_names = list(types)
        self.output_names = [o.name for o in graph.output]
        unknown = sorted(set(shapes or {}) - set(self.input_names))
        if unknown:
            raise OnnxError(f"shapes names {unknown}, which are not graph inputs; the inputs: {self.input_names}")
        #: The inputs' types in the file, which model(x1, ...) checks its arguments against.
        self.file_inputs = [tensor(name, *types[name]) for name in self.input_names]
        self.inputs = [x if x.name not in (shapes or {}) else
                       tensor(x.name, _override(x.name, x.shape, tuple(shapes[x.name])), x.dtype)
                       for x in self.file_inputs]
        self.outputs = self._build(self.inputs)

    def __call__(self, *inputs: Any) -> Union[Node, list[Node]]:
        """The model's output(s) computed from `inputs` (nodes, or values made constants), one
        per graph input, each of the file's dtype and of a shape that fits the file's."""
        if len(inputs) != len(self.inputs):
            raise OnnxError(f"the model takes {len(self.inputs)} input(s) {self.input_names}, got {len(inputs)}")
        nodes = [as_node(x) for x in inputs]
        for name, expected, got in zip(self.input_names, self.file_inputs, nodes):
            _check_input(name, expected, got)
        outputs = self._build(nodes)
        return outputs[0] if len(outputs) == 1 else outputs

    def _build(self, inputs: list[Node]) -> list[Node]:
        bound = {**self._bound, **dict(zip(self.input_names, inputs))}
        return convert_graph(self.proto.graph, self.opset, bound, self.initial_values)

    def __repr__(self) -> str:
        ins = ", ".join(f"{n}: {x.type}" for n, x in zip(self.input_names, self.inputs))
        return f"<onnx Model opset {self.opset} ({ins}) -> {len(self.outputs)} output(s), {len(self.params)} params>"


def load(source: Source, frozen: bool = False, shapes: Optional[Mapping[str, Sequence[int]]] = None) -> Model:
    """Import an ONNX model from a path, its bytes or an onnx.ModelProto (see Model);
    `frozen` makes the initializers constants instead of trainable shared variables;
    `shapes` gives inputs (by name) sizes the file leaves symbolic, so that the shape
    computations on them fold when imported."""
    return Model(read(source), frozen, shapes)


def read(source: Source) -> Any:
    """The onnx.ModelProto in a path or bytes (a ModelProto as it is), not yet imported."""
    import onnx

    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (str, Path)):
        where = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise OnnxError(f"cannot read the ONNX file {where}: {exc}") from exc
    elif isinstance(source, (bytes, bytearray)):
        where, data = "the given bytes", bytes(source)
    else:
        raise TypeError(f"onnx.load: expected a path, bytes or an onnx.ModelProto, got {type(source).__name__}")
    try:
        proto = onnx.load_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise OnnxError(f"{where} is not a valid ONNX model (truncated or corrupt?): {exc}") from exc
    if not proto.graph.node and not proto.graph.output:
        raise OnnxError(f"{where} holds no ONNX graph (empty, truncated or not an ONNX file)")
    return proto


def input_types(proto: Any) -> dict[str, tuple[tuple[Optional[int], ...], np.dtype]]:
    """(shape, dtype) of each graph input that is not an initializer, in the file's order
    (symbolic or missing dimensions None), read without importing the graph."""
    initialized = {i.name for i in proto.graph.initializer}
    return {i.name: _input_type(i) for i in proto.graph.input if i.name not in initialized}


def _default_opset(proto: Any) -> int:
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise OnnxError("the model imports no opset of the default ONNX domain")
    opset = versions[0]
    if opset < OLDEST_OPSET:
        raise OnnxError(f"the model uses opset {opset}; graphc imports opsets {OLDEST_OPSET} and later "
                        f"(operators as defined up to opset {NEWEST_OPSET})")
    return opset


def _input_type(value_info: Any) -> tuple[tuple[Optional[int], ...], np.dtype]:
    """The (shape, dtype) of a graph input; symbolic or missing dimensions are None."""
    where = f"the graph input {value_info.name!r}"
    if not value_info.type.HasField("tensor_type"):
        raise OnnxError(f"{where} is not a tensor (sequences and maps are not supported)")
    t = value_info.type.tensor_type
    dtype = to_numpy(t.elem_type, where)
    if not t.HasField("shape"):
        raise OnnxError(f"{where} has no shape in the file (graphc needs at least its rank)")
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
    return shape, dtype


def _override(name: str, file_shape: tuple[Optional[int], ...], given: tuple[int, ...]) -> tuple[int, ...]:
    """`given` for the input `name`, which must fit the file's shape (its fixed sizes)."""
    if len(given) != len(file_shape) or any(f is not None and f != g for f, g in zip(file_shape, given)):
        raise OnnxError(f"shapes: the input {name!r} has shape {format_shape(file_shape)} in the file (None: any "
                        f"size), got {format_shape(given)}")
    return given


def _check_input(name: str, expected: Node, got: Node) -> None:
    if got.dtype != expected.dtype:
        raise OnnxError(f"the model's input {name!r} is {expected.dtype}, got {got.dtype}")
    want, have = expected.type.shape, got.type.shape
    if len(want) != len(have) or any(w is not None and h is not None and w != h for w, h in zip(want, have)):
        raise OnnxError(f"the model's input {name!r} has shape {format_shape(want)} (None: any size), "
                        f"got {format_shape(have)}")
