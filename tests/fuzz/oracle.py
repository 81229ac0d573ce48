"""Running fuzz cases on the llvm backend and judging the results against the numpy reference.

A batch of cases is simplified once (gc.simplify; one case in five stays as built) and
compiled into one llvm function with many outputs; the numpy reference runs the same
graph, and the outputs are compared one by one. Integer and bool outputs must be equal. A float output agrees when
each element

- is nan where the reference is, and +inf or -inf where it is (a finite value next to the
  overflow threshold may round to inf on one side), and
- is within K * E + K * eps * max|ref| + RTOL * |ref_i| of the reference, where E is the
  reference's own error on this output: for float32, its distance to the same graph
  evaluated in float64; for float64, the distance between the graph evaluated in float32
  and in float64, scaled by eps64 / eps32. An ill-conditioned output gets the slack it
  needs, a well-conditioned one is held to a few ulp;

or, failing that, when it matches in the same way one of a few reference runs in which
every op that rounds rounded differently (`perturbed_runs`: how the llvm backend's other
summation order, fused multiply-adds and math library may round), or (float32) the
float64 value rounded once. A flipped comparison or tie then passes, a wrong index,
broadcast or gradient does not.

Mismatches that are known defects are recognised from the intermediate values of the
reference run (`KNOWN`), or (`FMA`) because evaluating a * b + c with an exact product
reproduces them, and are counted apart. A failing output is minimised: its nodes are
replaced, from the output down, by inputs holding the reference's value for them, as
long as the llvm backend still disagrees.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

import graphc as gc
from graphc.ir import toposort
from graphc.ir.traversal import rebuild
from graphc.ops import Cast, Constant, Elemwise, Input, Reduce
from graphc.ops.transcendental import TRIG_LIMIT

from .generator import Case

K = 16.0
RTOL = {np.dtype("float32"): 64 * np.finfo(np.float32).eps, np.dtype("float64"): 64 * np.finfo(np.float64).eps}
EPS32, EPS64 = float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps)


@dataclass
class Mismatch:
    """One output of one case that the llvm backend got wrong (or an error)."""

    case: Case
    output: int                 # index into case.outputs, or -1 for an error of the whole case
    message: str
    known: Optional[str] = None  # the known defect this is, if any
    minimised: Optional[str] = None

    def report(self, repro: str) -> str:
        case = self.case
        raw = " unsimplified" if case.raw else ""
        lines = [f"case seed={case.seed} dtype={case.dtype} special={case.special}{raw}: {self.message}"]
        if self.known:
            lines.append(f"  known defect: {self.known}")
        lines.append(f"  steps: {', '.join(case.ops)}")
        what = case.outputs if self.output < 0 else [case.outputs[self.output]]
        kind = ("gradient w.r.t. " + case.grads_of[self.output - n_forward(case)].name
                if 0 <= self.output and self.output >= n_forward(case) else "output")
        lines.append(f"  {kind} {self.output}:" if self.output >= 0 else "  outputs:")
        lines.append(_indent(gc.listing(what), 4))
        lines.append("  inputs: " + "; ".join(f"{i.name}:{i.type} = {_brief(v)}" for i, v in zip(case.inputs, case.values)
                                              if i in set(toposort(what))))
        if self.minimised:
            lines.append("  minimised (inputs hold the reference's values of the nodes they replace):")
            lines.append(_indent(self.minimised, 4))
        lines.append(f"  reproduce: {repro}")
        return "\n".join(lines)


def n_forward(case: Case) -> int:
    return len(case.outputs) - len(case.grads_of)


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def _brief(v: np.ndarray) -> str:
    if v.size <= 12:
        return np.array2string(v, separator=", ", precision=9, floatmode="maxprec").replace("\n", "")
    return f"array{v.shape} {v.dtype} in [{np.nanmin(v) if v.dtype.kind == 'f' else v.min()}, " \
           f"{np.nanmax(v) if v.dtype.kind == 'f' else v.max()}]"


# ------------------------------------------------------------------------------------------
# Converting a graph between float dtypes (for the error estimate)

def convert(outputs: Sequence[gc.Node], feed: dict, src: str, dst: str) -> tuple[list[gc.Node], dict]:
    """`outputs` rebuilt with every `src` float input, constant and dtype parameter made `dst`."""
    src_t, dst_t = np.dtype(src), np.dtype(dst)
    new_feed = {}

    def transform(node: gc.Node, inputs: tuple) -> gc.Node:
        op = node.op
        if isinstance(op, Input):
            if node.dtype != src_t:
                new_feed[node] = feed[node]
                return node
            new = gc.tensor(op.label, node.shape, dst_t)
            new_feed[new] = feed[node].astype(dst_t)
            return new
        if isinstance(op, Constant):
            return gc.constant(op.value.astype(dst_t)) if op.value.dtype == src_t else node
        if not node.inputs:
            return node
        if dataclasses.is_dataclass(op):
            changes = {f.name: dst_t for f in dataclasses.fields(op)
                       if isinstance(getattr(op, f.name), np.dtype) and getattr(op, f.name) == src_t}
            if changes:
                op = dataclasses.replace(op, **changes)
        if op is node.op and inputs == node.inputs:
            return node
        return gc.Node.make(op, inputs)

    return rebuild(list(outputs), transform=transform), new_feed


# ------------------------------------------------------------------------------------------
# Comparison

def compare(got: np.ndarray, ref: np.ndarray, alt: Optional[np.ndarray],
            samples: Sequence[np.ndarray] = ()) -> Optional[str]:
    """None when `got` (llvm) agrees with `ref` (numpy), else what differs. `alt` is the
    same output computed in the other float dtype; `samples` are reference runs with every
    rounding op's result moved by an ulp or two (see the module docstring). An element of
    `got` also passes when it matches one of the samples: rounding may flip a comparison."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.dtype != ref.dtype:
        return f"dtype {got.dtype}, reference {ref.dtype}"
    if got.shape != ref.shape:
        return f"shape {got.shape}, reference {ref.shape}"
    samples = [np.asarray(s) for s in samples if np.shape(s) == ref.shape]
    if ref.dtype == np.float32 and alt is not None and alt.dtype == np.float64 and alt.shape == ref.shape:
        # the float64 value rounded once is right too: a fused multiply-add may skip an
        # intermediate overflow or rounding that numpy's float32 arithmetic has
        with np.errstate(over="ignore"):
            samples.append(alt.astype(np.float32))
    if ref.dtype.kind != "f":
        bad = got != ref
        for s in samples:
            bad &= got != s
        return _where(bad, got, ref, alt, "differ") if bad.any() else None
    error = 0.0
    if alt is not None:
        error = _distance(ref, alt) * (EPS64 / EPS32 if ref.dtype == np.float64 else 1.0)
    for s in samples:
        error = max(error, _distance(ref, s))
    bad, what = _disagree(got, ref, alt, error)
    for s in samples:
        bad &= _disagree(got, s, alt, error)[0]
    if bad.any():
        return _where(bad, got, ref, alt, what)
    return None


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| where both are finite (0 if nowhere)."""
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.abs(a[both].astype(np.float64) - b[both]).max(initial=0.0))


def _disagree(got: np.ndarray, ref: np.ndarray, alt: Optional[np.ndarray], error: float) -> tuple[np.ndarray, str]:
    """Where `got` differs from `ref` beyond the bounds, and how."""
    info = np.finfo(ref.dtype)
    nan_g, nan_r = np.isnan(got), np.isnan(ref)
    bad_nan = nan_g != nan_r
    big = info.max / 8
    inf_g, inf_r = np.isinf(got), np.isinf(ref)
    bad_inf = (inf_g | inf_r) & ~nan_r & ~nan_g & (got != ref)
    near_overflow = np.abs(np.where(inf_g, ref, got)) > big
    if alt is not None:
        near_overflow |= np.abs(alt.astype(np.float64)) > big
    bad_inf &= ~(near_overflow & (np.sign(got) == np.sign(ref)))
    finite = np.isfinite(got) & np.isfinite(ref)
    g, r = np.where(finite, got, 0).astype(np.float64), np.where(finite, ref, 0).astype(np.float64)
    scale = float(np.abs(r).max(initial=0.0))
    bound = K * error + K * float(info.eps) * scale + RTOL[ref.dtype] * np.abs(r)
    bad_value = finite & (np.abs(g - r) > bound)
    if bad_nan.any():
        what = "nan in one only"
    elif bad_inf.any():
        what = "inf differs"
    else:
        what = f"values differ (reference error estimate {error:.3g}, max |ref| {scale:.3g})"
    return bad_nan | bad_inf | bad_value, what


def _where(mask: np.ndarray, got: np.ndarray, ref: np.ndarray, alt: Optional[np.ndarray], what: str) -> str:
    idx = np.argwhere(mask)
    lines = [f"{what} at {len(idx)} of {mask.size} elements"]
    for i in idx[:4]:
        i = tuple(int(v) for v in i)
        extra = f", other dtype {alt[i]!r}" if alt is not None and alt.shape == ref.shape else ""
        lines.append(f"    [{', '.join(map(str, i))}]: llvm {got[i]!r}, numpy {ref[i]!r}{extra}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Reference runs with perturbed rounding (how much an output moves when the ops that round
# round differently, as the llvm backend's may: another summation order, another exp)

_EXACT_FNS = {"neg", "abs", "sign", "maximum", "minimum", "where", "relu", "lt", "le", "gt", "ge", "eq", "ne",
              "logical_and", "logical_or", "logical_not"}


def _rounds(node: gc.Node) -> bool:
    """Whether an op's float result is rounded (so another backend may round it otherwise)."""
    op = node.op
    if node.dtype.kind != "f" or not node.inputs:
        return False
    if isinstance(op, Elemwise):
        return op.fn not in _EXACT_FNS
    if isinstance(op, Reduce):
        return op.kind == "sum"
    if isinstance(op, Cast):
        return node.inputs[0].dtype.kind != "f" or node.inputs[0].dtype.itemsize > node.dtype.itemsize
    return type(op).__name__ not in _EXACT_OPS


