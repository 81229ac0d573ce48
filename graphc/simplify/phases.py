"""The phases, in order, and the rules each runs. A phase reads as a list.

- canonicalize: fold constants, remove identities, order operands, lift broadcasts.
- stabilize: rewrite into forms that stay accurate and finite (log1p, log_softmax, ...).
- simplify: algebra and reductions, with the canonical and stable rules still on so what
  it builds stays canonical and stable; then the sympy bridge, repeated to a fixed point.
- specialize: cheaper special cases for the backend (x ** 2 -> x * x).
"""
from __future__ import annotations

from . import algebra, canonical, fold, shapes, specialize, stable
from .engine import Phase
from .rule import Rule, RuleSet
from .sympy_bridge import SympyPass

CANONICAL: list[Rule] = fold.RULES + canonical.RULES

PHASES: tuple[Phase, ...] = (
    Phase("canonicalize", RuleSet(CANONICAL)),
    Phase("stabilize", RuleSet(CANONICAL + stable.RULES)),
    Phase("simplify", RuleSet(CANONICAL + stable.RULES + algebra.RULES + shapes.RULES), (SympyPass(),)),
    Phase("specialize", RuleSet(fold.RULES + specialize.RULES)),
)

#: Every rule, once (for listings and tests).
ALL_RULES: tuple[Rule, ...] = tuple(
    {r.name: r for phase in PHASES for r in phase.rules}.values()
)
