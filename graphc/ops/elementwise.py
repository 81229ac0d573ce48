"""Elementwise ops: one op class over the scalar functions' records, numpy broadcasting.

`Elemwise(fn)` applies the ScalarFn named `fn` (graphc/ops/scalar_fn.py); this module
holds the op, `Cast`, and the definitions of the arithmetic, comparison, logic and
rounding functions (transcendental.py holds exp, log, sin, erf and the like). A
definition is the whole of what graphc knows about a function.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..ir import DTypeError, Node, Op, TensorType, broadcast_shapes, float_of, promote
from ..ir.shapes import check_no_hidden_broadcast
from ..ir.dtypes import as_dtype, is_bool, is_float
from . import formula as F
from .convert import as_nodes
from .scalar_fn import SCALAR_FNS, GradRule, Lowering, ScalarFn, register
from .leaves import constant_value
from .shape import BroadcastTo, zeros_like
from .tangents import total


def _float_dtype(dtypes: Sequence[np.dtype]) -> np.dtype:
    return float_of(promote(*dtypes))


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
        rule = spec.dtype_rule
        if rule == "select" and not is_bool(inputs[0].dtype):
            raise DTypeError(f"{self.fn}: the condition must be bool, got {inputs[0].dtype}")
        if rule == "logical" and not all(is_bool(t.dtype) for t in inputs):
            raise DTypeError(f"{self.fn}: operands must be bool, got {[str(t.dtype) for t in inputs]}")
        operands = [t.dtype for t in (inputs[1:] if rule == "select" else inputs)]
        if rule in ("bool", "logical"):
            dtype = np.dtype(bool)
        elif rule == "float":
            dtype = _float_dtype(operands)
        else:
            dtype = promote(*operands)
        if not spec.takes_bool and is_bool(promote(*operands)):
            raise DTypeError(f"{self.fn}: bool operands are not supported (numpy has no bool {self.fn}); "
                             f"cast to an int or float dtype first{spec.bool_hint}")
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

        if self.scalar.grad is None:
            return [None] * len(node.inputs)
        raw = self.scalar.grad(node, grad, *node.inputs)
        return [
            None if r is None or not is_float(x.dtype) else cast(sum_to(r, x), x.dtype)
            for r, x in zip(raw, node.inputs)
        ]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        """sum_i df/dx_i * t_i. The Jacobian is diagonal, so the record's derivative serves
        both modes: called with t_i in place of the output's gradient, its i-th part is the
        i-th term. A zero derivative (floor, sign) gives no tangent rather than zeros, which
        would meet inf or nan partials downstream (sqrt(floor(x)) at 0.5: 0 / 0) where the
        vjp, which drops the gradient there, gives 0."""
        from .shape import broadcast_to

        rule = self.scalar.grad
        if rule is None or not is_float(node.dtype):
            return None
        terms = [rule(node, t, *node.inputs)[i] for i, t in enumerate(tangents) if t is not None]
        t = total([term for term in terms if not _is_zeros(term)])
        if t is None:
            return None
        t = cast(t, node.dtype)  # equal static shapes are equal when run: unknown sizes never broadcast
        return t if t.type.shape == node.type.shape else broadcast_to(t, node)


def _is_zeros(node: Optional[Node]) -> bool:
    """A zero constant, broadcast or not (what zeros_like builds)."""
    while node is not None and isinstance(node.op, BroadcastTo):
        node = node.inputs[0]
    value = None if node is None else constant_value(node)
    return value is not None and not np.any(value)


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

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return cast(tangents[0], self.dtype) if is_float(self.dtype) else None


def apply(fn: str, *operands: Any) -> Node:
    """Build `fn(*operands)`; Python scalars become constants of a fitting dtype."""
    return Node.make(Elemwise(fn), as_nodes(*operands))


def cast(x: Any, dtype: Any) -> Node:
    """`x` converted to `dtype` (no node when it already has it)."""
    (x,) = as_nodes(x)
    dtype = as_dtype(dtype)
    return x if x.dtype == dtype else Node.make(Cast(dtype), [x])


def define(name: str, arity: int, numpy: Callable[..., np.ndarray], dtype_rule: str,
           grad: Optional[GradRule], lower: Lowering, doc: str, public: Optional[str] = None,
           **traits: Any) -> Callable[..., Node]:
    """Register the elementwise function `name` (see ScalarFn for the fields) and return
    its graph builder, called `public` (default: `name`) with docstring `doc`."""
    register(ScalarFn(name, arity, numpy, dtype_rule, grad, lower, **traits))
    if arity == 1:
        def build(x: Any) -> Node:
            return apply(name, x)
    elif arity == 2:
        def build(x: Any, y: Any) -> Node:
            return apply(name, x, y)
    else:
        def build(*operands: Any) -> Node:
            return apply(name, *operands)

    build.__name__ = build.__qualname__ = public or name
    build.__doc__ = doc
    return build


# ---- definitions -------------------------------------------------------------------------
# Derivatives are written with graph operators; each returns raw gradients that the op
# then sums back to each input's shape. Formulas compute in the dtype the rule gives.

def _zero_grad(out: Node, g: Node, a: Node) -> tuple[Node]:
    """Piecewise constant: the derivative is 0 (at the jumps too, as PyTorch)."""
    return (zeros_like(g),)


def _pow_grad(out: Node, g: Node, a: Node, b: Node) -> tuple[Node, Node]:
    """d(a ** b): b * a ** (b - 1) and a ** b * log(a). In b it is 0 where a == 0 and b >= 0
    (the limit, and torch's rule), not 0 * log(0) = nan: log reads 1 there, so no nan is
    made at all (a where picking 0 would still compute it, and its gradient would be nan)."""
    from .transcendental import log

    zero_base = logical_and(eq(a, 0), ge(b, 0))
    return g * b * a ** (b - 1), g * out * log(where(zero_base, 1, a))


def _as_dtype_of(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """`fn` with its result in its operand's dtype (numpy < 2.1 gives floats for ints)."""
    return lambda x: fn(x).astype(x.dtype, copy=False)


add = define("add", 2, np.add, "same", lambda out, g, a, b: (g, g),
             lambda dt, a, b: F.binary("or", a, b) if dt == "bool" else a + b,  # numpy: True + True is True
             "x + y, broadcasting.", sympy=lambda sp, a, b: a + b, symbol="+", cheap=True)
sub = define("sub", 2, np.subtract, "same", lambda out, g, a, b: (g, -g), lambda dt, a, b: a - b,
             "x - y, broadcasting.", sympy=lambda sp, a, b: a - b, symbol="-", cheap=True, takes_bool=False)
mul = define("mul", 2, np.multiply, "same", lambda out, g, a, b: (g * b, g * a), lambda dt, a, b: a * b,
             "x * y, broadcasting.", sympy=lambda sp, a, b: a * b, symbol="*", cheap=True)
truediv = define("truediv", 2, np.true_divide, "float", lambda out, g, a, b: (g / b, -g * out / b),
                 lambda dt, a, b: a / b, "x / y, broadcasting (ints give float64, as numpy).",
                 sympy=lambda sp, a, b: a / b, cost=2, symbol="/")
power = define("pow", 2, np.power, "same", _pow_grad, lambda dt, a, b: F.binary("pow", a, b),
               "x ** y, broadcasting.", public="power", sympy=lambda sp, a, b: a ** b, cost=4,
               symbol="**", takes_bool=False)
maximum = define("maximum", 2, np.maximum, "same",
                 lambda out, g, a, b: (where(a >= b, g, 0), where(a >= b, 0, g)),
                 lambda dt, a, b: F.binary("max", a, b), "Elementwise maximum (gradient goes to x on ties).",
                 cheap=True)
minimum = define("minimum", 2, np.minimum, "same",
                 lambda out, g, a, b: (where(a <= b, g, 0), where(a <= b, 0, g)),
                 lambda dt, a, b: F.binary("min", a, b), "Elementwise minimum (gradient goes to x on ties).",
                 cheap=True)
neg = define("neg", 1, np.negative, "same", lambda out, g, a: (-g,), lambda dt, a: -a, "-x.",
             sympy=lambda sp, a: -a, symbol="-", cheap=True, takes_bool=False,
             bool_hint="; for a bool 'not' use ~x (logical_not)")
abs = define("abs", 1, np.abs, "same", lambda out, g, a: (g * sign(a),),  # noqa: A001 - the numpy name
             lambda dt, a: F.unary("abs", a), "Absolute value.", sympy="Abs", cheap=True)
sign = define("sign", 1, np.sign, "same", _zero_grad,
              lambda dt, a: F.select(a.gt(0), 1, F.select(a.lt(0), -1, a)),  # nan stays nan
              "Sign: -1, 0 or 1 (zero gradient).", cheap=True, takes_bool=False)
relu = define("relu", 1, lambda x: np.maximum(x, 0).astype(x.dtype), "same",
              lambda out, g, a: (where(out > 0, g, 0),),  # out, not a: the input need not be kept
              lambda dt, a: F.binary("max", a, 0), "max(x, 0); gradient 0 at 0, as PyTorch.", cheap=True)
floor = define("floor", 1, _as_dtype_of(np.floor), "same", _zero_grad, lambda dt, a: F.unary("floor", a),
               "The largest integer <= x (ints unchanged; zero gradient, as PyTorch).",
               sympy="floor", cheap=True)
ceil = define("ceil", 1, _as_dtype_of(np.ceil), "same", _zero_grad, lambda dt, a: F.unary("ceil", a),
              "The smallest integer >= x (ints unchanged; zero gradient, as PyTorch).",
              sympy="ceiling", cheap=True)
round = define("round", 1, np.round, "same", _zero_grad, lambda dt, a: F.unary("rint", a),  # noqa: A001
               "x rounded to the nearest integer, halves to even as numpy (zero gradient).",
               cheap=True, takes_bool=False)
reciprocal = define("reciprocal", 1, lambda x: np.true_divide(1, x), "float",
                    lambda out, g, a: (-g * out * out,), lambda dt, a: 1 / a, "1 / x (ints give float64, as x / y does; numpy's "
                    "integer reciprocal is not followed).", sympy=lambda sp, a: 1 / a, cost=2)


def _comparison(name: str, numpy: Callable[..., np.ndarray], symbol: str, doc: str = "") -> Callable[..., Node]:
    """A comparison: a bool result computed in the promoted operand dtype."""
    return define(name, 2, numpy, "bool", None, lambda dt, a, b: F.binary(name, a, b),
                  doc or f"x {symbol} y (bool).", symbol=symbol, cheap=True)


lt = _comparison("lt", np.less, "<")
le = _comparison("le", np.less_equal, "<=")
gt = _comparison("gt", np.greater, ">")
ge = _comparison("ge", np.greater_equal, ">=")
eq = _comparison("eq", np.equal, "==", "x == y (bool); nodes keep == for identity, so use this.")
ne = _comparison("ne", np.not_equal, "!=")
logical_and = define("logical_and", 2, np.logical_and, "logical", None, lambda dt, a, b: F.binary("and", a, b),
                     "Elementwise and of bool tensors.", symbol="&", cheap=True)
logical_or = define("logical_or", 2, np.logical_or, "logical", None, lambda dt, a, b: F.binary("or", a, b),
                    "Elementwise or of bool tensors.", symbol="|", cheap=True)
logical_not = define("logical_not", 1, np.logical_not, "logical", None, lambda dt, a: F.unary("not", a),
                     "Elementwise not of a bool tensor.", symbol="~", cheap=True)
logical_xor = define("logical_xor", 2, np.logical_xor, "bool", None,
                     lambda dt, a, b: F.binary("xor", a.ne(0), b.ne(0)),
                     "Elementwise exclusive or; as numpy, non-bool operands count as true where nonzero.",
                     cheap=True)
isnan = define("isnan", 1, np.isnan, "bool", None, lambda dt, a: a.ne(a),
               "Where x is nan (bool; all false for integers, as numpy).", cheap=True)
isfinite = define("isfinite", 1, np.isfinite, "bool", None, lambda dt, a: (a - a).eq(0),
                  "Where x is neither inf nor nan (bool; all true for integers, as numpy).", cheap=True)
define("where", 3, np.where, "select", lambda out, g, c, a, b: (None, where(c, g, 0), where(c, 0, g)),
       lambda dt, c, a, b: F.select(c, a, b), "Pick x where condition holds, else y.", cheap=True)


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


from .transcendental import *  # noqa: E402,F401,F403 - exp, log, sin, erf, ... (they build on the above)
