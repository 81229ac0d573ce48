"""A model's layers as a table: state path, layer, output shape, parameter count."""
from __future__ import annotations

from typing import Iterator, Sequence

from ...ir import Node, format_shape
from ...ops import tensor
from ..layers import Layer
from ..layers.base import _child_names


def _paths(layer: Layer, path: str = "", depth: int = 0) -> Iterator[tuple[str, int, Layer]]:
    """(state path, depth, layer) for the layer and its sublayers, depth first."""
    yield path, depth, layer
    for name, sub in _child_names(layer.children()):
        yield from _paths(sub, f"{path}.{name}" if path else name, depth + 1)


def summary(model: Layer, input_shape: Sequence, dtype: str = "float32") -> str:
    """The model's layers, one a line, indented by nesting: state path, type, the shape of its
    output for an input of `input_shape` (N, C, H, W; N may be None) in the inference graph,
    and its parameter count; then the totals. A layer that is applied more than once shows its
    last output; one left unused shows '-'."""
    rows = list(_paths(model))
    shapes: dict[int, str] = {}

    def recording(layer: Layer):
        forward = layer.forward

        def forward_and_record(x: Node, training: bool) -> Node:
            y = forward(x, training)
            shapes[id(layer)] = format_shape(y.type.shape)
            return y
        return forward_and_record

    for _, _, layer in rows:
        layer.forward = recording(layer)
    try:
        out = model(tensor("x", tuple(input_shape), dtype))
    finally:
        for _, _, layer in rows:
            del layer.forward
    lines = [f"{'layer':<44} {'type':<18} {'output':<20} {'parameters':>12}"]
    for path, depth, layer in rows:
        label = "  " * depth + (path.rsplit(".", 1)[-1] if path else model.name)
        lines.append(f"{label:<44} {type(layer).__name__:<18} {shapes.get(id(layer), '-'):<20} "
                     f"{layer.num_parameters():>12,}")
    buffers = sum(int(b.get_value().size) for b in model.buffers())
    lines.append(f"{model.num_parameters():,} parameters, {buffers:,} buffer values; input "
                 f"{format_shape(tuple(input_shape))}, output {format_shape(out.type.shape)}")
    return "\n".join(lines)
