"""Generated code stays inside its buffers: slicing with negative steps, scatter, pad,
flip, concatenate, pooling windows at borders, convolution padding, matmul edges,
softmax, and gathers and scatter-adds through index arrays (also with an index out of
range, which must fail the call without a stray access), at random odd shapes, each
buffer between red zones (bounds_harness.py).

test_semantics_guard_pages.py runs a fixed set of these under guard pages.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphc.backend.llvm.loopir import Buffer, Kernel, Program, const
from graphc.backend.llvm.runtime import compile_program

from .bounds_harness import RedZones, run_case

FEW = settings(max_examples=6, deadline=None)
DIM = st.integers(1, 7)
DTYPES = st.sampled_from(["float32", "float64"])
SHAPES = st.lists(DIM, min_size=1, max_size=3)


@st.composite
def index_items(draw, shape):
    """A basic index of `shape` as JSON items: ints, None and [start, stop, step] with
    out-of-range bounds and negative steps."""
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["slice", "slice", "int", "all"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "all":
            items.append([None, None, None])
        else:
            bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            items.append([draw(bound), draw(bound), draw(st.sampled_from([-3, -2, -1, 1, 2, 3]))])
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return items


def _run(family, params):
    run_case(family, params, RedZones())


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_getitem_with_negative_steps(data, dtype):
    shape = data.draw(SHAPES)
    _run("getitem", {"shape": shape, "items": data.draw(index_items(shape)), "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_scatter_into_from_strided_slices(data, dtype):
    shape = data.draw(SHAPES)
    _run("scatter", {"shape": shape, "items": data.draw(index_items(shape)), "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_pad(data, dtype):
    shape = data.draw(SHAPES)
    widths = [[data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))] for _ in shape]
    _run("pad", {"shape": shape, "widths": widths, "value": data.draw(st.sampled_from([0.0, -1.5])),
                 "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_flip(data, dtype):
    shape = data.draw(SHAPES)
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    _run("flip", {"shape": shape, "axes": axes, "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_concatenate(data, dtype):
    shape = data.draw(SHAPES)
    axis = data.draw(st.integers(0, len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    shapes = [[n if d != axis else k for d, n in enumerate(shape)] for k in sizes]
    _run("concatenate", {"shapes": shapes, "axis": axis, "dtype": dtype})


@st.composite
def window(draw, max_pad=None):
    """(size, kernel, stride, (lo, hi)) of one axis whose padded size holds a window."""
    k, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if max_pad is None:
        lo, hi = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    else:
        lo = hi = draw(st.integers(0, max_pad(k)))
    n = draw(st.integers(max(1, k - lo - hi), 9))
    return n, k, s, (lo, hi)


@FEW
@given(data=st.data(), dtype=DTYPES, kind=st.sampled_from(["max", "avg"]), rank=st.sampled_from([1, 2]))
def test_pooling_windows_at_borders(data, dtype, kind, rank):
    axes = [data.draw(window(max_pad=lambda k: k // 2)) for _ in range(rank)]
    lead = [data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))]
    _run("pool", {"shape": lead + [a[0] for a in axes], "kernel": [a[1] for a in axes],
                  "stride": [a[2] for a in axes], "padding": [a[3][0] for a in axes], "kind": kind, "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_conv_padding_and_strides(data, dtype, rank):
    axes = [data.draw(window()) for _ in range(rank)]
    n, cin, cout = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 5))
    _run("conv", {"x": [n, cin] + [a[0] for a in axes], "w": [cout, cin] + [a[1] for a in axes],
                  "stride": [a[2] for a in axes], "padding": [list(a[3]) for a in axes], "dtype": dtype})


@FEW
@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40), dtype=DTYPES, bt=st.booleans())
def test_matmul_edges(m, k, n, dtype, bt):
    _run("matmul", {"a": [m, k], "b": [n, k] if bt else [k, n], "dtype": dtype, "bt": bt})


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_softmax_and_reductions(data, dtype):
    shape = data.draw(SHAPES)
    _run("softmax", {"shape": shape, "axis": data.draw(st.integers(0, len(shape) - 1)), "dtype": dtype})


@st.composite
def gather_case(draw, out_of_range=False):
    """Parameters of the "gather" family: a kind, an axis and index values (negative ones
    and repeats included); with `out_of_range` one index is outside the axis, and the case
    expects the call to fail naming it."""
    kind = draw(st.sampled_from(["take", "along", "getitem", "index_add", "embedding"]))
    shape = draw(st.lists(DIM, min_size=2 if kind == "embedding" else 1, max_size=2 if kind == "embedding" else 3))
    axis = 0 if kind == "embedding" else draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    if kind == "along":
        index_shape = [draw(st.integers(1, 4)) if d == axis else draw(st.sampled_from([1, m])) for d, m in enumerate(shape)]
    elif kind == "index_add":
        index_shape = [draw(st.integers(1 if out_of_range else 0, 5))]
    else:
        index_shape = draw(st.lists(st.integers(1, 3), max_size=2))
    count = int(np.prod(index_shape, dtype=np.int64))
    values = draw(st.lists(st.integers(-n, n - 1), min_size=count, max_size=count))
    params = {"shape": shape, "axis": axis, "kind": kind, "dtype": draw(DTYPES),
              "index_dtype": draw(st.sampled_from(["int64", "int32"]))}
    if out_of_range:
        bad = draw(st.sampled_from([n, n + 3, -n - 1]))
        values[draw(st.integers(0, count - 1))] = bad
        params["raises"] = rf"\w+: index {bad} is out of range for axis {axis} of size {n}"
    params["index"] = np.reshape(np.array(values, np.int64), index_shape).tolist()
    return params


@FEW
@given(params=gather_case())
def test_gathers_and_scatter_adds(params):
    _run("gather", params)


@FEW
@given(params=gather_case(out_of_range=True))
def test_an_index_out_of_range_fails_the_call_without_a_stray_access(params):
    _run("gather", params)


def test_red_zones_catch_a_stray_write():
    """The harness itself: a kernel storing one element past its output is caught."""
    out = Buffer("out", "float32", (5,))
    program = Program("stray", (out,), (Kernel("stray", out.store((const(5),), const(1.0, "float32"))),))
    memory = RedZones()
    array = memory.raw("out", 20).view(np.float32)
    compile_program(program)(array)
    with pytest.raises(AssertionError, match="stray write after buffer out"):
        memory.check()
