"""`pprint`: a graph as readable infix math with only the parentheses it needs.

Precedence and associativity are Python's, so the text reads the way it parses:
`a - (b - c)` keeps its parentheses, `a * b * c` is `(a * b) * c`, `**` groups to the
right, `-x ** 2` is `-(x ** 2)`. Other ops print as calls with their parameters
(`sum(x, axis=1)`). Non-leaf nodes used more than once are named and defined once
after the expression (`where t1 = ...`), so gradient graphs, which share a lot, print
in text linear in their size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

from ..ir import Node, toposort
from ..ops.elementwise import Elemwise
from ..ops.indexing import GetItem, ScatterInto, format_index
from ..ops.leaves import Constant
from ..ops.matmul import MatMul
from ..ops.reduce import LogSumExp, Reduce
from ..ops.shape import BroadcastTo, Concatenate, ExpandDims, Reshape, Squeeze, Transpose
from .text import (
    as_outputs, format_constant, format_value, fresh_names, leaf_names, param_text,
)

# How tightly each form binds, loosest first (Python's order).
CMP, OR, AND, ADD, MUL, UNARY, POW, ATOM = range(1, 9)

#: How tightly Python binds each binary operator an elementwise function prints as
#: (its ScalarFn.symbol); one-operand functions with a symbol print it as a prefix.
BINARY_PRECEDENCE = {
    "+": ADD, "-": ADD, "*": MUL, "/": MUL, "**": POW, "&": AND, "|": OR,
    "<": CMP, "<=": CMP, ">": CMP, ">=": CMP, "==": CMP, "!=": CMP,
}

#: Text pieces; a node piece stands for that node's text (or its name, if it has one).
Part = Union[str, Node]
Precedence = Callable[[Node], int]


@dataclass
class Fragment:
    """One node's text as pieces, and how tightly it binds."""

    prec: int
    parts: list[Part]


def pprint(expr_or_list: Node | Sequence[Node]) -> str:
    """Readable math for one expression, or one numbered line per output of a list.

    Shared non-trivial subexpressions are named `t1, t2, ...` and defined in order, each
    after those it uses, in a `where` block at the end.
    """
    outputs, single = as_outputs(expr_or_list)
    order = toposort(outputs)
    names = leaf_names(order)
    uses = _use_counts(order, outputs)
    named = [n for n in order if n.inputs and uses[n] > 1]
    names.update(zip(named, fresh_names(names.values())))

    fragments: dict[Node, Fragment] = {}

    def prec(node: Node) -> int:
        return ATOM if node in names else fragments[node].prec

    for node in order:
        if node.inputs or node not in names:  # named leaves are just their name
            fragments[node] = _render(node, prec)

    def line(node: Node) -> str:
        return names[node] if node in names else _emit(node, fragments, names)

    if single:
        lines = [line(o) for o in outputs]
    else:
        lines = [f"[{i}] {line(o)}" for i, o in enumerate(outputs)]
    for i, node in enumerate(named):
        keyword = "where" if i == 0 else "     "
        lines.append(f"{keyword} {names[node]} = {_emit(node, fragments, names)}")
    return "\n".join(lines)


def _use_counts(order: list[Node], outputs: list[Node]) -> dict[Node, int]:
    """How often each node is read: once per input slot of its users, once per output."""
    uses = dict.fromkeys(order, 0)
    for node in order:
        for i in node.inputs:
            uses[i] += 1
    for o in outputs:
        uses[o] += 1
    return uses


def _emit(root: Node, fragments: dict[Node, Fragment], names: dict[Node, str]) -> str:
    """Expand `root`'s pieces into text (iteratively: chains may be deeper than the stack)."""
    out: list[str] = []
    stack = list(reversed(fragments[root].parts))
    while stack:
        part = stack.pop()
        if isinstance(part, str):
            out.append(part)
        elif part in names:
            out.append(names[part])
        else:
            stack.extend(reversed(fragments[part].parts))
    return "".join(out)


def _render(node: Node, prec: Precedence) -> Fragment:
    render = RENDERERS.get(type(node.op), _generic)
    return render(node, prec)


# ---- the forms -------------------------------------------------------------------------


def _wrap(node: Node, parens: bool) -> list[Part]:
    return ["(", node, ")"] if parens else [node]


def _infix(node: Node, symbol: str, p: int, prec: Precedence) -> Fragment:
    """Left-associative binary operators; `**` groups right and comparisons do not chain.

    A negation on the right keeps its parentheses for the reader: `a - (-b)`, `a ** (-1)`.
    """
    a, b = node.inputs
    left_parens = prec(a) <= p if p in (POW, CMP) else prec(a) < p
    right_parens = prec(b) == UNARY or (prec(b) < p if p == POW else prec(b) <= p)
    return Fragment(p, [*_wrap(a, left_parens), f" {symbol} ", *_wrap(b, right_parens)])


