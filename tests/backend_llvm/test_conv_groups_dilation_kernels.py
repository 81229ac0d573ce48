"""The native convolution kernels with channel groups and dilated taps against the ops'
numpy references: grouped, depthwise (with a channel multiplier), dilated with and
without stride (the input gradient's phases then have their own tap sets), 1-D and 2-D,
every micro-kernel, both dtypes, threaded."""
import numpy as np
import pytest

from graphc.backend.llvm.kernels import conv, depthwise
from graphc.backend.llvm.kernels.simd import host_simd
from graphc.backend.llvm.loopir import Load, binop, const
from graphc.ops.nn.conv import Conv, ConvInputGrad, ConvWeightGrad

from .nn_kernels import assert_matches, conv_micros, run_builder

# (input, weight, stride, (lo, hi) padding per axis, dilation, groups)
SHAPES = [
    ((2, 4, 9, 11), (6, 2, 3, 2), (1, 1), ((1, 1), (0, 0)), (1, 1), 2),     # two groups
    ((1, 6, 8, 7), (6, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 6),     # depthwise, batch 1
    ((2, 3, 10, 9), (6, 1, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 3),    # depthwise x2, stride 2
    ((2, 3, 12, 13), (5, 3, 3, 2), (1, 1), ((2, 2), (1, 0)), (2, 3), 1),    # dilated
    ((1, 2, 15, 14), (3, 2, 3, 3), (2, 3), ((1, 2), (0, 1)), (2, 2), 1),    # dilated and strided, gcd > 1
    ((2, 4, 13, 12), (4, 2, 2, 3), (3, 2), ((0, 1), (2, 0)), (2, 3), 2),    # coprime stride/dilation, groups
    ((1, 5, 7, 9), (5, 1, 3, 3), (2, 2), ((0, 0), (0, 0)), (3, 2), 5),     # depthwise, dilated, strided
    ((2, 6, 17), (9, 2, 3), (2,), ((1, 1),), (2,), 3),                      # 1-D
    ((2, 4, 17), (8, 1, 3), (3,), ((2, 1),), (2,), 4),                      # 1-D depthwise x2, strided, dilated
]
IDS = [f"{x}x{w}s{s}d{d}g{g}" for x, w, s, _, d, g in SHAPES]


def _case(kind, x_shape, w_shape, stride, padding, dilation, groups, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=x_shape).astype(dtype)
    w = rng.normal(size=w_shape).astype(dtype)
    ops = [op(stride, padding, dilation, groups) for op in (Conv, ConvInputGrad, ConvWeightGrad)]
    gy = rng.normal(size=ops[0].reference(x, w).shape).astype(dtype)
    if kind == "forward":
        return conv.conv_forward, [x, w], ops[0].reference(x, w)
    if kind == "input_grad":
        return conv.conv_input_grad, [gy, w], ops[1].reference(gy, w, x)
    return conv.conv_weight_grad, [x, gy], ops[2].reference(x, gy, w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["forward", "input_grad", "weight_grad"])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", SHAPES, ids=IDS)
def test_matches_reference(x_shape, w_shape, stride, padding, dilation, groups, kind, dtype):
    build, inputs, want = _case(kind, x_shape, w_shape, stride, padding, dilation, groups, dtype)
    for micro in conv_micros(kind):
        options = {} if micro is None else {"micro": micro}
        got, _ = run_builder(build, inputs, want.shape, dtype, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, **options)
        assert_matches(got, want)


@pytest.mark.parametrize("kind", ["forward", "input_grad", "weight_grad"])
def test_threaded_groups(kind, monkeypatch):
    """Groups spread over the threads' work items: the result is the same."""
    monkeypatch.setattr(conv, "PARALLEL_MIN_FLOPS", 0)
    build, inputs, want = _case(kind, (3, 8, 11, 10), (8, 2, 3, 3), (1, 1), ((1, 1), (1, 1)), (2, 1), 4,
                                "float32")
    got, _ = run_builder(build, inputs, want.shape, "float32", stride=(1, 1), padding=((1, 1), (1, 1)),
                         dilation=(2, 1), groups=4, threads=2, nthreads=2)
    assert_matches(got, want)


DEPTHWISE = [s for s in SHAPES if s[0][1] == s[5]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", DEPTHWISE,
                         ids=[i for s, i in zip(SHAPES, IDS) if s in DEPTHWISE])
@pytest.mark.parametrize("staged", [True, False])
def test_depthwise_weight_grad(x_shape, w_shape, stride, padding, dilation, groups, staged, dtype, monkeypatch):
    """The depthwise kernel (taps in lanes along the output pixels) with and without
    stride, dilation and a channel multiplier, its planes split one at a time inside it
    or copied whole first."""
    monkeypatch.setattr(depthwise, "STAGE_MIN_PIXELS", 0 if staged else 10 ** 9)
    assert depthwise.applies(x_shape, w_shape, groups)
    _, inputs, want = _case("weight_grad", x_shape, w_shape, stride, padding, dilation, groups, dtype)
    got, kernels = run_builder(depthwise.weight_grad, inputs, want.shape, dtype, stride=stride, padding=padding,
                               dilation=dilation, groups=groups)
    assert any("dw_wgrad" in k.name for k in kernels)
    assert any("pad" in k.name for k in kernels) != staged
    assert_matches(got, want)


def test_depthwise_applies_only_to_one_channel_per_group():
    assert depthwise.applies((2, 8, 9, 9), (16, 1, 3, 3), 8)
    assert not depthwise.applies((2, 8, 9, 9), (8, 2, 3, 3), 4)       # two input channels per group
    assert not depthwise.applies((2, 1, 9, 9), (4, 1, 3, 3), 1)       # an ordinary convolution
    assert not depthwise.applies((2, 8, 40, 40), (8, 1, 11, 11), 8)   # more taps than registers


@pytest.mark.parametrize("staged", [True, False])
def test_threaded_depthwise_weight_grad(staged, monkeypatch):
    monkeypatch.setattr(depthwise, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setattr(depthwise, "STAGE_MIN_PIXELS", 0 if staged else 10 ** 9)
    args = ((3, 6, 11, 10), (12, 1, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 6)
    _, inputs, want = _case("weight_grad", *args, "float32")
    got, _ = run_builder(depthwise.weight_grad, inputs, want.shape, "float32", stride=(2, 2),
                         padding=((1, 1), (1, 1)), groups=6, threads=2, nthreads=2)
    assert_matches(got, want)


STRIDED_DEPTHWISE = [s for s in DEPTHWISE if depthwise.input_grad_applies(s[0], s[1], s[2], s[3], s[4], s[5])]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("micro", [None, "channels", "positions"])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", STRIDED_DEPTHWISE,
                         ids=[i for s, i in zip(SHAPES, IDS) if s in STRIDED_DEPTHWISE])
@pytest.mark.parametrize("threads", [1, 2])
def test_strided_depthwise_input_grad(x_shape, w_shape, stride, padding, dilation, groups, micro, threads, dtype,
                                      monkeypatch):
    """The spread-out output gradient correlated once at stride 1, with and without a
    channel multiplier and dilation, every micro-kernel, threaded: the positions kernel
    spreads each work item's planes itself (per-thread scratch), the channels kernel reads
    a spread copy of the whole gradient."""
    monkeypatch.setattr(conv, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setattr(depthwise, "STAGE_MIN_PIXELS", 0)
    _, inputs, want = _case("input_grad", x_shape, w_shape, stride, padding, dilation, groups, dtype)
    options = {} if micro is None else {"micro": micro}
    got, kernels = run_builder(depthwise.input_grad, inputs, want.shape, dtype, stride=stride, padding=padding,
                               dilation=dilation, groups=groups, threads=threads, nthreads=threads, **options)
    assert any("dw_dgrad" in k.name for k in kernels)
    staged = "spread_tile" in repr(next(k for k in kernels if "dw_dgrad" in k.name))
    assert staged != any("spread" in k.name for k in kernels)
    if micro is not None:
        assert staged == (micro == "positions")
    assert_matches(got, want)


def test_strided_depthwise_input_grad_applies():
    assert depthwise.input_grad_applies((2, 8, 9, 9), (8, 1, 3, 3), (2, 2), ((1, 1), (1, 1)), (), 8)
    assert not depthwise.input_grad_applies((2, 8, 9, 9), (8, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (), 8)  # stride 1
    assert not depthwise.input_grad_applies((2, 8, 9, 9), (8, 1, 3, 3), (2, 2), ((3, 3), (1, 1)), (), 8)  # pad > 2
    assert not depthwise.input_grad_applies((2, 8, 9, 9), (8, 2, 3, 3), (2, 2), ((1, 1), (1, 1)), (), 4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("width,pad", [(70, 1), (69, 0), (81, 2), (35, 1), (41, 0)])
def test_stride_two_phase_split_of_wide_rows(width, pad, dtype, monkeypatch):
    """Rows wide enough that the stride-2 phase split reads pairs of vectors and splits
    their lanes (conv._column_pairs), odd and even widths and pads, whole vectors of pairs
    and a last one overlapping them, in the depthwise forward pass (positions kernel) and
    weight gradient, each splitting one plane at a time itself; a float32 input to a
    float64 result goes through the split with a cast."""
    monkeypatch.setattr(depthwise, "STAGE_MIN_PIXELS", 0)
    shape, w_shape, stride, padding = (2, 3, 5, width), (3, 1, 3, 3), (2, 2), ((pad, pad), (pad, pad))
    for kind, split in (("forward", "conv"), ("weight_grad", "dw_wgrad")):
        build, inputs, want = _case(kind, shape, w_shape, stride, padding, (1, 1), 3, dtype)
        options = {"micro": "positions"} if kind == "forward" else {}
        if kind == "weight_grad":
            build = depthwise.weight_grad
        got, kernels = run_builder(build, inputs, want.shape, dtype, stride=stride, padding=padding, groups=3,
                                   **options)
        assert any("Shuffle" in repr(k) for k in kernels if split in k.name)
        assert not any("pad" in k.name for k in kernels)
        assert_matches(got, want)
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    w = np.random.default_rng(2).normal(size=w_shape)
    want = Conv(stride, padding, (1, 1), 3).reference(x, w)
    got, _ = run_builder(conv.conv_forward, [x, w], want.shape, "float64", stride=stride, padding=padding, groups=3,
                         micro="positions")
    assert_matches(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["forward", "input_grad"])
@pytest.mark.parametrize("x_shape,w_shape,padding,dilation", [
    ((1, 2, 4, 5), (3, 2, 3, 3), ((3, 4), (1, 1)), (1, 1)),       # whole output rows reach only padding
    ((3, 3, 7, 6), (17, 3, 3, 3), ((2, 2), (2, 2)), (2, 1)),       # tiles spanning two images, a channel tail
])
def test_channels_kernel_skips_padding_tap_rows(x_shape, w_shape, padding, dilation, kind, dtype):
    """The channels micro-kernel runs only the tap rows that reach a source row inside the
    image for some position of its tile (Correlation.rows_inside): tiles in padding-only
    rows, at the borders, and spanning two images give the reference's result."""
    build, inputs, want = _case(kind, x_shape, w_shape, (1, 1), padding, dilation, 1, dtype)
    got, _ = run_builder(build, inputs, want.shape, dtype, stride=(1, 1), padding=padding, dilation=dilation,
                         micro="channels")
    assert_matches(got, want)


STRIDED = [
    ((1, 3, 11, 8), (6, 1, 3, 3), (2, 2), ((1, 0), (2, 1)), (1, 1), 3),    # depthwise x2, batch 1, padding pairs
    ((2, 4, 9, 13), (4, 2, 3, 2), (2, 3), ((0, 1), (1, 1)), (1, 2), 2),    # two input channels per group, dilated
    ((3, 5, 12, 7), (5, 1, 5, 3), (3, 2), ((2, 2), (1, 1)), (1, 1), 5),    # stride 3 rows, 5x3 taps
    ((2, 2, 13), (4, 1, 3), (2,), ((1, 2),), (2,), 2),                     # 1-D
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("staged", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", STRIDED)
def test_strided_forward_phase_split_staged_or_whole(x_shape, w_shape, stride, padding, dilation, groups, threads,
                                                     staged, dtype, monkeypatch):
    """The strided forward pass of the positions kernel splits each work item's planes into
    their stride phases inside the correlation (per-thread scratch, no copy kernel), or,
    past STAGE_BYTES (or under STAGE_MIN_PIXELS), the whole input in a copy kernel of its
    own: the same result."""
    monkeypatch.setattr(conv, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setattr(conv, "STAGE_MIN_PIXELS", 0)
    if not staged:
        monkeypatch.setattr(conv, "STAGE_BYTES", 0)
    build, inputs, want = _case("forward", x_shape, w_shape, stride, padding, dilation, groups, dtype)
    got, kernels = run_builder(build, inputs, want.shape, dtype, stride=stride, padding=padding, dilation=dilation,
                               groups=groups, micro="positions", threads=threads, nthreads=threads)
    assert any("pad" in k.name for k in kernels) != staged
    assert_matches(got, want)


SMALL = [
    ((2, 20, 4, 4), (20, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),     # 20 channels: a vector and a tail
    ((1, 16, 5, 3), (16, 1, 3, 3), (2, 2), ((1, 0), (0, 2)), (1, 1)),     # batch 1, strided, asymmetric padding
    ((3, 7, 1, 1), (7, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),       # 1x1 images: only the centre tap is inside
    ((2, 9, 6, 7), (9, 1, 2, 3), (1, 2), ((0, 1), (2, 1)), (2, 1)),       # dilated, non-square kernel
    ((2, 33, 9), (33, 1, 3), (1,), ((1, 1),), (2,)),                      # 1-D
    ((2, 20, 3, 35), (20, 1, 3, 3), (1, 3), ((1, 1), (2, 1)), (1, 1)),    # rows copied by register transposes
    ((1, 12, 40), (12, 1, 5), (4,), ((2, 3),), (1,)),                     # 1-D, the same
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation", SMALL)
def test_small_depthwise_forward(x_shape, w_shape, stride, padding, dilation, dtype):
    """The depthwise forward pass of small images with vectors along the channels."""
    groups = x_shape[1]
    g = conv.ConvGeometry.of(x_shape, w_shape, stride, padding, dilation, groups)
    assert depthwise.forward_small_applies(g, fused=True)
    _, inputs, want = _case("forward", x_shape, w_shape, stride, padding, dilation, groups, dtype)
    got, kernels = run_builder(depthwise.forward_small, inputs, want.shape, dtype, stride=stride, padding=padding,
                               dilation=dilation, groups=groups)
    assert any("dw_small" in k.name for k in kernels)
    copy = next(repr(k) for k in kernels if "channels_last" in k.name)
    assert ("bt_rows" in copy) == (x_shape[-1] >= host_simd().lanes(dtype))
    assert_matches(got, want)


def test_small_depthwise_forward_epilogue_and_threads(monkeypatch):
    """relu(value * scale[channel] + residual[index]) cast to float64, split over images."""
    from graphc.backend.llvm.loopir import Cast, Load, binop, const
    monkeypatch.setattr(depthwise, "PARALLEL_MIN_FLOPS", 0)
    x_shape, w_shape, stride, padding = (3, 18, 4, 5), (18, 1, 3, 3), (1, 1), ((1, 1), (1, 1))
    _, (x, w), want = _case("forward", x_shape, w_shape, stride, padding, (1, 1), 18, "float32")
    rng = np.random.default_rng(9)
    scale, residual = rng.normal(size=18).astype(np.float32), rng.normal(size=want.shape).astype(np.float32)

    def build(xb, wb, s, r, out, space, **options):
        def epilogue(value, idx):
            v = value * Load(s, s.index(idx[1])) + Load(r, r.index(*idx))
            return Cast(binop("max", v, const(0.0, "float32")), "float64")
        return depthwise.forward_small(xb, wb, out, space=space, dtype="float32", epilogue=epilogue, **options)

    got, kernels = run_builder(build, [x, w, scale, residual], want.shape, "float64", stride=stride, padding=padding,
                               groups=18, threads=2, nthreads=2)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, np.maximum(want * scale.reshape(1, -1, 1, 1) + residual, 0), "float32")


def test_small_depthwise_forward_applies():
    geometry = lambda x, w, groups: conv.ConvGeometry.of(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), groups)  # noqa: E731
    assert depthwise.forward_small_applies(geometry((2, 8, 4, 4), (8, 1, 3, 3), 8))
    assert not depthwise.forward_small_applies(geometry((2, 8, 14, 14), (8, 1, 3, 3), 8))     # 14 x 14, no epilogue
    assert depthwise.forward_small_applies(geometry((2, 8, 14, 14), (8, 1, 3, 3), 8), fused=True)
    assert not depthwise.forward_small_applies(geometry((2, 8, 28, 28), (8, 1, 3, 3), 8), fused=True)
    assert not depthwise.forward_small_applies(geometry((2, 8, 4, 4), (16, 1, 3, 3), 8))      # two outputs per group
    assert not depthwise.forward_small_applies(geometry((2, 8, 4, 4), (8, 2, 3, 3), 4))       # two inputs per group


def test_phases_are_grouped_only_when_of_one_size():
    """Stride phases of one tap count and one size (a 4x4 stride-2 layer of even output)
    share a kernel; of two sizes (odd output) they do not, so every kernel's grid is a
    constant and its position decoding divides by constants."""
    (even,) = conv.phase_groups(64, 4, 2, 1)
    assert even.count == 2 and even.pixels == 32 and even.columns() == (1, 0)
    first, second = conv.phase_groups(63, 4, 2, 1)
    assert (first.count, first.pixels, second.count, second.pixels) == (1, 31, 1, 32)
    assert first.columns() is None


# stride-2 column phases of one size, stored interleaved: rows of (forward) input 2W
# wide (every tile in one row), or not a multiple of it (tiles over two or more rows, one
# run per row); (input, weight, stride, padding, groups)
INTERLEAVED = [
    ((2, 3, 5, 32), (6, 3, 2, 2), (2, 2), ((0, 0), (0, 0)), 1),      # U-Net 2x2 upsampling, odd rows
    ((1, 4, 6, 40), (5, 4, 4, 4), (2, 2), ((1, 1), (1, 1)), 1),      # DCGAN 4x4 pad 1: phase 1 first
    ((2, 6, 3, 36), (9, 2, 4, 2), (1, 2), ((1, 2), (1, 1)), 3),      # groups, row stride 1
    ((2, 3, 18), (4, 3, 3), (2,), ((1, 1),), 1),                     # 1-D, 3 taps: phases of 2 and 1 taps
    ((3, 2, 34), (3, 2, 4), (2,), ((1, 1),), 1),                     # 1-D, a partial last tile
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,groups", INTERLEAVED,
                         ids=[f"{x}x{w}s{s}g{g}" for x, w, s, _, g in INTERLEAVED])
def test_interleaved_column_phases(x_shape, w_shape, stride, padding, groups, dtype, monkeypatch):
    """The input gradient's two column phases computed by one work item and stored as
    one run along each row, threaded and not, with and without a fused epilogue."""
    monkeypatch.setattr(conv, "PARALLEL_MIN_FLOPS", 0)
    _, (gy, w), want = _case("input_grad", x_shape, w_shape, stride, padding, (1,) * len(stride), groups, dtype)
    bias = np.random.default_rng(1).normal(size=want.shape[1]).astype(dtype)

    def relu_bias(*bufs, space, **options):
        *ins, b, out = bufs
        options["epilogue"] = lambda v, idx: binop("max", v + Load(b, b.index(idx[1])), const(0.0, dtype))
        return conv.conv_input_grad(*ins, out, space=space, **options)

    options = dict(stride=stride, padding=padding, groups=groups, micro="channels")
    got, kernels = run_builder(conv.conv_input_grad, [gy, w], want.shape, dtype, **options)
    assert_matches(got, want)
    paired = x_shape[-1] % 2 == 0 and w_shape[-1] % 2 == 0
    assert any("pairs" in repr(k) for k in kernels) == paired
    got, kernels = run_builder(relu_bias, [gy, w, bias], want.shape, dtype, threads=2, nthreads=3, **options)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, np.maximum(want + bias.reshape((1, -1) + (1,) * (want.ndim - 2)), 0))


def test_page_sized_source_planes_get_a_row_more():
    """An input gradient's zero-padded source whose planes would be whole 4 KiB pages (a
    32x32 float32 output gradient) is copied with one row more, and still matches."""
    assert conv.off_page(32, 32, "float32") == 33 and conv.off_page(34, 34, "float32") == 34
    assert conv.off_page(16, 32, "float64") == 17
    _, (gy, w), want = _case("input_grad", (2, 3, 64, 64), (5, 3, 2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), 1,
                             "float32")
    got, kernels = run_builder(conv.conv_input_grad, [gy, w], want.shape, "float32", stride=(2, 2),
                               padding=((0, 0), (0, 0)), micro="channels")
    assert_matches(got, want)
    assert "shape=(2, 5, 33, 32)" in "".join(repr(k) for k in kernels)
