"""Printing graphs: infix math, a tree with ids, a typed listing, networkx and DOT."""
from .graph import to_dot, to_networkx
from .listing import listing
from .pretty import pprint
from .tree import debugprint

__all__ = ["debugprint", "listing", "pprint", "to_dot", "to_networkx"]
