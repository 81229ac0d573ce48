"""Elementwise ops: one op class over a table of scalar functions, numpy broadcasting.

Each scalar function is one entry: its arity, dtype rule, numpy reference and
derivative (in graph ops). The simplifier and the backends read the same table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, TensorType, broadcast_shapes, float_of, promote
from ..ir.shapes import check_no_hidden_broadcast
from ..ir.dtypes import as_dtype, is_bool, is_float
from .convert import as_nodes
from .shape import zeros_like

GradRule = Callable[..., Sequence[Optional[Node]]]


@dataclass(frozen=True)
class ScalarFn:
    """A scalar function applied elementwise."""

    arity: int
    numpy: Callable[..., np.ndarray]
    dtype_rule: str  # "same": promoted inputs; "float": float of promoted; "bool": bool
    grad: Optional[GradRule]  # (out, g, *inputs) -> gradient per input (None: zero)
    takes_bool: bool = True  # False where numpy has no all-bool version (-b, b - b, sign) or gives int8 (b ** b)


def _float_dtype(dtypes: Sequence[np.dtype]) -> np.dtype:
    return float_of(promote(*dtypes))


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _stable_softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _pow_grad(out: Node, g: Node, a: Node, b: Node) -> tuple[Node, Node]:
    """d(a ** b): b * a ** (b - 1) and a ** b * log(a). In b it is 0 where a == 0 and b >= 0
    (the limit, and torch's rule), not 0 * log(0) = nan: log reads 1 there, so no nan is
    made at all (a where picking 0 would still compute it, and its gradient would be nan)."""
    zero_base = logical_and(eq(a, 0), ge(b, 0))
    return g * b * a ** (b - 1), g * out * log(where(zero_base, 1, a))


SCALAR_FNS: dict[str, ScalarFn] = {}


def _define(name: str, arity: int, numpy_fn, dtype_rule: str, grad: Optional[GradRule],
            takes_bool: bool = True) -> None:
    SCALAR_FNS[name] = ScalarFn(arity, numpy_fn, dtype_rule, grad, takes_bool)


# Derivatives are written with graph operators; each returns raw gradients that the op
# then sums back to each input's shape.
_define("add", 2, np.add, "same", lambda out, g, a, b: (g, g))
_define("sub", 2, np.subtract, "same", lambda out, g, a, b: (g, -g), takes_bool=False)
_define("mul", 2, np.multiply, "same", lambda out, g, a, b: (g * b, g * a))
_define("truediv", 2, np.true_divide, "float", lambda out, g, a, b: (g / b, -g * out / b))
_define("pow", 2, np.power, "same", _pow_grad, takes_bool=False)
_define("maximum", 2, np.maximum, "same",
        lambda out, g, a, b: (where(a >= b, g, 0), where(a >= b, 0, g)))
_define("minimum", 2, np.minimum, "same",
        lambda out, g, a, b: (where(a <= b, g, 0), where(a <= b, 0, g)))
_define("neg", 1, np.negative, "same", lambda out, g, a: (-g,), takes_bool=False)
_define("exp", 1, np.exp, "float", lambda out, g, a: (g * out,))
_define("log", 1, np.log, "float", lambda out, g, a: (g / a,))
_define("log1p", 1, np.log1p, "float", lambda out, g, a: (g / (a + 1),))
_define("expm1", 1, np.expm1, "float", lambda out, g, a: (g * (out + 1),))
_define("sqrt", 1, np.sqrt, "float", lambda out, g, a: (g * 0.5 / out,))
_define("abs", 1, np.abs, "same", lambda out, g, a: (g * sign(a),))
_define("sign", 1, np.sign, "same", lambda out, g, a: (zeros_like(g),), takes_bool=False)
_define("relu", 1, lambda x: np.maximum(x, 0).astype(x.dtype), "same",
        lambda out, g, a: (where(out > 0, g, 0),))  # out, not a: the input need not be kept
_define("sigmoid", 1, _stable_sigmoid, "float", lambda out, g, a: (g * out * (1 - out),))
_define("tanh", 1, np.tanh, "float", lambda out, g, a: (g * (1 - out * out),))
_define("softplus", 1, _stable_softplus, "float", lambda out, g, a: (g * sigmoid(a),))
_define("where", 3, np.where, "same",
        lambda out, g, c, a, b: (None, where(c, g, 0), where(c, 0, g)))
for _name, _fn in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    _define(_name, 2, _fn, "bool", lambda out, g, a, b: (None, None))
_define("logical_and", 2, np.logical_and, "bool", lambda out, g, a, b: (None, None))
_define("logical_or", 2, np.logical_or, "bool", lambda out, g, a, b: (None, None))
_define("logical_not", 1, np.logical_not, "bool", lambda out, g, a: (None,))


@dataclass(frozen=True)
class Elemwise(Op):
    """Apply the scalar function `fn` elementwise with numpy broadcasting."""

    fn: str
    elementwise = True

    @property
    def name(self) -> str:
        return self.fn

    def params_str(self) -> str:
        return ""

    @property
    def scalar(self) -> ScalarFn:
        return SCALAR_FNS[self.fn]

    def infer_type(self, *inputs: TensorType) -> TensorType:
        spec = self.scalar
        if len(inputs) != spec.arity:
            raise TypeError(f"{self.fn}: takes {spec.arity} inputs, got {len(inputs)}")
        shape = broadcast_shapes(self.fn, *(t.shape for t in inputs))
        operands = inputs[1:] if self.fn == "where" else inputs
        if self.fn == "where" and not is_bool(inputs[0].dtype):
            raise DTypeError(f"where: the condition must be bool, got {inputs[0].dtype}")
        if self.fn.startswith("logical") and not all(is_bool(t.dtype) for t in inputs):
            raise DTypeError(f"{self.fn}: operands must be bool, got {[str(t.dtype) for t in inputs]}")
        dtypes = [t.dtype for t in operands]
        if spec.dtype_rule == "bool":
            dtype = np.dtype(bool)
        elif spec.dtype_rule == "float":
            dtype = _float_dtype(dtypes)
        else:
            dtype = promote(*dtypes)
        if is_bool(dtype) and not spec.takes_bool:
            hint = "; for a bool 'not' use ~x (logical_not)" if self.fn == "neg" else ""
            raise DTypeError(f"{self.fn}: bool operands are not supported (numpy has no bool {self.fn}); "
                             f"cast to an int or float dtype first{hint}")
        return TensorType(dtype, shape)

    def reference(self, *inputs: np.ndarray) -> np.ndarray:
        if self.scalar.dtype_rule == "float":  # compute in the result dtype (bool: float32, not float16)
            dtype = _float_dtype([x.dtype for x in inputs])
            inputs = tuple(x.astype(dtype, copy=False) for x in inputs)
        return self.scalar.numpy(*inputs)

    def check_run_time(self, node: Node, input_shapes: Sequence[tuple[int, ...]]) -> None:
        check_no_hidden_broadcast(self.fn, [i.type.shape for i in node.inputs], input_shapes)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        from .reduce import sum_to  # reduce builds on this module

        raw = self.scalar.grad(node, grad, *node.inputs)
        return [
            None if r is None or not is_float(x.dtype) else cast(sum_to(r, x), x.dtype)
            for r, x in zip(raw, node.inputs)
        ]


@dataclass(frozen=True)
class Cast(Op):
    """Convert to `dtype` as numpy's astype does."""

    dtype: np.dtype
    elementwise = True

    def params_str(self) -> str:
        return self.dtype.name

    def infer_type(self, x: TensorType) -> TensorType:
        return TensorType(self.dtype, x.shape)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        x = node.inputs[0]
        return [cast(grad, x.dtype) if is_float(x.dtype) and is_float(self.dtype) else None]


def apply(fn: str, *operands: Any) -> Node:
    """Build `fn(*operands)`; Python scalars become constants of a fitting dtype."""
    return Node.make(Elemwise(fn), as_nodes(*operands))


def cast(x: Any, dtype: Any) -> Node:
    """`x` converted to `dtype` (no node when it already has it)."""
    (x,) = as_nodes(x)
    dtype = as_dtype(dtype)
    return x if x.dtype == dtype else Node.make(Cast(dtype), [x])


def _unary(fn: str, doc: str) -> Callable[[Any], Node]:
    def op(x: Any) -> Node:
        return apply(fn, x)

    op.__name__ = op.__qualname__ = fn
    op.__doc__ = doc
    return op


def _binary(fn: str, doc: str) -> Callable[[Any, Any], Node]:
    def op(x: Any, y: Any) -> Node:
        return apply(fn, x, y)

    op.__name__ = op.__qualname__ = fn
    op.__doc__ = doc
    return op


add = _binary("add", "x + y, broadcasting.")
sub = _binary("sub", "x - y, broadcasting.")
mul = _binary("mul", "x * y, broadcasting.")
truediv = _binary("truediv", "x / y, broadcasting (ints give float64, as numpy).")
power = _binary("pow", "x ** y, broadcasting.")
maximum = _binary("maximum", "Elementwise maximum (gradient goes to x on ties).")
minimum = _binary("minimum", "Elementwise minimum (gradient goes to x on ties).")
lt = _binary("lt", "x < y (bool).")
le = _binary("le", "x <= y (bool).")
gt = _binary("gt", "x > y (bool).")
ge = _binary("ge", "x >= y (bool).")
eq = _binary("eq", "x == y (bool); nodes keep == for identity, so use this.")
ne = _binary("ne", "x != y (bool).")
logical_and = _binary("logical_and", "Elementwise and of bool tensors.")
logical_or = _binary("logical_or", "Elementwise or of bool tensors.")
logical_not = _unary("logical_not", "Elementwise not of a bool tensor.")
neg = _unary("neg", "-x.")
exp = _unary("exp", "e ** x.")
log = _unary("log", "Natural logarithm.")
log1p = _unary("log1p", "log(1 + x), accurate for small x.")
expm1 = _unary("expm1", "exp(x) - 1, accurate for small x.")
sqrt = _unary("sqrt", "Square root.")
abs = _unary("abs", "Absolute value.")  # noqa: A001 - the numpy name
sign = _unary("sign", "Sign: -1, 0 or 1 (zero gradient).")
relu = _unary("relu", "max(x, 0); gradient 0 at 0, as PyTorch.")
sigmoid = _unary("sigmoid", "1 / (1 + exp(-x)), computed without overflow.")
tanh = _unary("tanh", "Hyperbolic tangent.")
softplus = _unary("softplus", "log(1 + exp(x)), computed without overflow.")


def where(condition: Any, x: Any, y: Any) -> Node:
    """Pick `x` where `condition` holds, else `y` (broadcasting)."""
    cond, = as_nodes(condition)
    a, b = as_nodes(x, y)
    return Node.make(Elemwise("where"), [cond, a, b])


def clip(x: Any, lo: Any, hi: Any) -> Node:
    """Limit `x` to [lo, hi]."""
    return minimum(maximum(x, lo), hi)


def square(x: Any) -> Node:
    """x * x."""
    return mul(x, x)
