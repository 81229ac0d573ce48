"""The numpy interpreter: runs any graph at any stage; the oracle for every other stage."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ...ir import Node, toposort
from ...ops.leaves import Input, Shared


class Program:
    """A graph's outputs in topological order, ready to run on numpy values."""

    def __init__(self, outputs: Sequence[Node]):
        self.outputs = list(outputs)
        self.order = toposort(self.outputs)

    def run(self, feed: Mapping[Node, np.ndarray]) -> list[np.ndarray]:
        """Values of the outputs given values for the graph's inputs."""
        values: dict[Node, np.ndarray] = {}
        last_use = {}
        for step, node in enumerate(self.order):
            for i in node.inputs:
                last_use[i] = step
        keep = set(self.outputs)
        for step, node in enumerate(self.order):
            values[node] = _value_of(node, feed, values)
            for i in set(node.inputs):
                if last_use[i] == step and i not in keep:
                    del values[i]  # free intermediates as soon as their last user ran
        return [values[o] for o in self.outputs]


def _value_of(node: Node, feed: Mapping[Node, np.ndarray], values: Mapping[Node, np.ndarray]) -> np.ndarray:
    op = node.op
    if node in feed:
        return feed[node]
    if isinstance(op, Input):
        raise ValueError(f"no value given for input {op.label!r} ({node.type})")
    if isinstance(op, Shared):
        view = op.container.value.view()
        view.flags.writeable = False  # results may be this storage: keep the variable safe
        return view
    args = [values[i] for i in node.inputs]
    op.check_run_time(node, [a.shape for a in args])
    result = op.reference(*args)
    return np.asarray(result, dtype=node.dtype)


def evaluate(outputs: Sequence[Node], inputs: Mapping[Node, Any]) -> list[np.ndarray]:
    """Evaluate `outputs` with numpy, given values for their inputs (a quick check)."""
    feed = {k: np.asarray(v, dtype=k.dtype) for k, v in inputs.items()}
    return Program(outputs).run(feed)
