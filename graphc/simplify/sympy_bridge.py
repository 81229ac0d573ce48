"""The sympy bridge: elementwise subgraphs simplified as scalar algebra.

A region (graphc.simplify.region) is a root (an elementwise node used by another kind of
op, or an output) with the elementwise nodes of its dtype that feed it. It becomes a sympy
expression with one real symbol per leaf (positive where graphc.simplify.match proves it,
so sympy may use log(a*b) = log(a) + log(b) only there). A few sympy transforms that pay
for tensor code give candidates; the one whose nodes cost least by an op-count cost model
comes back, when it costs less than the nodes it frees.

Compile time stays predictable: the sympy work is done once per region key (regions equal
up to their leaves share it: the expression, its candidates, the nodes they build, replayed
over each region's own leaves, and whether every candidate builds back to the region
itself, when there is nothing to cost), candidates are memoised by expression (sympy
expressions are structural, with leaves numbered in visiting order), read-once formulas
skip the transforms (`_read_once`), regions above MAX_REGION nodes are left alone, and a
pass tries at most MAX_REGIONS regions. The budget counts regions, not seconds, so a graph
simplifies the same way however loaded the machine is (the compiled code, and the disk
cache, depend on it). A pass's replacements are substituted inside each other
(`_substitute`), so no replaced root stays in the graph.

Policy FINITE: sympy's algebra holds for real numbers, so x - x becomes 0 even for inf.
Transforms that split exp(a + b) into exp(a) * exp(b) (cancel on expressions with exp)
could overflow and are not used there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import numpy as np

from ..ir import Node, clients, toposort
from ..ops.elementwise import SCALAR_FNS, Cast, Elemwise, apply
from ..ops.leaves import constant
from .match import fit, scalar_value
from .region import Region, eligible, read_region
from .trace import Firing, PhaseTrace

#: ScalarFn.sympy of a function sympy keeps as an opaque call (so it cannot rewrite it into
#: an unstable form); positive where ScalarFn.positive says so.
OPAQUE = "opaque"
MAX_REGIONS = 600
RULE_NAME = "sympy"

_candidate_memo: dict[Any, tuple] = {}
_plans: dict[tuple, "_Plan"] = {}
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
    #: sympy's function classes that read back as graphc functions (see _named_functions)
    functions: dict[Any, str] = {}

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
            cls.functions = _named_functions(sympy)
            cls.functions.update({f: fn for fn, f in cls._opaque.items()})
            cls._module = sympy
        return cls._module


def to_sympy(sp, region: Region) -> tuple[Any, list]:
    """The region as a sympy expression, and its leaves' symbols (x0, x1, ... in visiting order)."""
    values: list = []
    symbols: list = []
    for step in region.steps:
        if step.fn is not None:
            values.append(_apply(sp, step.fn, [values[a] for a in step.args]))
        elif step.leaf < 0:
            values.append(sp.Integer(step.number) if isinstance(step.number, int)
                          else sp.Rational(step.number.numerator, step.number.denominator))
        else:
            symbols.append(sp.Symbol(f"x{step.leaf}", real=True, positive=step.positive or None))
            values.append(symbols[-1])
    return values[-1], symbols


def _apply(sp, fn: str, args: list) -> Any:
    form = SCALAR_FNS[fn].sympy
    if callable(form):
        return form(sp, *args)
    if form == OPAQUE:
        return _Sympy._opaque[fn](*args)
    return getattr(sp, form)(*args)


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
    """A sympy expression as nodes of `dtype`, written the way the backend runs fastest.

    Every node it makes is recorded in `steps` as (op, inputs), an input being a step's
    index or, negative, a leaf's (-1 for the first): `_candidate_nodes` makes the same
    nodes, in the same order, over the leaves of another region with the same key, without
    sympy."""

    def __init__(self, sp, symbols: list, leaves: list[Node], dtype: np.dtype, steps: list):
        self.sp, self.dtype, self.steps = sp, dtype, steps
        self.leaves = dict(zip(symbols, leaves))
        self.refs: dict[Node, int] = {leaf: -1 - k for k, leaf in enumerate(leaves)}
        self.memo: dict[Any, Node] = {}
        self.functions = _Sympy.functions

    def _made(self, node: Node, inputs: tuple[Node, ...] = ()) -> Node:
        """`node`, made of `inputs`, recorded as a step."""
        self.steps.append((node.op, tuple(self.refs[i] for i in inputs)))
        self.refs[node] = len(self.steps) - 1
        return node

    def _apply(self, fn: str, *inputs: Node) -> Node:
        return self._made(apply(fn, *inputs), inputs)

    def build(self, expr: Any) -> Node:
        if expr not in self.memo:
            self.memo[expr] = self._build(expr)
        return self.memo[expr]

    def _const(self, value: Any) -> Node:
        v = float(value)
        if not np.isfinite(v):
            raise _Unsupported(f"non-finite constant {value}")
        return self._made(constant(np.asarray(v, dtype=self.dtype)))

    def _build(self, expr: Any) -> Node:
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
        return self._apply(fn, self.build(expr.args[0]))

    def _sum(self, terms) -> Node:
        plus = [t for t in terms if not t.could_extract_minus_sign()]
        minus = [-t for t in terms if t.could_extract_minus_sign()]
        total = self.build(plus[0]) if plus else self._apply("neg", self.build(minus.pop(0)))
        for t in plus[1:]:
            total = self._apply("add", total, self.build(t))
        for t in minus:
            total = self._apply("sub", total, self.build(t))
        return total

    def _product(self, expr) -> Node:
        coeff, factors = expr.as_coeff_mul()
        if coeff == -1:
            return self._apply("neg", self.build(-expr))
        numer = [f for f in factors if not (f.is_Pow and f.exp.is_negative)]
        denom = [f.base ** -f.exp for f in factors if f.is_Pow and f.exp.is_negative]
        parts = ([self._const(coeff)] if coeff != 1 else []) + [self.build(f) for f in numer]
        top = parts[0] if parts else self._const(1)
        for p in parts[1:]:
            top = self._apply("mul", top, p)
        if not denom:
            return top
        bottom = self.build(denom[0])
        for d in denom[1:]:
            bottom = self._apply("mul", bottom, self.build(d))
        return self._apply("truediv", top, bottom)

    def _power(self, base, exponent) -> Node:
        sp = self.sp
        b = self.build(base)
        if exponent == 2:
            return self._apply("mul", b, b)
        if exponent == sp.Rational(1, 2):
            return self._apply("sqrt", b)
        if exponent.is_Number and exponent < 0:
            return self._apply("truediv", self._const(1), self._power(base, -exponent))
        if exponent == 1:
            return b
        return self._apply("pow", b, self.build(exponent))


