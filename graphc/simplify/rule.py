"""A rewrite rule: a name, what it matches, a local rewrite and the inputs it holds for.

Rules are data. Each rule module keeps a list and registers its rules with the `rule`
decorator, so adding a rule is writing one decorated function; the phases
(graphc.simplify.phases) say which lists run when.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

from ..ir import Node, Op
from ..ops.elementwise import Elemwise

#: Same value for every input, inf and nan included (up to float rounding and the sign of zero).
ALL = "all"
#: Same value for finite inputs wherever the original is not nan. Assumes finite values in
#: the domain: may give a number where the original gave nan (x - x for inf, 0 / 0, log of
#: a negative), and may differ when an input is inf or nan.
FINITE = "finite"
#: Equal in exact arithmetic for every input; more accurate where the original over- or
#: underflows (log(exp(x)) for x = 1000 is 1000, not inf).
STABLE = "stable"
POLICIES = (ALL, FINITE, STABLE)

#: What a rule matches: an op class, an elementwise function's name, or None for any op.
Match = Union[type, str, None]
Rewrite = Callable[[Node], Optional[Node]]


@dataclass(frozen=True)
class Rule:
    """A named local rewrite: `fn(node)` returns the replacement, or None to pass."""

    name: str
    match: Match
    fn: Rewrite
    policy: str = ALL

    @property
    def doc(self) -> str:
        """The first line of the rewrite's docstring."""
        return (self.fn.__doc__ or "").strip().splitlines()[0] if self.fn.__doc__ else ""


def rule(registry: list[Rule], match: Match, policy: str = ALL) -> Callable[[Rewrite], Rewrite]:
    """Decorator: register `fn` in `registry` as a rule named after the function."""
    if policy not in POLICIES:
        raise ValueError(f"rule: unknown policy {policy!r}; use one of {POLICIES}")

    def register(fn: Rewrite) -> Rewrite:
        registry.append(Rule(fn.__name__, match, fn, policy))
        return fn

    return register


def match_keys(op: Op) -> tuple[Match, ...]:
    """The keys under which rules for `op` are filed (most specific first)."""
    if isinstance(op, Elemwise):
        return (op.fn, Elemwise, None)
    return (type(op), None)


class RuleSet:
    """Rules indexed by what they match, so a node only meets rules that can fire on it."""

    def __init__(self, rules: list[Rule]):
        names = [r.name for r in rules]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"rule set: duplicate rule names {sorted(duplicates)}")
        self.rules = list(rules)
        self._cache: dict[tuple, tuple[Rule, ...]] = {}
        self._beyond: dict[tuple, tuple[Rule, ...]] = {}

    def for_op(self, op: Op) -> tuple[Rule, ...]:
        keys = match_keys(op)
        found = self._cache.get(keys)
        if found is None:
            found = tuple(r for r in self.rules if r.match in keys)
            self._cache[keys] = found
        return found

    def for_op_beyond(self, op: Op, passed: RuleSet) -> tuple[Rule, ...]:
        """The rules for `op` that are not in `passed` (for a node none of whose rules rewrite)."""
        keys = match_keys(op)
        found = self._beyond.get((keys, passed))
        if found is None:
            known = set(passed.rules)
            found = tuple(r for r in self.for_op(op) if r not in known)
            self._beyond[keys, passed] = found
        return found

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)
