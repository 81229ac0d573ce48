"""Generated code of the modern-CNN layers stays inside its buffers: grouped, dilated and
transposed convolutions, pooling with dilation,
ceil_mode and count_include_pad, adaptive pooling, interpolation, reflect/edge padding,
normalisations and activations, at random odd shapes between red zones (bounds_harness.py)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .bounds_harness import RedZones, run_case

FEW = settings(max_examples=6, deadline=None)
DTYPES = st.sampled_from(["float32", "float64"])


def _run(family, params):
    run_case(family, params, RedZones())


@st.composite
def pool_axis(draw, dilated):
    """(size, kernel, stride, padding, dilation) of one axis that holds a window."""
    k, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    d = draw(st.integers(1, 3)) if dilated else 1
    pad = draw(st.integers(0, k // 2))
    n = draw(st.integers(max(1, (k - 1) * d + 1 - 2 * pad), 10))
    return n, k, s, pad, d


@FEW
@given(data=st.data(), dtype=DTYPES, kind=st.sampled_from(["max", "avg"]), rank=st.sampled_from([1, 2]),
       ceil_mode=st.booleans())
def test_pooling_options_at_borders(data, dtype, kind, rank, ceil_mode):
    axes = [data.draw(pool_axis(kind == "max")) for _ in range(rank)]
    params = {"shape": [data.draw(st.integers(1, 2)), 2] + [a[0] for a in axes], "kernel": [a[1] for a in axes],
              "stride": [a[2] for a in axes], "padding": [a[3] for a in axes], "kind": kind, "dtype": dtype,
              "ceil_mode": ceil_mode}
    if kind == "max":
        params["dilation"] = [a[4] for a in axes]
    else:
        params["count_include_pad"] = data.draw(st.booleans())
    _run("pool", params)


@FEW
@given(data=st.data(), dtype=DTYPES, fn=st.sampled_from(["adaptive_avg_pool2d", "adaptive_max_pool2d"]))
def test_adaptive_pooling(data, dtype, fn):
    shape = [data.draw(st.integers(1, 2)), 2, data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))]
    out = [data.draw(st.integers(1, 10)), data.draw(st.integers(1, 10))]
    _run("resample", {"shape": shape, "fn": fn, "args": [out], "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, mode=st.sampled_from(["nearest", "bilinear"]), corners=st.booleans())
def test_interpolation(data, dtype, mode, corners):
    shape = [data.draw(st.integers(1, 2)), 2, data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))]
    size = [data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12))]
    kwargs = {"mode": mode, "align_corners": corners and mode == "bilinear"}
    _run("resample", {"shape": shape, "fn": "interpolate", "args": [size], "kwargs": kwargs, "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, mode=st.sampled_from(["reflect", "edge"]))
def test_reflect_and_edge_padding(data, dtype, mode):
    shape = [data.draw(st.integers(2, 7)) for _ in range(data.draw(st.integers(1, 3)))]
    widths = [[data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))] for n in shape]
    _run("pad_mode", {"shape": shape, "widths": widths, "mode": mode, "dtype": dtype})


@pytest.mark.parametrize("fn, args, shape", [
    ("group_norm", [3], [2, 6, 5, 3]),
    ("instance_norm", [], [1, 3, 7]),
    ("layer_norm", [[5, 3]], [3, 2, 5, 3]),
    ("local_response_norm", [3], [2, 5, 3, 4]),
    ("gelu", [], [3, 17]),
    ("hardswish", [], [5, 9]),
    ("elu", [], [2, 3, 7]),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normalisations_and_activations(fn, args, shape, dtype):
    _run("norm", {"shape": shape, "fn": fn, "args": args, "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_grouped_dilated_conv(data, dtype, rank):
    groups, per_in, per_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    axes = []
    for _ in range(rank):
        k, s, d = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        lo, hi = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))
        axes.append((data.draw(st.integers(max(1, (k - 1) * d + 1 - lo - hi), 9)), k, s, [lo, hi], d))
    _run("conv", {"x": [data.draw(st.integers(1, 2)), groups * per_in] + [a[0] for a in axes],
                  "w": [groups * per_out, per_in] + [a[1] for a in axes], "stride": [a[2] for a in axes],
                  "padding": [a[3] for a in axes], "dilation": [a[4] for a in axes], "groups": groups,
                  "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_conv_transpose(data, dtype, rank):
    groups, per_in, per_out = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    ks, ss, ds = ([data.draw(st.integers(1, 3)) for _ in range(rank)] for _ in range(3))
    pads = [data.draw(st.integers(0, (k - 1) * d // 2)) for k, d in zip(ks, ds)]
    extras = [data.draw(st.integers(0, s - 1)) for s in ss]
    sizes = [data.draw(st.integers(1, 6)) for _ in range(rank)]
    _run("conv_transpose", {"x": [data.draw(st.integers(1, 2)), groups * per_in] + sizes,
                            "w": [groups * per_in, per_out] + ks, "stride": ss, "padding": pads,
                            "output_padding": extras, "groups": groups, "dilation": ds, "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_conv_transpose_interleaved_phases(data, dtype, rank):
    """Stride-2 transposed convolutions with even kernels, full channel vectors and wide
    rows, whose two column phases are stored interleaved along the output rows (and with
    output_padding, of unequal phases, each where it lies)."""
    k = data.draw(st.sampled_from([2, 4]))
    width, extra = data.draw(st.integers(8, 20)), data.draw(st.integers(0, 1))
    rows = [data.draw(st.integers(1, 3))] if rank == 2 else []
    _run("conv_transpose", {"x": [data.draw(st.integers(1, 2)), 2] + rows + [width],
                            "w": [2, 16 if dtype == "float32" else 8] + [2] * (rank - 1) + [k],
                            "stride": [2] * rank, "padding": [0] * (rank - 1) + [data.draw(st.integers(0, k // 2 - 1))],
                            "output_padding": [0] * (rank - 1) + [extra], "groups": 1, "dilation": [1] * rank,
                            "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_pointwise_conv_as_products(data, dtype, rank):
    """1x1 convolutions large enough to run as one product per image (kernels/pointwise.py)."""
    sizes = [data.draw(st.integers(784, 800))] if rank == 1 else [28, data.draw(st.integers(28, 30))]
    cin, cout = data.draw(st.integers(1, 3)), data.draw(st.integers(24, 27))
    _run("conv", {"x": [data.draw(st.integers(1, 2)), cin] + sizes, "w": [cout, cin] + [1] * rank,
                  "stride": [1] * rank, "padding": [[0, 0]] * rank, "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_small_depthwise_conv(data, dtype, rank):
    """Depthwise convolutions of small images (kernels/depthwise.forward_small) at borders."""
    axes = []
    for _ in range(rank):
        k, s, d = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
        lo, hi = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))
        axes.append((data.draw(st.integers(max(1, (k - 1) * d + 1 - lo - hi), 6)), k, s, [lo, hi], d))
    channels = data.draw(st.integers(2, 19))
    _run("conv", {"x": [data.draw(st.integers(1, 2)), channels] + [a[0] for a in axes],
                  "w": [channels, 1] + [a[1] for a in axes], "stride": [a[2] for a in axes],
                  "padding": [a[3] for a in axes], "dilation": [a[4] for a in axes], "groups": channels,
                  "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES, multiplier=st.integers(1, 2))
def test_strided_depthwise_conv(data, dtype, multiplier):
    """Strided depthwise convolutions of images past forward_small's: the positions kernel
    splitting each work item's planes into stride phases itself (conv._phase_stage), rows
    wide enough for pairs of vectors split by shuffles; images of 1024 pixels and more
    have their gradients' planes made per work item too."""
    axes = []
    for size in ((5, 40), (30, 44)):
        k, d = data.draw(st.integers(2, 3)), data.draw(st.integers(1, 2))
        lo, hi = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))
        axes.append((data.draw(st.integers(*size)), k, data.draw(st.integers(2, 3)), [lo, hi], d))
    channels = data.draw(st.integers(1, 5))
    _run("conv", {"x": [data.draw(st.integers(1, 2)), channels] + [a[0] for a in axes],
                  "w": [channels * multiplier, 1] + [a[1] for a in axes], "stride": [a[2] for a in axes],
                  "padding": [a[3] for a in axes], "dilation": [a[4] for a in axes], "groups": channels,
                  "dtype": dtype})


@FEW
@given(data=st.data(), dtype=DTYPES)
def test_pointwise_weight_gradient_as_product(data, dtype):
    """1x1 convolutions of 1x1 images whose weight gradient is one product (pointwise.weight_grad_1x1)."""
    cin, cout = data.draw(st.integers(64, 70)), data.draw(st.integers(64, 70))
    _run("conv", {"x": [data.draw(st.integers(1, 3)), cin, 1, 1], "w": [cout, cin, 1, 1], "stride": [1, 1],
                  "padding": [[0, 0], [0, 0]], "dtype": dtype})