_EXACT_OPS = {"Reshape", "Transpose", "BroadcastTo", "ExpandDims", "Squeeze", "Concatenate", "Pad", "Flip",
              "GetItem", "MatchShape", "MaxPool", "MaxPoolGather", "OneHot", "ScatterInto"}


#: Ops whose result sums many terms (in another order on the llvm backend): their error is
#: relative to the sum of the terms' magnitudes, which this op computes from |inputs|.
_SUMS = {"MatMul", "Conv", "ConvInputGrad", "ConvWeightGrad", "AvgPool", "AvgPoolGrad"}
#: Ops that read an input more than once (x - max(x)): error relative to the input's size.
_SHIFTS = {"Softmax", "LogSoftmax", "LogSumExp"}


def _sums_terms(node: gc.Node) -> bool:
    return type(node.op).__name__ in _SUMS or (isinstance(node.op, Reduce) and node.op.kind == "sum")


def _magnitude(node: gc.Node, args: list[np.ndarray]) -> Optional[np.ndarray]:
    """The size of the terms that `node`'s result is a sum of, or None for other ops."""
    name = type(node.op).__name__
    if _sums_terms(node):  # in long double: the terms' sum may overflow where the result does not
        wide = [np.abs(a).astype(np.longdouble) if a.dtype.kind == "f" else a for a in args]
        return np.abs(np.asarray(node.op.reference(*wide), dtype=np.longdouble))
    if name in _SHIFTS:
        finite = np.abs(args[0][np.isfinite(args[0])])
        return np.full(node.shape if node.type.is_static else (), finite.max(initial=0.0), np.float64)
    return None


