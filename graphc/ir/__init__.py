"""The graph: dtypes, tensor types, the node class, the op contract and traversal."""
from .dtypes import as_dtype, float_of, is_bool, is_float, is_integer, promote
from .errors import DisconnectedGradientError, DTypeError, GraphcError, ShapeError
from .node import Node
from .op import Op
from .shapes import broadcast_shapes, normalize_axes, normalize_axis
from .traversal import ancestors, clients, graph_inputs, rebuild, substitute, toposort
from .types import Shape, TensorType, as_shape, format_shape

__all__ = [
    "as_dtype", "float_of", "is_bool", "is_float", "is_integer", "promote",
    "DisconnectedGradientError", "DTypeError", "GraphcError", "ShapeError",
    "Node", "Op", "broadcast_shapes", "normalize_axes", "normalize_axis",
    "ancestors", "clients", "graph_inputs", "rebuild", "substitute", "toposort",
    "Shape", "TensorType", "as_shape", "format_shape",
]
