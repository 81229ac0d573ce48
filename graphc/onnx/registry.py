"""The table of ONNX operator converters and the view of one ONNX node they receive.

A converter is a small function registered for an operator type and the first opset it
applies to (`@converter("Squeeze", since=13, attributes=())`): it receives a NodeView and
returns the graphc node(s) for the ONNX node's outputs. The attributes a converter
understands are declared, so one it does not know raises instead of being ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Optional, Sequence

import numpy as np

from ..ir import GraphcError, Node
from ..ops import constant, constant_value


class OnnxError(GraphcError):
    """An ONNX model graphc cannot import or export: the message names the node, operator,
    attribute or dtype, and what is supported."""


class StaticValueError(OnnxError):
    """A value the importer needs (an axis list, a shape, bounds) is known only when run;
    `value_name` is the ONNX value it needed, when one value would have done."""

    def __init__(self, message: str, value_name: Optional[str] = None):
        super().__init__(message)
        self.value_name = value_name


@dataclass(frozen=True)
class Converter:
    """One operator's converter from opset `since` on."""

    op_type: str
    since: int
    attributes: frozenset[str]
    convert: Callable[["NodeView"], Any]


#: op_type -> converters, newest opset first.
CONVERTERS: dict[str, list[Converter]] = {}
#: The newest opset whose operator definitions the converters follow.
NEWEST_OPSET = 22
#: Revisions after NEWEST_OPSET that changed only element types (refused by the dtype checks
#: unless graphc has them) or added attributes (refused by the attribute checks): a model of a
#: later opset imports when each of its operators is at most at one of these revisions.
REVIEWED_REVISIONS = {
    **{op: (23, 24, 25) for op in ("Constant", "ConstantOfShape", "Flatten", "Identity", "Pad", "Reshape", "Shape",
                                   "Size", "Squeeze", "Transpose", "Unsqueeze")},
    "Cast": (23, 24, 25, 28),
}


def converter(op_type: str, since: int = 1, attributes: Sequence[str] = ()) -> Callable:
    """Register the decorated function as `op_type`'s converter from opset `since` on."""
    def register(fn: Callable[["NodeView"], Any]) -> Callable[["NodeView"], Any]:
        entries = CONVERTERS.setdefault(op_type, [])
        entries.append(Converter(op_type, since, frozenset(attributes), fn))
        entries.sort(key=lambda c: -c.since)
        return fn
    return register


def supported_ops() -> list[str]:
    """The ONNX operator types graphc imports."""
    load_converters()
    return sorted(CONVERTERS)


def load_converters() -> None:
    """Import the converter modules (each registers its operators)."""
    from . import ops_math, ops_nn, ops_reduce, ops_resize, ops_shape  # noqa: F401 - registration by import


def find_converter(view: "NodeView") -> Converter:
    """The converter for `view`'s operator at the model's opset, or an OnnxError saying why not."""
    load_converters()
    entries = CONVERTERS.get(view.op_type)
    if view.domain not in ("", "ai.onnx"):
        view.fail(f"the operator domain {view.domain!r} is not supported (only the default ONNX domain)")
    if not entries:
        view.fail(f"the operator {view.op_type} is not supported; supported: {', '.join(supported_ops())}")
    _check_revision(view)
    for entry in entries:
        if entry.since <= view.opset:
            unknown = sorted(set(view.attributes) - entry.attributes)
            if unknown:
                known = ", ".join(sorted(entry.attributes)) or "none"
                view.fail(f"the attribute(s) {', '.join(unknown)} of {view.op_type} are not supported "
                          f"(supported: {known})")
            return entry
    view.fail(f"{view.op_type} is supported from opset {entries[-1].since}, the model uses opset {view.opset}")


def _check_revision(view: "NodeView") -> None:
    """Refuse an operator whose definition at the model's opset is newer than what the
    converters follow (and not a reviewed type-only revision)."""
    if view.opset <= NEWEST_OPSET:
        return
    from onnx import defs

    try:
        revision = defs.get_schema(view.op_type, view.opset).since_version
    except defs.SchemaError:
        view.fail(f"the installed onnx package does not know opset {view.opset} of {view.op_type}")
    if revision > NEWEST_OPSET and revision not in REVIEWED_REVISIONS.get(view.op_type, ()):
        view.fail(f"{view.op_type} was revised in opset {revision}; graphc follows its definitions up to opset "
                  f"{NEWEST_OPSET} (export the model at opset {NEWEST_OPSET} or lower)")


