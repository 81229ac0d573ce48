"""Errors raised while building graphs: each names the op and what it expected."""


class GraphcError(Exception):
    """Base class of graphc's own errors."""


class ShapeError(GraphcError, ValueError):
    """Operand shapes do not fit the op (raised when the node is built)."""


class DTypeError(GraphcError, TypeError):
    """Operand dtypes do not fit the op (raised when the node is built)."""


class DisconnectedGradientError(GraphcError, ValueError):
    """`grad` was asked for a variable the cost does not depend on."""