@dataclass
class Perturbed:
    """Reference runs with perturbed rounding (see `perturbed_runs`)."""

    runs: list[list[np.ndarray]]   # per run, the outputs' values
    order_dependent: list[bool]    # per output: depends on a sum whose terms may overflow

    def of(self, k: int) -> list[np.ndarray]:
        return [run[k] for run in self.runs]


def perturbed_runs(case: Case, outputs: Sequence[gc.Node], seeds: Sequence[int] = (1, 2, 3),
                   feed: Optional[dict] = None) -> Perturbed:
    """The reference's values of `outputs` with the result of every rounding op moved by up
    to `k` ulp (k = 1, 2, 4), one run per seed; every use of a node sees the same value, so
    x == max(x) still holds somewhere. Sums move by k ulp of the sum of their terms'
    magnitudes (another summation order).
    An output that depends on a sum whose terms' magnitudes add up past the largest float
    is order-dependent: the order decides between inf, nan and any finite value there."""
    order = toposort(list(outputs))
    feed = case.feed if feed is None else feed
    runs = []
    tainted: set[gc.Node] = set()
    for k, seed in zip((1, 2, 4), seeds):
        rng = np.random.default_rng(seed)

        def moved(node: gc.Node, v: np.ndarray) -> np.ndarray:
            if not _rounds(node) or not v.size:
                return v
            eps = float(np.finfo(node.dtype).eps)
            return (v.astype(np.float64) * (1 + k * eps * rng.uniform(-1, 1, v.shape))).astype(node.dtype)

        values: dict[gc.Node, np.ndarray] = {}
        _reset_streams([case])
        with np.errstate(all="ignore"):
            for node in order:
                if node in feed:
                    values[node] = feed[node]
                    continue
                if not node.inputs:
                    values[node] = gc.evaluate([node], {})[0]
                    continue
                args = [values[i] for i in node.inputs]
                v = moved(node, np.asarray(node.op.reference(*args), dtype=node.dtype))
                size = _magnitude(node, args) if node.dtype.kind == "f" else None
                if size is not None and v.size:
                    eps = float(np.finfo(node.dtype).eps)
                    size = np.broadcast_to(size, v.shape)
                    top = float(np.finfo(node.dtype).max)
                    shift = np.clip(k * eps * size * rng.uniform(-1, 1, v.shape), -top, top).astype(np.float64)
                    moved_v = np.clip(v.astype(np.float64) + np.where(np.isfinite(shift), shift, 0), -top, top)
                    v = np.where(np.isfinite(v), moved_v, v).astype(node.dtype)
                    if _sums_terms(node) and (size > top / 4).any():
                        tainted.add(node)
                if any(i in tainted for i in node.inputs):
                    tainted.add(node)
                values[node] = v
            runs.append([values[o] for o in outputs])
    return Perturbed(runs, [o in tainted for o in outputs])


