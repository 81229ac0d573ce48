"""Running compiled graphs on watched memory, to catch out-of-bounds reads and writes.

A graph is lowered to its Program (as gc.function does: simplified, then built)
and called with every buffer the program touches (inputs, outputs, constants,
arena intermediates and per-thread scratch) in memory of its own:

- `RedZones`: each buffer between two 4 KiB zones of 0xFF bytes (NaN as floats).
  A stray write changes a zone (checked after the call); a stray read that
  reaches a result turns it into NaN (or garbage) and fails the comparison.
- `GuardPages`: each buffer flush against an inaccessible page, after its end
  or before its start. Any access past that edge, even one whose value is never
  used, is a segfault: run these in a child process (`run_in_child`).

Outputs and intermediates start filled with a sentinel, so an element a kernel
never writes shows up too. Cases are named families with JSON parameters so a
child process can rebuild them. A case may expect the call to fail (`raises`: a
run-time check, e.g. an index out of range): then it must fail with that message
and still touch nothing outside its buffers.
"""
from __future__ import annotations

import ctypes
import json
import mmap
import re
import subprocess
import sys
from typing import Any, Callable, Sequence

import numpy as np

import graphc as gc
from graphc.backend.llvm.build import build_program
from graphc.backend.llvm.emitter import scratch_stride
from graphc.backend.llvm.runtime import compile_program
from graphc.simplify import simplify

from .graph_check import assert_close, rand

ZONE = 4096
PAGE = mmap.PAGESIZE
#: Fill of outputs and intermediates before a call: NaN for floats, a telltale integer otherwise.
SENTINEL = {"f": 0xFF, "i": 0x5A, "b": 0x5A}


class RedZones:
    """Each buffer with 0xFF zones on both sides, checked after the call."""

    def __init__(self) -> None:
        self._blocks: list[tuple[str, np.ndarray, int, int]] = []

    def raw(self, label: str, nbytes: int) -> np.ndarray:
        block = np.full(ZONE + nbytes + ZONE + 64, 0xFF, np.uint8)
        start = ZONE + (-(block.ctypes.data + ZONE) % 64)      # the buffer on a cache line, as in the arena
        self._blocks.append((label, block, start, nbytes))
        return block[start:start + nbytes]

    def check(self) -> None:
        for label, block, start, nbytes in self._blocks:
            for side, zone in (("before", block[start - ZONE:start]), ("after", block[start + nbytes:])):
                touched = np.flatnonzero(zone != 0xFF)
                assert touched.size == 0, f"stray write {side} buffer {label}: zone bytes {touched[:8].tolist()}"


