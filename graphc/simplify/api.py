"""`simplify`: run the phases over a graph and, on request, say what happened.

The engine and the rules are imported at the first call, not with this module: they
import every op module the rules match, which `import graphc` should not pay for.
"""
from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Optional, Sequence

from ..ir import Node
from ..ops.convert import as_node

if TYPE_CHECKING:
    from .engine import Phase
    from .trace import Report


def simplify(
    outputs: Node | Sequence[Node],
    explain: bool = False,
    phases: Optional[Sequence[Phase]] = None,
) -> Node | list[Node] | tuple[Node | list[Node], Report]:
    """The simplified graph of one node or a list of nodes (same dtypes and shapes).

    With `explain=True`, returns `(simplified, report)`; `print(report)` lists the rules
    that fired in order and the node counts before and after each phase.
    """
    from .engine import run_phases
    from .phases import PHASES
    from .trace import Report

    single = isinstance(outputs, Node)
    nodes = [outputs] if single else [as_node(o) for o in outputs]
    report = Report()
    start = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()  # rewriting allocates many short-lived nodes: collections would double the time
    try:
        nodes, report.phases = run_phases(PHASES if phases is None else phases, nodes)
    finally:
        if collecting:
            gc.enable()
    report.seconds = time.perf_counter() - start
    result = nodes[0] if single else nodes
    return (result, report) if explain else result
