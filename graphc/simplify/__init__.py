"""The simplifier: named local rewrites in phases run to a fixed point, stable forms,
scalar algebra through sympy, and a report of what fired (`simplify(..., explain=True)`).

The package imports `simplify` and the rule record only: the rule modules (and the op
modules they match) load at simplify's first call or when one of the other names is
first used, so `import graphc` stays light. (`rule` is imported now because it names a
submodule too: imported later, the submodule would shadow the function.)
"""
import importlib as _importlib

from .api import simplify
from .rule import ALL, FINITE, STABLE, Rule, RuleSet, rule

#: Public names imported on first use (PEP 562), by the submodule that defines them.
_LAZY_NAMES = {
    "Phase": "engine", "RewriteError": "engine", "run_phase": "engine",
    "ALL_RULES": "phases", "PHASES": "phases",
    "Report": "trace", "node_count": "trace",
}

__all__ = ["simplify", "ALL", "FINITE", "STABLE", "Rule", "RuleSet", "rule", *_LAZY_NAMES]


def __getattr__(name: str) -> object:
    """Import a public name's submodule on first use and keep the name (PEP 562)."""
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names bound now plus those imported on first use."""
    return sorted(set(globals()) | set(_LAZY_NAMES))
