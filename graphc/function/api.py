"""`function`: from symbolic inputs and outputs to a callable on numpy arrays."""
from __future__ import annotations

import ctypes
import sys
import threading
from collections import Counter
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..ir import Node, ShapeError, toposort
from ..ir.dtypes import check_same_kind
from ..ops.convert import as_node
from ..ops.elementwise import cast
from ..ops.leaves import Input, Shared, is_shared
from .backends import get_backend
from .prepare import Simplifier
from .signature import casting_rule, check_arguments

Updates = Mapping[Node, Any] | Sequence[tuple[Node, Any]]

class Function:
    """A compiled graph: call it with arrays for its inputs; it returns arrays.

    Outputs and update values are computed from the shared variables' values before
    the call; then the updates are written. Returned and stored arrays are writable and
    the caller's own: an output never shares memory with a shared variable's storage, an
    argument, another output or an earlier call's output (constants included), nor a
    stored value with an argument or another stored value.
    """

    def __init__(self, inputs, outputs, updates, backend: str, options: dict, simplify: bool = True,
                 cast_inputs: Optional[str] = None):
        self.inputs: list[Node] = list(inputs)
        self.casting = casting_rule(cast_inputs)
        self._single = isinstance(outputs, Node)
        self.outputs: list[Node] = [outputs] if self._single else [as_node(o) for o in outputs]
        self.updates = _collect_updates(self.outputs, updates)
        _check_inputs(self.inputs, self.outputs + [v for _, v in self.updates])
        self._shared = [n for n in toposort(self.outputs + [v for _, v in self.updates]) if is_shared(n)]
        self._shared += [var for var, _ in self.updates if var not in self._shared]
        self.backend_name = backend
        computed = self.outputs + [v for _, v in self.updates]
        self.program = get_backend(backend)(self.inputs, computed, Simplifier() if simplify else None, **options)
        #: per update, the value it replaced at the last call when nothing else refers to it:
        #: the next call writes the new value there (no allocation, no page faults)
        self._spare: list[Optional[np.ndarray]] = [None] * len(self.updates)
        self._spare_lock = threading.Lock()

    def __call__(self, *args: Any) -> np.ndarray | list[np.ndarray]:
        arrays = check_arguments(self.inputs, args, self.casting)
        held = [var.op.container.value for var in self._shared]
        replaced = [var.op.container.value for var, _ in self.updates]
        n = len(self.outputs)
        with self._spare_lock:   # a spare goes to one call only, whichever thread makes it
            spare, self._spare = self._spare, [None] * len(self.updates)
        results = self.program(arrays, [None] * n + spare)
        del spare
        stored = _owned_all(results[n:], arrays)
        for (var, _), value in zip(self.updates, stored):
            var.op.container.value = value
        held += [var.op.container.value for var in self._shared] + arrays
        # no output may share memory with a variable, an argument or another output
        outs = _owned_all(results[:n], held)
        del held, results
        self._spare = _spares(replaced, stored)
        return outs[0] if self._single else outs

    @property
    def inspect(self) -> Any:
        """What the backend shows of its compiled code, or None. The llvm backend's has
        kernels(), listing(), loop_ir(k), llvm_ir(k), assembly(k), profile(*args) and
        compile_times() (see docs/compilation.md)."""
        return getattr(self.program, "inspect", None)

    def __reduce__(self):
        raise TypeError(
            "compiled functions are not picklable (they hold graph nodes and native code): pickle the "
            "values they use (get_value(), a model's state_dict()) and rebuild the function with "
            "gc.function after unpickling"
        )

    def __repr__(self) -> str:
        names = ", ".join(i.name or "?" for i in self.inputs)
        return f"<graphc.Function ({names}) -> {len(self.outputs)} output(s), backend={self.backend_name}>"


def _references(items: list, k: int) -> int:
    """sys.getrefcount of items[k] as seen from here (compared between lists, so the
    interpreter's own counting cancels out)."""
    item = items[k]
    return sys.getrefcount(item)


#: What _references counts for an object only one list refers to.
_ALONE = _references([np.empty(0)], 0)


def _spares(replaced: list, stored: list[np.ndarray]) -> list[Optional[np.ndarray]]:
    """Per update, the value it replaced if nothing but `replaced` refers to it any more
    (not a view, not stored again): storage the next call may overwrite."""
    alone = [_references(replaced, k) == _ALONE for k in range(len(replaced))]  # before naming any of them
    stored_ids = {id(s) for s in stored}
    times_replaced = Counter(id(r) for r in replaced)
    return [old if alone[k] and isinstance(old, np.ndarray) and old.base is None
            and id(old) not in stored_ids and times_replaced[id(old)] == 1 else None
            for k, old in enumerate(replaced)]


#: Pairs compared one by one (np.may_share_memory) cost about as much as this many
#: arrays' extents found and sorted, each (measured on a Zen 4: 0.25 and 1 us).
PAIRS_PER_EXTENT = 4


def _owned_all(values: Sequence[np.ndarray], others: Sequence[np.ndarray]) -> list[np.ndarray]:
    """`values`, each as `_owned` of it against `others` and the values kept before it.
    Only values whose memory may overlap another array's are compared pair by pair, so a
    step with hundreds of updates costs a sort, not hundreds of squared comparisons."""
    arrays = list(values) + list(others)
    pairs = len(values) * len(arrays)
    # a few values: comparing every pair costs less than finding the arrays' extents
    suspect = set(range(len(arrays))) if pairs <= PAIRS_PER_EXTENT * len(arrays) else _overlapping(arrays)
    against = [o for j, o in enumerate(others, start=len(values)) if j in suspect]
    result = []
    for k, value in enumerate(values):
        if k in suspect:
            owned = _owned(value, against)
            if owned is value:
                against.append(value)
        else:
            owned = value if value.flags.writeable else value.copy()
        result.append(owned)
    return result