class GuardPages:
    """Each buffer in fresh pages, flush against an inaccessible page after its end
    (`edge="end"`) or before its start (`edge="start"`)."""

    _libc = ctypes.CDLL(None, use_errno=True)

    def __init__(self, edge: str) -> None:
        if edge not in ("start", "end"):
            raise ValueError(f"edge must be 'start' or 'end', got {edge!r}")
        self.edge = edge
        self._maps: list[mmap.mmap] = []

    def raw(self, label: str, nbytes: int) -> np.ndarray:
        pages = -(-max(nbytes, 1) // PAGE)
        m = mmap.mmap(-1, (pages + 2) * PAGE)
        self._maps.append(m)
        base = ctypes.addressof(ctypes.c_char.from_buffer(m))
        for page in (0, pages + 1):
            if self._libc.mprotect(ctypes.c_void_p(base + page * PAGE), PAGE, 0) != 0:
                raise OSError(ctypes.get_errno(), "mprotect failed")
        offset = PAGE if self.edge == "start" else (pages + 1) * PAGE - nbytes
        return np.frombuffer(m, np.uint8, nbytes, offset)

    def check(self) -> None:
        """Nothing to check: a stray access has already crashed the process."""


Memory = RedZones | GuardPages


def _filled(memory: Memory, label: str, shape: Sequence[int], dtype: str, value: Any = None) -> np.ndarray:
    """A watched array of `shape` holding `value`, or the sentinel when None."""
    dt = np.dtype(dtype)
    raw = memory.raw(label, int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
    raw[:] = SENTINEL[dt.kind]
    arr = raw.view(dt).reshape(shape)
    if value is not None:
        arr[...] = value
    return arr


def run(inputs: Sequence[gc.Node], outputs: Sequence[gc.Node], values: Sequence[np.ndarray], memory: Memory,
        threads: int = 1, scale: float = 4.0, raises: str | None = None) -> None:
    """Compile `outputs` as gc.function would, run them on `memory`, compare with the reference
    (or, with `raises`, expect the call to fail with a ValueError matching it)."""
    want = [] if raises else gc.function(list(inputs), list(outputs), backend="numpy", simplify=False)(*values)
    program, plan = build_program(list(inputs), simplify(list(outputs)), threads, "bounds")
    compiled = compile_program(program)
    feeds = dict(zip(plan.inputs, values))
    arrays = {}
    for buf in program.params:
        if buf.scope == "param":
            value = feeds.get(buf.name, plan.constants.get(buf.name))
            arrays[buf.name] = _filled(memory, buf.name, buf.shape, buf.dtype, value)
    scratch = [b for b in program.params if b.scope == "scratch"]
    # per-thread scratch is owned by the CompiledProgram: hand it watched memory instead
    compiled._scratch_mem = (threads, [memory.raw(b.name, scratch_stride(b) * threads) for b in scratch])
    try:
        compiled(*(arrays[b.name] for b in program.params if b.scope == "param"), nthreads=threads)
    except ValueError as exc:
        if raises is None or not re.search(raises, str(exc)):
            raise
    else:
        assert raises is None, f"the call did not fail with {raises!r}"
    memory.check()
    for k, (name, expected) in enumerate(zip(plan.outputs, want)):
        try:
            assert_close(arrays[name], expected, scale)
        except AssertionError as exc:
            raise AssertionError(f"output {k} ({outputs[k].op.name}): {exc}") from None


# ------------------------------------------------------------------ case families

def _slices(items: Sequence[Any]) -> tuple:
    """JSON index items -> a numpy index: an int, None (new axis) or [start, stop, step]."""
    return tuple(slice(*it) if isinstance(it, list) else it for it in items)


def _getitem(p, x):
    view = x[_slices(p["items"])]
    return [view, view * 2.0 + 1.0, gc.sum(view, -1) if view.ndim else view]


def _scatter(p, x):
    view = x[_slices(p["items"])]
    loss = gc.sum(gc.tanh(view) * (gc.flip(view) if view.ndim else view))
    return [gc.grad(loss, x)]


def _pad(p, x):
    widths = [tuple(w) for w in p["widths"]]
    return [gc.pad(x, widths, p["value"]), gc.pad(x * 2.0, widths) + 1.0]


def _flip(p, x):
    y = gc.flip(x, p["axes"])
    return [y, y * x, gc.sum(y, -1), gc.flip(x * 3.0, p["axes"])]


def _concatenate(p, *xs):
    axis = p["axis"]
    parts = [gc.flip(xs[0], axis)] + list(xs[1:])
    return [gc.concatenate(list(xs), axis), gc.concatenate([q * 2.0 for q in parts], axis) + 1.0]


def _pool(p, x):
    pool = {("max", 2): gc.nn.max_pool2d, ("avg", 2): gc.nn.avg_pool2d,
            ("max", 1): gc.nn.max_pool1d, ("avg", 1): gc.nn.avg_pool1d}[p["kind"], len(p["kernel"])]
    options = {k: p[k] for k in ("dilation", "ceil_mode", "count_include_pad") if k in p}
    y = pool(x, p["kernel"], p["stride"], p["padding"], **options)
    (g,) = gc.grad(gc.sum(gc.tanh(y) * 3.0), [x])
    outs = [y, g]
    if p["kind"] == "max":
        outs += gc.grad(gc.sum(g * g), [x])       # max_pool_gather through the second derivative
    return outs


def _pad_mode(p, x):
    y = gc.pad(x, [tuple(w) for w in p["widths"]], p["mode"])
    return [y] + gc.grad(gc.sum(gc.tanh(y) * 3.0), [x])


def _resample(p, x):
    """interpolate or adaptive pooling (p["fn"]) with p["args"], and its gradient."""
    y = getattr(gc.nn, p["fn"])(x, *p["args"], **p.get("kwargs", {}))
    return [y] + gc.grad(gc.sum(gc.tanh(y) * 3.0), [x])


def _norm(p, x):
    """a per-sample normalisation or an activation (p["fn"]) with p["args"], and its gradient."""
    y = getattr(gc.nn, p["fn"])(x, *p["args"])
    return [y] + gc.grad(gc.sum(y * y), [x])


def _conv(p, x, w, b):
    """conv (p["dilation"], p["groups"] optional) + bias + relu, and its gradients."""
    conv = gc.nn.conv2d if x.ndim == 4 else gc.nn.conv1d
    y = gc.relu(conv(x, w, b, stride=p["stride"], padding=[tuple(q) for q in p["padding"]],
                     dilation=p.get("dilation", 1), groups=p.get("groups", 1)))
    loss = gc.sum(y * y)
    return [y] + gc.grad(loss, [x, w, b])


def _conv_transpose(p, x, w, b):
    """conv_transpose + bias + relu with p's geometry, and its gradients."""
    conv = gc.nn.conv_transpose2d if x.ndim == 4 else gc.nn.conv_transpose1d
    y = gc.relu(conv(x, w, b, p["stride"], p["padding"], p["output_padding"], p["groups"], p["dilation"]))
    return [y] + gc.grad(gc.sum(y * y), [x, w, b])


def _matmul(p, a, b):
    """a @ b, or with p["bt"] a @ b.T (B read along K: few rows run as dot products)."""
    y = a @ (b.T if p.get("bt") else b)
    return [y, gc.relu(y) * 2.0, y.T + 1.0]


def _softmax(p, x):
    axis = p["axis"]
    return [gc.nn.softmax(x, axis), gc.nn.log_softmax(x, axis), gc.logsumexp(x, axis), gc.argmax(x, axis),
            gc.max(x, axis)]


def _gather(p, x, idx):
    """A gather (p["kind"]: take, take_along_axis, x[idx] with slices around, index_add,
    embedding) along p["axis"] with the integer input idx, a fused consumer, and gradients
    through scatter-adds (with repeated indices when idx repeats)."""
    kind, axis = p["kind"], p.get("axis", 0)
    if kind == "take":
        y = gc.take(x, idx, axis)
    elif kind == "along":
        y = gc.take_along_axis(x, idx, axis)
    elif kind == "getitem":
        y = x[(slice(None, None, -1),) * axis + (idx,)]
    elif kind == "embedding":
        y = gc.nn.embedding(idx, x)
    else:
        y = gc.index_add(x, axis, idx, gc.take(gc.tanh(x), idx, axis) * 2.0)
    return [y, y * 2.0 + 1.0] + gc.grad(gc.sum(gc.tanh(y) * y), [x])


def _elementwise(p, x, y):
    return [gc.tanh(x) * y + 1.0, gc.sum(x * y, 0)]


#: family -> (input shapes from params, outputs from params and input nodes)
FAMILIES: dict[str, tuple[Callable[[dict], list[list[int]]], Callable[..., list[gc.Node]]]] = {
    "getitem": (lambda p: [p["shape"]], _getitem),
    "scatter": (lambda p: [p["shape"]], _scatter),
    "pad": (lambda p: [p["shape"]], _pad),
    "flip": (lambda p: [p["shape"]], _flip),
    "concatenate": (lambda p: p["shapes"], _concatenate),
    "pool": (lambda p: [p["shape"]], _pool),
    "pad_mode": (lambda p: [p["shape"]], _pad_mode),
    "resample": (lambda p: [p["shape"]], _resample),
    "norm": (lambda p: [p["shape"]], _norm),
    "conv": (lambda p: [p["x"], p["w"], [p["w"][0]]], _conv),
    "conv_transpose": (lambda p: [p["x"], p["w"], [p["w"][1] * p["groups"]]], _conv_transpose),
    "matmul": (lambda p: [p["a"], p["b"]], _matmul),
    "softmax": (lambda p: [p["shape"]], _softmax),
    "elementwise": (lambda p: [p["shape"], p["shape"]], _elementwise),
    "gather": (lambda p: [p["shape"]], _gather),
}


def run_case(family: str, params: dict, memory: Memory, seed: int = 0) -> None:
    """Build the case `family(params)` in params["dtype"] (default float32) and `run` it.
    params["index"] (nested lists of ints) is one more input, of params["index_dtype"]
    (default int64), after the others."""
    shapes_of, outputs_of = FAMILIES[family]
    dtype = params.get("dtype", "float32")
    shapes = [tuple(s) for s in shapes_of(params)]
    inputs = [gc.tensor(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
    rng = np.random.default_rng(seed)
    values = [rand(rng, s, dtype) for s in shapes]
    if "index" in params:
        values.append(np.asarray(params["index"], params.get("index_dtype", "int64")))
        inputs.append(gc.tensor(f"x{len(shapes)}", values[-1].shape, values[-1].dtype))
    run(inputs, outputs_of(params, *inputs), values, memory, params.get("threads", 1), raises=params.get("raises"))


# ------------------------------------------------------------------ guard pages in a child process

def child_main() -> None:
    """Run the JSON list of [family, params] on stdin under both guard-page edges,
    printing "start <k>" before and "ok <k>" after each case."""
    cases = json.load(sys.stdin)
    for k, (family, params) in enumerate(cases):
        for edge in ("end", "start"):
            print(f"start {k} {edge}", flush=True)
            run_case(family, params, GuardPages(edge))
        print(f"ok {k}", flush=True)


def run_in_child(cases: Sequence[tuple[str, dict]], env: dict[str, str], timeout: float = 600) -> None:
    """Run `cases` under guard pages in a child process; fail naming the case that crashed."""
    code = f"import sys; sys.path[:0] = {json.dumps(sys.path)}; from {__name__} import child_main; child_main()"
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(cases), capture_output=True, text=True,
                          env=env, timeout=timeout)
    started = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("start")]
    if proc.returncode != 0:
        where = ""
        if started:
            k, edge = int(started[-1][0]), started[-1][1]
            where = f" in case {cases[k][0]} {json.dumps(cases[k][1])} (guard page at the {edge})"
        raise AssertionError(f"guard-page child exited with {proc.returncode}{where}:\n{proc.stderr[-3000:]}")
