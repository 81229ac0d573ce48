"""What `graphc inspect model.onnx` prints: the imported graph, its simplified form and, for a
parameter, the simplified gradient of the sum of the first output with respect to it."""
from __future__ import annotations

from typing import Optional

from ..autodiff import grad
from ..ir import Node
from ..ops import reduce_sum
from ..printing import listing
from ..simplify import simplify
from .model import Source, load
from .registry import OnnxError


def inspect_model(source: Source, wrt: Optional[str] = None, explain: bool = False) -> tuple[str, list[Node]]:
    """The report's text and the nodes it ends with (the simplified outputs, or gradient)."""
    model = load(source)
    sections = [repr(model), f"parameters: {', '.join(model.params) or 'none'}",
                "== the imported graph ==", listing(model.outputs)]
    shown, report = simplify(model.outputs, explain=True)
    sections += ["== simplified ==", listing(shown)]
    if wrt is not None:
        if wrt not in model.params:
            raise OnnxError(f"the model has no parameter {wrt!r}; its parameters: {', '.join(model.params) or 'none'}")
        gradient, report = simplify(grad(reduce_sum(model.outputs[0]), model.params[wrt]), explain=True)
        shown = [gradient]
        sections += [f"== d sum({model.output_names[0]}) / d {wrt}, simplified ==", listing(gradient)]
    if explain:
        sections.append(str(report))
    return "\n\n".join(sections), list(shown)