def _is_mul(node: gc.Node) -> bool:
    return isinstance(node.op, Elemwise) and node.op.fn == "mul" and node.dtype.kind == "f"


def fma_runs(case: Case, output: gc.Node) -> list[np.ndarray]:
    """`output` as a fused multiply-add computes it: (1) every a * b + c and a * b - c
    computed with the product exact (long double) and rounded once; (2) every float value
    in long double, rounded to its dtype at the end. None where an op refuses."""
    runs = []
    for everywhere in (False, True):
        values: dict[gc.Node, np.ndarray] = {}
        _reset_streams([case])
        try:
            with np.errstate(all="ignore"):
                for node in toposort([output]):
                    if node in case.feed:
                        v = case.feed[node]
                    elif not node.inputs:
                        v = gc.evaluate([node], {})[0]
                    elif isinstance(node.op, Elemwise) and (everywhere or (
                            node.op.fn in ("add", "sub") and any(_is_mul(i) for i in node.inputs))):
                        args = [np.asarray(i.op.scalar.numpy(*(values[j].astype(np.longdouble) for j in i.inputs)))
                                if _is_mul(i) and not everywhere else values[i] for i in node.inputs]
                        v = np.asarray(node.op.scalar.numpy(*(a.astype(np.longdouble) if a.dtype.kind == "f" else a
                                                                for a in args)))
                    elif isinstance(node.op, Cast) and node.dtype.kind == "f" and everywhere:
                        v = values[node.inputs[0]]
                    else:
                        v = np.asarray(node.op.reference(*(values[i] for i in node.inputs)))
                    if everywhere and node.dtype.kind == "f":
                        values[node] = v.astype(np.longdouble)
                    else:
                        values[node] = v.astype(node.dtype)
            runs.append(values[output].astype(output.dtype))
        except Exception:  # noqa: BLE001 - an op that wants its own dtypes: no such run
            pass
    return runs


# ------------------------------------------------------------------------------------------
# Known defects (being fixed elsewhere): recognised from the reference's intermediate values

def _conv_input_grad_nonfinite_weight(nodes, values) -> bool:
    return any(not np.isfinite(values[n.inputs[1]]).all() for n in nodes
               if type(n.op).__name__ == "ConvInputGrad" and n.inputs[1] in values)