class NodeView:
    """One ONNX node during import: its attributes as Python values and its inputs as graphc nodes."""

    def __init__(self, proto: Any, inputs: Sequence[Optional[Node]], opset: int,
                 initial_values: dict[str, np.ndarray], scope: Optional[dict[str, Node]] = None):
        from onnx import helper

        self.proto = proto
        self.op_type: str = proto.op_type
        self.domain: str = proto.domain
        self.opset = opset
        self.inputs = list(inputs)
        self.attributes: dict[str, Any] = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
        self._initial_values = initial_values
        #: The values visible at this node, by name (what a subgraph of If may read).
        self.scope = scope or {}

    @property
    def description(self) -> str:
        name = f" {self.proto.name!r}" if self.proto.name else ""
        return f"ONNX node{name} ({self.op_type}, outputs {list(self.proto.output)})"

    def fail(self, message: str) -> NoReturn:
        """Raise an OnnxError about this node."""
        raise OnnxError(f"{self.description}: {message}")

    def attr(self, name: str, default: Any = None) -> Any:
        """The attribute's value (bytes decoded to str), or `default` when absent."""
        value = self.attributes.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    def input(self, i: int) -> Node:
        """Input `i`, which must be present."""
        node = self.optional_input(i)
        if node is None:
            self.fail(f"input {i} is required")
        return node

    def optional_input(self, i: int) -> Optional[Node]:
        """Input `i`, or None when absent or given as the empty name."""
        return self.inputs[i] if i < len(self.inputs) else None

    def has_input(self, i: int) -> bool:
        return self.optional_input(i) is not None

    def subgraph(self, name: str) -> list[Node]:
        """The outputs of the graph attribute `name`, converted with this node's scope."""
        from .importer import convert_graph, initializer_values

        graph = self.attr(name)
        own = initializer_values(graph)
        bound = {**self.scope, **{k: constant(v) for k, v in own.items()}}
        return convert_graph(graph, self.opset, bound, {**self._initial_values, **own})

    def static(self, i: int, what: str) -> np.ndarray:
        """The value of input `i`, which must be known when importing (a constant, an
        initializer or a folded shape computation)."""
        node = self.input(i)
        value = constant_value(node)
        if value is None:
            value = self._initial_values.get(self.proto.input[i])
        if value is None:
            raise StaticValueError(
                f"{self.description}: the {what} (input {i}, {self.proto.input[i]!r}) must be known when importing, "
                "but it is computed from inputs of unknown value or shape; give the inputs static sizes "
                "(gc.onnx.load(..., shapes={name: sizes}), or call the model on gc.tensor(...) nodes of known shape)",
                self.proto.input[i])
        return np.asarray(value)

    def static_ints(self, i: int, what: str) -> list[int]:
        """Input `i` as a list of ints (see static)."""
        return [int(v) for v in self.static(i, what).reshape(-1)]

    def ints_from(self, attribute: str, input_index: int, since: int, what: str,
                  default: Optional[list[int]] = None) -> Optional[list[int]]:
        """A list of ints given as an attribute before opset `since` and as an input from it on."""
        if self.opset >= since:
            return self.static_ints(input_index, what) if self.has_input(input_index) else default
        value = self.attr(attribute)
        return default if value is None else [int(v) for v in value]

    def axis(self, axis: int, ndim: int) -> int:
        """`axis` (negative counts from the end) checked against `ndim`."""
        if not -ndim <= axis < max(ndim, 1):
            self.fail(f"axis {axis} is out of range for a tensor of {ndim} axes")
        return axis % max(ndim, 1)

    def choice(self, name: str, default: str, allowed: Sequence[str]) -> str:
        """A string attribute that must be one of `allowed`."""
        value = self.attr(name, default)
        if value not in allowed:
            self.fail(f"{name}={value!r} is not supported (supported: {', '.join(allowed)})")
        return value