def _overlapping(arrays: Sequence[Any]) -> set[int]:
    """Indices of the arrays whose byte extents may meet another's (a superset of the pairs
    np.may_share_memory reports: extents are what it compares by default)."""
    extents, suspect = [], set()
    for k, a in enumerate(arrays):
        extent = _extent(a)
        if extent is None:
            suspect.add(k)
        elif extent[0] < extent[1]:
            extents.append((*extent, k))
    extents.sort()
    cluster, reach = [], -1
    for low, high, k in extents:
        if low >= reach:
            if len(cluster) > 1:
                suspect.update(cluster)
            cluster, reach = [], high
        cluster.append(k)
        reach = max(reach, high)
    if len(cluster) > 1:
        suspect.update(cluster)
    return suspect


def _extent(a: Any) -> Optional[tuple[int, int]]:
    """[first byte, one past the last) of an ndarray's elements, or None for anything else."""
    if not isinstance(a, np.ndarray):
        return None
    if a.size == 0:
        return (0, 0)
    if a.flags.c_contiguous and a.flags.writeable:     # the address the ctypes way: 3x faster
        low = ctypes.addressof(ctypes.c_char.from_buffer(a))
        return low, low + a.nbytes
    low = high = a.__array_interface__["data"][0]
    for n, stride in zip(a.shape, a.strides):
        if stride < 0:
            low += (n - 1) * stride
        else:
            high += (n - 1) * stride
    return low, high + a.itemsize


def _owned(array: np.ndarray, others: Sequence[np.ndarray]) -> np.ndarray:
    """`array`, copied if it is read-only or may share memory with one of `others`. The
    reference backend returns views: a returned `w.T` would otherwise write through to
    `w`, and a constant or a broadcast (`full_like`) is a read-only view of the graph's
    one constant, the same buffer at every call."""
    if array.flags.writeable and not any(np.may_share_memory(array, o) for o in others):
        return array
    return array.copy()


def _collect_updates(outputs: list[Node], updates: Optional[Updates]) -> list[tuple[Node, Node]]:
    """The user's updates, checked, plus default updates (random keys) of shared
    variables the graph uses that the user did not update."""
    pairs = list(updates.items() if isinstance(updates, Mapping) else (updates or []))
    result: list[tuple[Node, Node]] = []
    seen: set[Node] = set()
    for var, value in pairs:
        if not isinstance(var, Node) or not is_shared(var):
            raise TypeError(f"updates: {var!r} is not a shared variable")
        if var in seen:
            raise ValueError(f"updates: {var.name!r} is updated twice")
        value = as_node(value, var)
        if value.type.shape != var.type.shape and value.type.is_static:
            raise ShapeError(f"updates: {var.name!r} has shape {var.type.shape}, the new value {value.type.shape}")
        check_same_kind("updates", var.name, var.dtype, value.dtype)
        value = cast(value, var.dtype)
        seen.add(var)
        result.append((var, value))
    frontier = outputs + [v for _, v in result]
    added = True
    while added:  # default updates may use further shared variables with their own
        added = False
        for node in toposort(frontier):
            if isinstance(node.op, Shared) and node not in seen and node.op.container.default_update is not None:
                seen.add(node)
                result.append((node, node.op.container.default_update))
                frontier.append(node.op.container.default_update)
                added = True
    return result

def _check_inputs(inputs: list[Node], outputs: list[Node]) -> None:
    for node in inputs:
        if not isinstance(node, Node) or not isinstance(node.op, Input):
            raise TypeError(f"function: inputs must be symbolic inputs from gc.tensor, got {node!r}")
    if len(set(inputs)) != len(inputs):
        raise ValueError("function: an input is listed twice")
    given = set(inputs)
    missing = [n for n in toposort(outputs) if isinstance(n.op, Input) and n not in given]
    if missing:
        names = ", ".join(repr(n.name) for n in missing)
        raise ValueError(f"function: the outputs depend on inputs not listed: {names}")

def function(
    inputs: Sequence[Node],
    outputs: Node | Sequence[Node],
    updates: Optional[Updates] = None,
    backend: str = "llvm",
    simplify: bool = True,
    cast_inputs: Optional[str] = None,
    **options: Any,
) -> Function:
    """Compile `outputs` as a function of `inputs`.

    `updates` pairs shared variables with new values (a dict or a list of pairs), written
    after each call. `backend` picks the executor: "llvm" (native kernels, the default;
    option `threads=`) or "numpy" (the reference interpreter).
    `simplify=False` runs the graph as built, without gc.simplify (for debugging).
    `cast_inputs` is how numpy arguments of another dtype are treated: None or "no"
    (strict: the input's dtype exactly), "safe" or "same_kind" (converted when
    `numpy.can_cast(arg.dtype, input dtype, cast_inputs)` allows it, so float64 feeds a
    float32 input and ints feed floats, as Theano's allow_input_downcast; float never
    becomes int).
    The llvm backend simplifies only when the compiled code is not in its disk cache.
    """
    return Function(inputs, outputs, updates, backend, options, simplify, cast_inputs)