def _trigonometry_beyond_its_range(nodes, values) -> bool:
    return any(np.any(np.abs(values[n.inputs[0]]) >= TRIG_LIMIT[n.dtype.name]) for n in nodes
               if isinstance(n.op, Elemwise) and n.op.fn in ("sin", "cos", "tan") and n.inputs[0] in values)


#: Not a predicate: a mismatch that a long-double evaluation reproduces (see run_batch).
FMA = ("llvm contracts a * b + c into a fused multiply-add (emitter FAST = contract), so a * b "
       "neither rounds nor overflows there as in numpy")

#: Defects found and not fixed yet, each recognised from the reference's intermediate values
#: of the output: (nodes, values) -> whether the mismatch may be this defect.
KNOWN: dict[str, Callable] = {
    "llvm conv input gradient is nan next to the border when the weight holds inf": _conv_input_grad_nonfinite_weight,
    "sin, cos and tan are nan beyond their argument reduction's range (documented in docs/ops.md)":
        _trigonometry_beyond_its_range,
}


def known_defect(output: gc.Node, feed: dict) -> Optional[str]:
    nodes = toposort([output])
    with np.errstate(all="ignore"):
        values = dict(zip(nodes, gc.evaluate(nodes, feed)))
    for name, test in KNOWN.items():
        if test(nodes, values):
            return name
    return None


# ------------------------------------------------------------------------------------------
# Running

@dataclass
class Batch:
    """Cases compiled into one llvm function."""

    cases: list[Case]
    mismatches: list[Mismatch] = field(default_factory=list)
    outputs_checked: int = 0
    order_dependent: int = 0   # outputs that differed where the summation order decides


def _reset_streams(cases: Sequence[Case]) -> None:
    for c in cases:
        if c.stream is not None:
            c.stream.key.set_value(np.int64(c.seed % (1 << 30)))


def _simplified(cases: Sequence[Case]) -> list[gc.Node]:
    """The outputs of the cases, simplified (in one call) unless the case is `raw`."""
    done = iter(gc.simplify([o for c in cases if not c.raw for o in c.outputs]) if any(not c.raw for c in cases)
                else [])
    return [o if c.raw else next(done) for c in cases for o in c.outputs]


def run_llvm(inputs, simplified, values, cases) -> list[np.ndarray]:
    """The llvm backend's values of the already simplified outputs. Both backends run one
    simplified graph: two simplified graphs that agree on finite values may differ at inf
    and nan."""
    _reset_streams(cases)
    return gc.function(inputs, simplified, backend="llvm", simplify=False)(*values)


def run_batch(cases: Sequence[Case], minimise: bool = True) -> Batch:
    """Compile the cases as one llvm function, compare each output with the reference,
    and return the mismatches (errors of one case are isolated by running it alone)."""
    batch = Batch(list(cases))
    inputs = [i for c in cases for i in c.inputs]
    values = [v for c in cases for v in c.values]
    with np.errstate(all="ignore"):
        try:
            stage = "simplify"
            simplified = _simplified(cases)
            stage = "the numpy reference"
            _reset_streams(cases)
            ref = gc.function(inputs, simplified, backend="numpy", simplify=False)(*values)
            stage = "llvm"
            got = run_llvm(inputs, simplified, values, cases)
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            if len(cases) == 1:
                batch.mismatches.append(Mismatch(cases[0], -1, f"{stage} raised {type(e).__name__}: {e}"))
                return batch
            for c in cases:  # which case is it?
                one = run_batch([c], minimise)
                batch.mismatches += one.mismatches
                batch.outputs_checked += one.outputs_checked
                batch.order_dependent += one.order_dependent
            if not batch.mismatches:
                batch.mismatches.append(Mismatch(cases[0], -1, f"{stage} raised {type(e).__name__}: {e} on the batch "
                                                 f"of seeds {[c.seed for c in cases]} but not on any case alone"))
            return batch
        start = 0
        for c in cases:
            n = len(c.outputs)
            simp = simplified[start:start + n]
            alts = _alternates(c, simp)
            samples = None
            for k in range(n):
                batch.outputs_checked += 1
                problem = compare(got[start + k], ref[start + k], alts[k])
                if problem is not None:  # can rounding explain it?
                    samples = samples or perturbed_runs(c, simp)
                    problem = compare(got[start + k], ref[start + k], alts[k], samples.of(k))
                    if problem is not None and samples.order_dependent[k]:
                        batch.order_dependent += 1
                        problem = None
                if problem is not None:
                    m = Mismatch(c, k, problem, known_defect(simp[k], c.feed))
                    if m.known is None:  # what a fused multiply-add gives (no rounding or overflow of a * b)?
                        fused = fma_runs(c, simp[k])
                        if fused and compare(got[start + k], ref[start + k], alts[k], fused) is None:
                            m.known = FMA
                    if minimise and not m.known:
                        m.minimised = minimise_output(c, k)
                    batch.mismatches.append(m)
            start += n
    return batch