def _splits_exp(sp, expr) -> bool:
    """Whether polynomial transforms might split exp(a + b) or x**(a + b) into products."""
    return expr.has(sp.exp) or any(not p.exp.is_Number for p in expr.atoms(sp.Pow))


#: The candidates' transforms, in order: each a chain of sympy functions applied in turn.
TRANSFORMS = (("factor_terms",), ("together",), ("powsimp",), ("expand_log",), ("together", "factor_terms"))
#: The transforms that may split exp(a + b) (see `_splits_exp`).
POLYNOMIAL_TRANSFORMS = (("cancel",), ("cancel", "factor_terms"))


def _read_once(sp, expr: Any) -> bool:
    """Whether the transforms cannot give `expr` in fewer operations: it is a sum of terms,
    each with coefficient 1 or -1 and otherwise `_monotone`, and no symbol occurs twice.
    Its terms then share no factor but a sign, it has no denominator to combine or cancel,
    no power or log to merge and no sign to cancel or move through an odd function:
    factor_terms can only take out a common minus sign (as many operations), cancel can
    only multiply out products of sums (as many or more), and together, powsimp and
    expand_log leave it as it is. (Beyond this class they can: (-a - b) * (-c - d) is
    (a + b) * (c + d), -tanh(c * (-sin(a) - 1)) is tanh(c * (sin(a) + 1)).)"""
    symbols: set = set()
    for term in expr.args if expr.is_Add else (expr,):
        coefficient, rest = term.as_coeff_Mul()
        if coefficient not in (1, -1) or not _monotone(sp, rest, symbols):
            return False
    return True


def _monotone(sp, expr: Any, symbols: set) -> bool:
    """Whether `expr` is built of sums, products and functions (not exp or log) of symbols not
    in `symbols` (which it adds them to), each once, and the number 1: no other number (so no
    sign), no power, no quotient."""
    for sub in sp.preorder_traversal(expr):
        if sub.is_Symbol:
            if sub in symbols:
                return False
            symbols.add(sub)
        elif (sub.is_Number and sub != 1) or sub.is_Pow or isinstance(sub, (sp.exp, sp.log)):
            return False
    return True


def candidates(expr: Any) -> tuple:
    """Distinct rewrites of `expr` worth costing (memoised by expression): the expression
    itself (sympy's own evaluation may have shortened it: cos(-x) is cos(x)), then the
    transforms' results, unless `_read_once` says they cannot be shorter. Each sympy
    function runs once per argument: factor_terms(together(e)) is factor_terms(e) already
    found when together leaves e as it is."""
    found = _candidate_memo.get(expr)
    if found is not None:
        return found
    sp = _Sympy.get()
    found = (expr,) if _read_once(sp, expr) else _transformed(sp, expr)
    if len(_candidate_memo) >= _MEMO_LIMIT:
        _candidate_memo.clear()
    _candidate_memo[expr] = found
    return found


