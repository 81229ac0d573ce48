"""The sympy bridge: elementwise subgraphs simplified as scalar algebra.

A region is a root (an elementwise node used by another kind of op, or an output) with
the elementwise nodes of its dtype that feed it. It becomes a sympy expression with one
real symbol per leaf (positive where graphc.simplify.match proves it, so sympy may use
log(a*b) = log(a) + log(b) only there). A few sympy transforms that pay for tensor code
give candidates; the one whose nodes cost least by an op-count cost model comes back,
when it costs less than the nodes it frees.

Compile time stays predictable: candidates are memoised by expression (sympy
expressions are structural, with leaves numbered in visiting order), regions above
MAX_REGION nodes are left alone, and a pass tries at most MAX_REGIONS regions. The
budget counts regions, not seconds, so a graph simplifies the same way however
loaded the machine is (the compiled code, and the disk cache, depend on it).

Policy FINITE: sympy's algebra holds for real numbers, so x - x becomes 0 even for inf.
Transforms that split exp(a + b) into exp(a) * exp(b) (cancel on expressions with exp)
could overflow and are not used there.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..ir import Node, clients, rebuild, toposort
from ..ir.dtypes import is_float
from ..ops.elementwise import SCALAR_FNS, Cast, Elemwise, apply
from ..ops.leaves import constant
from .match import fit, is_positive, scalar_value
from .trace import Firing, PhaseTrace

#: ScalarFn.sympy of a function sympy keeps as an opaque call (so it cannot rewrite it into
#: an unstable form); positive where ScalarFn.positive says so.
OPAQUE = "opaque"
MAX_REGION = 48
MAX_REGIONS = 600
#: Constants that are fractions with a larger denominator are leaves (see _ToSympy._number).
MAX_DENOMINATOR = 1024
RULE_NAME = "sympy"

_candidate_memo: dict[Any, tuple] = {}
_MEMO_LIMIT = 4096


class _Unsupported(Exception):
    """A sympy expression with no graphc equivalent."""


def op_cost(node: Node) -> int:
    """Per-element cost of one node: 1 for arithmetic, more for division and transcendentals."""
    if isinstance(node.op, Elemwise):
        if node.op.fn == "pow" and scalar_value(node.inputs[1]) in (2, -1):
            return 1
        return node.op.scalar.cost
    return 1 if isinstance(node.op, Cast) else 0


class _Sympy:
    """sympy, imported on first use (it takes a noticeable time to import)."""

    _module = None
    _opaque: dict[str, Any] = {}

    @classmethod
    def get(cls) -> Any:
        if cls._module is None:
            import sympy

            for spec in SCALAR_FNS.values():
                if spec.sympy != OPAQUE:
                    continue
                attrs = {"nargs": spec.arity, "_eval_is_real": lambda self: self.args[0].is_real or None}
                if spec.positive:
                    attrs["_eval_is_positive"] = lambda self: self.args[0].is_real or None
                cls._opaque[spec.name] = type(spec.name, (sympy.Function,), attrs)
            cls._module = sympy
        return cls._module


def _eligible(node: Node) -> bool:
    """An elementwise node sympy can read: a known function on one float dtype."""
    op = node.op
    return (isinstance(op, Elemwise) and op.scalar.sympy is not None and is_float(node.dtype)
            and all(i.dtype == node.dtype for i in node.inputs))


class _ToSympy:
    """One region as a sympy expression; its leaves numbered in visiting order."""

    def __init__(self, sp):
        self.sp = sp
        self.leaves: list[Node] = []
        self.symbols: dict[Any, Node] = {}
        self.memo: dict[Node, Any] = {}
        self.region: list[Node] = []

    def convert(self, node: Node, dtype: np.dtype) -> Any:
        if node in self.memo:
            return self.memo[node]
        if _eligible(node) and node.dtype == dtype:
            self.region.append(node)
            if len(self.region) > MAX_REGION:
                raise _Unsupported("region too large")
            args = [self.convert(i, dtype) for i in node.inputs]
            expr = self._apply(node.op.fn, args)
        else:
            expr = self._number(node)
            if expr is None:
                expr = self._leaf(node)
        self.memo[node] = expr
        return expr

    def _apply(self, fn: str, args: list) -> Any:
        form = SCALAR_FNS[fn].sympy
        if callable(form):
            return form(self.sp, *args)
        if form == OPAQUE:
            return _Sympy._opaque[fn](*args)
        return getattr(self.sp, form)(*args)

    def _number(self, node: Node) -> Any:
        """A one-element finite constant as an exact sympy number, else None (a leaf). Only
        small fractions are numbers: a float such as 0.9f is 7549747/8388608 exactly, and
        sympy's algebra on such fractions costs far more than it finds; as a leaf, its
        region is also the same expression (one memo entry) whatever the constant."""
        value = scalar_value(node)
        if node.type.size != 1 or value is None or isinstance(value, bool) or not np.isfinite(value):
            return None
        if float(value).is_integer():
            return self.sp.Integer(int(value))
        exact = self.sp.Rational(float(value))
        return exact if exact.q <= MAX_DENOMINATOR else None

    def _leaf(self, node: Node) -> Any:
        symbol = self.sp.Symbol(f"x{len(self.leaves)}", real=True, positive=is_positive(node) or None)
        self.leaves.append(node)
        self.symbols[symbol] = node
        return symbol


def _named_functions(sp) -> dict[Any, str]:
    """sympy's function classes that read back as a graphc function, by ScalarFn.sympy
    names (Abs -> abs; sympy's sqrt is a power, not a class)."""
    named = {}
    for fn, spec in SCALAR_FNS.items():
        if isinstance(spec.sympy, str) and spec.sympy != OPAQUE:
            cls = getattr(sp, spec.sympy)
            if isinstance(cls, type):
                named[cls] = fn
    return named


class _FromSympy:
    """A sympy expression as nodes of `dtype`, written the way the backend runs fastest."""

    def __init__(self, sp, leaves: dict, dtype: np.dtype):
        self.sp, self.leaves, self.dtype = sp, leaves, dtype
        self.memo: dict[Any, Node] = {}
        self.functions = _named_functions(sp)
        self.functions.update({f: fn for fn, f in _Sympy._opaque.items()})

    def build(self, expr: Any) -> Node:
        if expr not in self.memo:
            self.memo[expr] = self._build(expr)
        return self.memo[expr]

    def _const(self, value: Any) -> Node:
        v = float(value)
        if not np.isfinite(v):
            raise _Unsupported(f"non-finite constant {value}")
        return constant(np.asarray(v, dtype=self.dtype))

    def _build(self, expr: Any) -> Node:
        sp = self.sp
        if expr.is_Symbol:
            return self.leaves[expr]
        if expr.is_Number:
            return self._const(expr)
        if expr.is_Add:
            return self._sum(expr.args)
        if expr.is_Mul:
            return self._product(expr)
        if expr.is_Pow:
            return self._power(expr.base, expr.exp)
        fn = self.functions.get(expr.func)
        if fn is None or len(expr.args) != 1:
            raise _Unsupported(str(expr.func))
        return apply(fn, self.build(expr.args[0]))

    def _sum(self, terms) -> Node:
        plus = [t for t in terms if not t.could_extract_minus_sign()]
        minus = [-t for t in terms if t.could_extract_minus_sign()]
        total = self.build(plus[0]) if plus else apply("neg", self.build(minus.pop(0)))
        for t in plus[1:]:
            total = apply("add", total, self.build(t))
        for t in minus:
            total = apply("sub", total, self.build(t))
        return total

    def _product(self, expr) -> Node:
        coeff, factors = expr.as_coeff_mul()
        if coeff == -1:
            return apply("neg", self.build(-expr))
        numer = [f for f in factors if not (f.is_Pow and f.exp.is_negative)]
        denom = [f.base ** -f.exp for f in factors if f.is_Pow and f.exp.is_negative]
        parts = ([self._const(coeff)] if coeff != 1 else []) + [self.build(f) for f in numer]
        top = parts[0] if parts else self._const(1)
        for p in parts[1:]:
            top = apply("mul", top, p)
        if not denom:
            return top
        bottom = self.build(denom[0])
        for d in denom[1:]:
            bottom = apply("mul", bottom, self.build(d))
        return apply("truediv", top, bottom)

    def _power(self, base, exponent) -> Node:
        sp = self.sp
        b = self.build(base)
        if exponent == 2:
            return apply("mul", b, b)
        if exponent == sp.Rational(1, 2):
            return apply("sqrt", b)
        if exponent.is_Number and exponent < 0:
            return apply("truediv", self._const(1), self._power(base, -exponent))
        if exponent == 1:
            return b
        return apply("pow", b, self.build(exponent))


def _splits_exp(sp, expr) -> bool:
    """Whether polynomial transforms might split exp(a + b) or x**(a + b) into products."""
    return expr.has(sp.exp) or any(not p.exp.is_Number for p in expr.atoms(sp.Pow))


def candidates(expr: Any) -> tuple:
    """Distinct rewrites of `expr` worth costing (memoised by expression)."""
    found = _candidate_memo.get(expr)
    if found is not None:
        return found
    sp = _Sympy.get()
    transforms = [sp.factor_terms, sp.together, sp.powsimp, sp.expand_log,
                  lambda e: sp.factor_terms(sp.together(e))]
    if not _splits_exp(sp, expr):
        transforms += [sp.cancel, lambda e: sp.factor_terms(sp.cancel(e))]
    results = [expr]
    for transform in transforms:
        try:
            result = transform(expr)
        except Exception:  # noqa: BLE001 - a transform sympy cannot do is just not a candidate
            continue
        if result not in results:
            results.append(result)
    if len(_candidate_memo) >= _MEMO_LIMIT:
        _candidate_memo.clear()
    _candidate_memo[expr] = found = tuple(results)
    return found


def _exclusive(root: Node, region: list[Node], users: dict[Node, list[Node]]) -> set[Node]:
    """The region's nodes that only feed `root`: they die when `root` is replaced."""
    inside = set(region)
    order: list[Node] = []  # the region, each node after its clients
    seen: set[Node] = set()

    def visit(node: Node) -> None:
        seen.add(node)
        for i in node.inputs:
            if i in inside and i not in seen:
                visit(i)
        order.append(node)

    visit(root)
    dying = {root}
    for node in reversed(order[:-1]):
        if all(c in dying for c in users[node]):
            dying.add(node)
    return dying


def _added_cost(node: Node, free: set[Node], freed: set[Node]) -> int:
    """Cost of computing `node` when the nodes in `free` (but not `freed`) exist anyway."""
    cost, seen, stack = 0, set(), [node]
    while stack:
        n = stack.pop()
        if n in seen or (n in free and n not in freed):
            continue
        seen.add(n)
        cost += op_cost(n)
        stack.extend(n.inputs)
    return cost


class SympyPass:
    """The bridge as a global pass of a phase: (outputs, trace) -> outputs."""

    def __call__(self, outputs: list[Node], trace: PhaseTrace) -> list[Node]:
        order = toposort(outputs)
        users = clients(outputs)
        existing = set(order)
        ends = set(outputs)
        tried = 0
        replacements: dict[Node, Node] = {}
        for root in order:
            if not _eligible(root) or not (root in ends or any(not _eligible(c) for c in users[root])):
                continue
            if tried == MAX_REGIONS:
                trace.note(f"sympy: budget of {MAX_REGIONS} regions spent; left the remaining regions")
                break
            tried += 1
            better = self._improve(_Sympy.get(), root, users, existing)  # sympy loads only when needed
            if better is not None:
                replacements[root] = better
                trace.firings.append(Firing(RULE_NAME, root, better))
        return rebuild(outputs, replacements) if replacements else outputs

    def _improve(self, sp, root: Node, users, existing: set[Node]) -> Optional[Node]:
        reader = _ToSympy(sp)
        try:
            expr = reader.convert(root, root.dtype)
        except _Unsupported:
            return None
        if len(reader.region) < 2:
            return None
        dying = _exclusive(root, reader.region, users)
        best, best_cost = None, sum(op_cost(n) for n in dying)
        template = next((leaf for leaf in reader.leaves if leaf.type.shape == root.type.shape), None)
        writer = _FromSympy(sp, reader.symbols, root.dtype)
        for candidate in candidates(expr):
            try:
                node = fit(writer.build(candidate), root, template)
            except _Unsupported:
                continue
            if node is None or node is root:
                continue
            cost = _added_cost(node, existing, dying)
            if cost < best_cost:
                best, best_cost = node, cost
        return best
