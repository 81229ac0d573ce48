"""Every op of graphc.ops is computed inline by fusion, lowered by an entry of the
lowering table, or a leaf: a missing lowering fails here, never skips."""
import importlib
import pkgutil

import pytest

import graphc.ops
from graphc.backend.llvm.fusion import INLINE
from graphc.backend.llvm.lower.table import LOWERINGS, lowering_for
from graphc.ir import Op
from graphc.ops.leaves import Constant, Input, Shared

LEAVES = (Constant, Input, Shared)


def _all_op_classes() -> set[type]:
    """Every public Op subclass of graphc.ops (private ones are shared bases)."""
    for info in pkgutil.walk_packages(graphc.ops.__path__, "graphc.ops."):
        importlib.import_module(info.name)
    found, stack = set(), [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return {c for c in found if c.__module__.startswith("graphc.ops.") and not c.__name__.startswith("_")}


OPS = sorted(_all_op_classes(), key=lambda c: (c.__module__, c.__name__))


def test_the_ops_are_found():
    names = {c.__name__ for c in OPS}
    assert {"Elemwise", "Conv", "MatMul", "Reduce", "MaxPoolGather"} <= names


@pytest.mark.parametrize("op_class", OPS, ids=lambda c: c.__name__)
def test_every_op_is_inlined_lowered_or_a_leaf(op_class):
    routes = [issubclass(op_class, LEAVES), op_class in INLINE,
              any(cls in LOWERINGS for cls in op_class.__mro__)]
    assert sum(routes) == 1, f"{op_class.__name__}: leaf, inline, lowered = {routes}"


def test_a_missing_lowering_names_the_op_and_the_table():
    class Unlowered(Op):
        def infer_type(self, x):
            return x

    x = graphc.tensor("x", (2,))
    node = graphc.Node.make(Unlowered(), [x])
    with pytest.raises(NotImplementedError, match=r"no lowering for op Unlowered .*lower/table\.py"):
        lowering_for(node)
