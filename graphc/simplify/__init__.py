"""The simplifier: named local rewrites in phases run to a fixed point, stable forms,
scalar algebra through sympy, and a report of what fired (`simplify(..., explain=True)`)."""
from .api import simplify
from .engine import Phase, RewriteError, run_phase
from .phases import ALL_RULES, PHASES
from .rule import ALL, FINITE, STABLE, Rule, RuleSet, rule
from .trace import Report, node_count

__all__ = [
    "simplify", "Phase", "RewriteError", "run_phase", "ALL_RULES", "PHASES",
    "ALL", "FINITE", "STABLE", "Rule", "RuleSet", "rule", "Report", "node_count",
]