def _alternates(case: Case, simplified: Sequence[gc.Node]) -> list[Optional[np.ndarray]]:
    """Each output computed in the other float dtype (float32 outputs in float64, and the
    other way round), by the reference."""
    out: list[Optional[np.ndarray]] = [None] * len(simplified)
    for src, dst in (("float32", "float64"), ("float64", "float32")):
        picked = [k for k, o in enumerate(simplified) if o.dtype == np.dtype(src)]
        if not picked:
            continue
        try:
            converted, feed = convert([simplified[k] for k in picked], case.feed, src, dst)
            _reset_streams([case])
            vals = gc.evaluate(converted, feed)
        except Exception:  # noqa: BLE001 - no estimate then (the bounds are the tight ones)
            continue
        for k, v in zip(picked, vals):
            out[k] = v
    return out


# ------------------------------------------------------------------------------------------
# Minimising

def _fails(case: Case, output: gc.Node, feed: dict) -> bool:
    inputs = list(feed)
    values = [feed[i] for i in inputs]
    with np.errstate(all="ignore"):
        try:
            (simp,) = [output] if case.raw else gc.simplify([output])
            _reset_streams([case])
            ref = gc.evaluate([simp], feed)[0]
        except Exception:  # noqa: BLE001 - not a valid reduction
            return False
        try:
            got = run_llvm(inputs, [simp], values, [case])[0]
        except Exception:  # noqa: BLE001
            return True
        alt = None
        if simp.dtype.kind == "f":
            src, dst = (simp.dtype.name, "float64" if simp.dtype == np.float32 else "float32")
            try:
                conv, cfeed = convert([simp], feed, src, dst)
                _reset_streams([case])
                alt = gc.evaluate(conv, cfeed)[0]
            except Exception:  # noqa: BLE001
                alt = None
        if compare(got, ref, alt) is None:
            return False
        try:
            perturbed = perturbed_runs(case, [simp], feed=feed)
        except Exception:  # noqa: BLE001
            return True
        return compare(got, ref, alt, perturbed.of(0)) is not None and not perturbed.order_dependent[0]


def minimise_output(case: Case, k: int, budget: int = 60) -> Optional[str]:
    """A smaller graph on which the llvm backend still disagrees: nodes are replaced, from
    the output down, by inputs holding the reference's value for them."""
    output = case.outputs[k]
    feed = {i: v for i, v in zip(case.inputs, case.values) if i in set(toposort([output]))}
    if not _fails(case, output, feed):
        return None
    tried = 0
    changed = True
    counter = 0
    while changed and tried < budget:
        changed = False
        nodes = [n for n in reversed(toposort([output])) if n.inputs and n is not output]
        with np.errstate(all="ignore"):
            values = dict(zip(nodes, gc.evaluate(nodes, feed)))
        for n in nodes:
            if tried >= budget:
                break
            if n not in set(toposort([output])) or values[n].size > 50_000:
                continue
            counter += 1
            leaf = gc.tensor(f"v{counter}", n.shape, n.dtype)
            (candidate,) = rebuild([output], {n: leaf})
            cfeed = {i: v for i, v in feed.items() if i in set(toposort([candidate]))}
            cfeed[leaf] = np.asarray(values[n])
            tried += 1
            if _fails(case, candidate, cfeed):
                output, feed, changed = candidate, cfeed, True
    lines = [gc.listing(output)]
    for i, v in feed.items():
        lines.append(f"{i.name}:{i.type} = {_brief(v)}")
    return "\n".join(lines)