def _transformed(sp, expr: Any) -> tuple:
    """`expr` and the distinct results of TRANSFORMS (and POLYNOMIAL_TRANSFORMS) on it."""
    done: dict[tuple[str, Any], Any] = {}

    def run(name: str, arg: Any) -> Any:
        """sympy's `name`(arg), or None where sympy cannot do it."""
        if (name, arg) not in done:
            try:
                done[name, arg] = getattr(sp, name)(arg)
            except Exception:  # noqa: BLE001 - a transform sympy cannot do is just not a candidate
                done[name, arg] = None
        return done[name, arg]

    results = [expr]
    for chain in TRANSFORMS if _splits_exp(sp, expr) else TRANSFORMS + POLYNOMIAL_TRANSFORMS:
        result = expr
        for name in chain:
            result = run(name, result) if result is not None else None
        if result is not None and result not in results:
            results.append(result)
    return tuple(results)


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


@dataclass
class _Plan:
    """The sympy work on a region key: the expression, its leaves' symbols and the candidates;
    then, from the key's first region, how each candidate is built (`steps`, and per
    candidate the steps up to its end and its node's reference, None where it cannot be
    built) and `settled`: every candidate builds back to the region itself or not at all
    (there is then nothing to cost on a region with this key)."""

    expr: Any
    symbols: list
    candidates: tuple
    steps: Optional[list] = None
    built: list = field(default_factory=list)
    settled: bool = False


def _plan(region: Region) -> _Plan:
    """The plan of the region's key (made at the key's first region)."""
    found = _plans.get(region.key)
    if found is None:
        sp = _Sympy.get()  # sympy loads only when needed
        expr, symbols = to_sympy(sp, region)
        if len(_plans) >= _MEMO_LIMIT:
            _plans.clear()
        _plans[region.key] = found = _Plan(expr, symbols, candidates(expr))
    return found


def _candidate_nodes(plan: _Plan, region: Region) -> Iterator[Optional[Node]]:
    """Each candidate built over the region's leaves (None where it cannot be), one at a
    time: written from sympy at the key's first region, which records the steps, and
    replayed from them at the others."""
    if plan.steps is None:
        steps: list = []
        built: list = []
        writer = _FromSympy(_Sympy.get(), plan.symbols, region.leaves, region.root.dtype, steps)
        for candidate in plan.candidates:
            try:
                node = writer.build(candidate)
            except _Unsupported:
                node = None
            built.append((len(steps), None if node is None else writer.refs[node]))
            yield node
        plan.steps, plan.built = steps, built
        return
    made: list[Node] = []
    leaves = region.leaves
    for end, result in plan.built:
        for op, inputs in plan.steps[len(made):end]:
            made.append(Node.make(op, [made[i] if i >= 0 else leaves[-1 - i] for i in inputs]))
        yield None if result is None else made[result] if result >= 0 else leaves[-1 - result]


def _substitute(outputs: list[Node], replacements: dict[Node, Node]) -> list[Node]:
    """`outputs` with each replaced root swapped for its replacement, inside the replacements
    too: a replacement is built over its region's leaves, whose subgraphs may hold other
    replaced roots (without this, the old roots would stay in the graph beside the new).
    A replacement that leads back to its own root keeps that root there."""
    memo: dict[Node, Node] = {}
    expanding: set[Node] = set()  # replaced roots whose replacement is being rebuilt
    for output in outputs:
        stack = [(output, "visit")]
        while stack:
            node, state = stack.pop()
            if node in memo:
                continue
            if state == "replaced":
                expanding.discard(node)
                memo[node] = memo[replacements[node]]
            elif state == "plain":
                inputs = tuple(memo[i] for i in node.inputs)
                memo[node] = node if inputs == node.inputs else Node.make(node.op, inputs)
            elif node in replacements and node not in expanding:
                expanding.add(node)
                stack += [(node, "replaced"), (replacements[node], "visit")]
            else:
                stack.append((node, "plain"))
                stack += [(i, "visit") for i in node.inputs if i not in memo]
    return [memo[o] for o in outputs]


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
            if not eligible(root) or not (root in ends or any(not eligible(c) for c in users[root])):
                continue
            if tried == MAX_REGIONS:
                trace.note(f"sympy: budget of {MAX_REGIONS} regions spent; left the remaining regions")
                break
            tried += 1
            better = self._improve(root, users, existing)
            if better is not None:
                replacements[root] = better
                trace.firings.append(Firing(RULE_NAME, root, better))
        return _substitute(outputs, replacements) if replacements else outputs

    def _improve(self, root: Node, users, existing: set[Node]) -> Optional[Node]:
        region = read_region(root)
        if region is None or len(region.nodes) < 2:
            return None
        plan = _plan(region)
        if plan.settled:
            return None
        first = plan.steps is None
        dying = _exclusive(root, region.nodes, users)
        best, best_cost = None, sum(op_cost(n) for n in dying)
        template = next((leaf for leaf in region.leaves if leaf.type.shape == root.type.shape), None)
        settled = True
        for built in _candidate_nodes(plan, region):
            if built is None:
                continue
            settled = settled and built is root
            node = fit(built, root, template)
            if node is None or node is root:
                continue
            cost = _added_cost(node, existing, dying)
            if cost < best_cost:
                best, best_cost = node, cost
        if first:
            plan.settled = settled
        return best