def _prefix(node: Node, symbol: str, prec: Precedence) -> Fragment:
    (a,) = node.inputs
    return Fragment(UNARY, [symbol, *_wrap(a, prec(a) <= UNARY)])


def _postfix(node: Node, suffix: str, prec: Precedence) -> Fragment:
    x = node.inputs[0]
    return Fragment(ATOM, [*_wrap(x, prec(x) < ATOM), suffix])


def _call(name: str, args: Sequence[list[Part]], params: Sequence[str] = ()) -> Fragment:
    """`name(arg, ..., param, ...)`."""
    items = [*args, *([p] for p in params)]
    parts: list[Part] = [name, "("]
    for i, item in enumerate(items):
        parts += [", ", *item] if i else item
    return Fragment(ATOM, parts + [")"])


def _shape_of(node: Node, prec: Precedence) -> list[Part]:
    return [*_wrap(node, prec(node) < ATOM), ".shape"]


def _axes_text(axes: tuple[int, ...]) -> str:
    return format_value(axes[0] if len(axes) == 1 else axes)


def _elemwise(node: Node, prec: Precedence) -> Fragment:
    symbol = node.op.scalar.symbol
    if symbol is None:
        return _call(node.op.fn, [[i] for i in node.inputs])
    if len(node.inputs) == 1:
        return _prefix(node, symbol, prec)
    return _infix(node, symbol, BINARY_PRECEDENCE[symbol], prec)


def _reduction(node: Node, prec: Precedence) -> Fragment:
    """`sum(x)`, `max(x, axis=1)`, `logsumexp(x, axis=(0, 2), keepdims=True)`."""
    op, x = node.op, node.inputs[0]
    params = [] if op.axes == tuple(range(x.ndim)) else [f"axis={_axes_text(op.axes)}"]
    return _call(op.name, [[x]], params + (["keepdims=True"] if op.keepdims else []))


def _getitem(node: Node, prec: Precedence) -> Fragment:
    items = list(node.op.items)
    while items and items[-1] == ("slice", None, None, None):
        items.pop()  # x[0, :] is x[0]
    return _postfix(node, f"[{format_index(items)}]", prec)


def _scatter_into(node: Node, prec: Precedence) -> Fragment:
    g, template = node.inputs
    return _call("scatter_into", [[g], _shape_of(template, prec)], [f"[{node.op.params_str()}]"])


def _transpose(node: Node, prec: Precedence) -> Fragment:
    perm = node.op.perm
    if perm == tuple(reversed(range(len(perm)))):
        return _postfix(node, ".T", prec)
    return _call("transpose", [[node.inputs[0]]], [format_value(perm)])


def _to_shape(node: Node, prec: Precedence) -> Fragment:
    """`reshape(x, (2, 3))`, or `broadcast_to(g, x.shape)` when the target comes from x."""
    x, *template = node.inputs
    target = _shape_of(template[0], prec) if template else [format_value(node.op.shape)]
    return _call(node.op.name, [[x], target])


def _axes_call(node: Node, prec: Precedence) -> Fragment:
    op = node.op
    return _call(op.name, [[node.inputs[0]]], [_axes_text(op.axes)])


def _concatenate(node: Node, prec: Precedence) -> Fragment:
    parts: list[Part] = ["concatenate(["]
    for i, x in enumerate(node.inputs):
        parts += [", ", x] if i else [x]
    return Fragment(ATOM, parts + [f"], axis={node.op.axis})"])


def _constant(node: Node, prec: Precedence) -> Fragment:
    text = format_constant(node.op.value)
    return Fragment(UNARY if text.startswith("-") else ATOM, [text])


def _generic(node: Node, prec: Precedence) -> Fragment:
    """Any other op: `name(inputs, params)`, shape-only inputs as `x.shape`."""
    op = node.op
    args = [_shape_of(x, prec) if i in op.shape_only_inputs else [x]
            for i, x in enumerate(node.inputs)]
    params = param_text(op)
    return _call(op.name, args, [params] if params else [])


RENDERERS: dict[type, Callable[[Node, Precedence], Fragment]] = {
    Elemwise: _elemwise,
    MatMul: lambda node, prec: _infix(node, "@", MUL, prec),
    Reduce: _reduction, LogSumExp: _reduction,
    GetItem: _getitem, ScatterInto: _scatter_into,
    Transpose: _transpose,
    Reshape: _to_shape, BroadcastTo: _to_shape,
    ExpandDims: _axes_call, Squeeze: _axes_call,
    Concatenate: _concatenate,
    Constant: _constant,
}
