"""The native convolution kernels (forward, input and weight gradients) against the
ops' numpy references at odd shapes, both micro-kernels, both dtypes, with epilogues."""
import numpy as np
import pytest

from graphc.backend.llvm.kernels import conv
from graphc.backend.llvm.kernels.simd import host_simd
from graphc.backend.llvm.loopir import Cast, For, Load, binop, const, const_value, walk
from graphc.ops.nn.conv import Conv, ConvInputGrad, ConvWeightGrad

from .nn_kernels import assert_matches, conv_micros, run_builder

# (input, weight, stride, (lo, hi) padding per axis)
SHAPES = [
    ((2, 3, 9, 11), (5, 3, 3, 2), (1, 1), ((1, 1), (0, 0))),     # non-square, padding 1 on one axis
    ((1, 1, 7, 7), (1, 1, 7, 7), (1, 1), ((0, 0), (0, 0))),      # batch 1, one channel, kernel = input
    ((3, 2, 10, 13), (7, 2, 3, 4), (2, 3), ((1, 2), (0, 1))),    # strides 2 and 3, asymmetric padding
    ((2, 5, 8, 8), (17, 5, 2, 2), (2, 2), ((0, 0), (0, 0))),     # 17 output channels: a partial vector
    ((1, 3, 12, 10), (4, 3, 5, 3), (3, 2), ((2, 0), (1, 1))),
    ((2, 2, 5, 5), (3, 2, 1, 1), (2, 2), ((0, 0), (0, 0))),      # kernel < stride: pixels no tap reaches
    ((2, 19, 6, 7), (37, 19, 3, 3), (1, 1), ((1, 1), (1, 1))),   # prime channel counts over 2 vectors
    ((1, 4, 6, 6), (3, 4, 2, 2), (3, 3), ((1, 1), (1, 1))),      # stride > kernel with padding
    ((2, 6, 10, 12), (9, 6, 4, 4), (2, 2), ((1, 1), (1, 1))),    # 4x4 stride 2: input-gradient phases of one size
    ((1, 6, 9, 12), (9, 6, 4, 4), (2, 2), ((1, 1), (1, 1))),     # ... and of two sizes (odd rows)
    ((1, 2, 5, 21), (3, 2, 3, 3), (1, 1), ((1, 1), (1, 1))),     # rows of a vector and an overlapping one
    ((1, 1, 3, 37), (2, 1, 2, 2), (1, 1), ((0, 0), (1, 1))),     # two vectors and an overlapping one
    ((2, 3, 8, 8), (5, 3, 3, 3), (1, 1), ((1, 1), (1, 1))),      # tiles spanning whole rows (8 x 8 grid)
    ((1, 2, 3, 16), (4, 2, 3, 3), (1, 1), ((1, 1), (1, 1))),     # tiles inside 16-wide rows, 3 rows
    ((3, 2, 4, 34), (3, 2, 1, 3), (1, 1), ((0, 0), (0, 0))),     # two tiles a 32-wide row
    ((2, 3, 16, 16), (5, 3, 3, 3), (2, 2), ((1, 1), (1, 1))),    # strided, an 8 x 8 grid
    ((2, 3, 11), (5, 3, 3), (2,), ((1, 2),)),                     # 1-D
    ((2, 3, 33), (4, 3, 2), (1,), ((0, 0),)),                     # 1-D, a 32-long grid
    ((1, 2, 6), (3, 2, 6), (1,), ((0, 0),)),                      # 1-D, kernel = input
]
IDS = [f"{x}x{w}s{s}p{p}" for x, w, s, p in SHAPES]


def _arrays(x_shape, w_shape, stride, padding, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape).astype(dtype)
    w = rng.normal(size=w_shape).astype(dtype)
    gy = rng.normal(size=Conv(stride, padding).reference(x, w).shape).astype(dtype)
    return x, w, gy


def _case(kind, x, w, gy, stride, padding):
    """(builder, inputs, reference) of one kind of convolution."""
    if kind == "forward":
        return conv.conv_forward, [x, w], Conv(stride, padding).reference(x, w)
    if kind == "input_grad":
        return conv.conv_input_grad, [gy, w], ConvInputGrad(stride, padding).reference(gy, w, x)
    return conv.conv_weight_grad, [x, gy], ConvWeightGrad(stride, padding).reference(x, gy, w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["forward", "input_grad", "weight_grad"])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding", SHAPES, ids=IDS)
def test_matches_reference(x_shape, w_shape, stride, padding, kind, dtype):
    x, w, gy = _arrays(x_shape, w_shape, stride, padding, dtype)
    build, inputs, want = _case(kind, x, w, gy, stride, padding)
    for micro in conv_micros(kind):
        options = {} if micro is None else {"micro": micro}
        got, _ = run_builder(build, inputs, want.shape, dtype, stride=stride, padding=padding, **options)
        assert_matches(got, want)


def _bias_relu_residual(bias, residual, out_dtype):
    """relu(value + bias[channel] + residual[index]), cast: a per-channel and a per-element read."""
    def epilogue(value, idx):
        dtype = value.type.dtype
        v = value + Load(bias, bias.index(idx[1])) + Load(residual, residual.index(*idx))
        return Cast(binop("max", v, const(0.0, dtype)), out_dtype)
    return epilogue


@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
@pytest.mark.parametrize("kind", ["forward", "input_grad", "weight_grad"])
@pytest.mark.parametrize("micro", [None, "channels", "positions"])
def test_fused_epilogue_with_cast(kind, micro, stride):
    x_shape, w_shape, padding = (2, 3, 9, 11), (5, 3, 3, 2), ((1, 1), (0, 2))
    if micro not in conv_micros(kind):
        pytest.skip("no such micro-kernel for this case")
    x, w, gy = _arrays(x_shape, w_shape, stride, padding, "float32", seed=3)
    build, inputs, want = _case(kind, x, w, gy, stride, padding)
    rng = np.random.default_rng(4)
    bias = rng.normal(size=want.shape[1]).astype(np.float32)
    residual = rng.normal(size=want.shape).astype(np.float32)

    def build_fused(*bufs, space, **options):
        *ins, b, r, out = bufs
        options["epilogue"] = _bias_relu_residual(b, r, "float64")
        return build(*ins, out, space=space, dtype="float32", **options)

    options = {"stride": stride, "padding": padding}
    if micro:
        options["micro"] = micro
    got, _ = run_builder(build_fused, inputs + [bias, residual], want.shape, "float64", **options)
    expected = np.maximum(want + bias.reshape((1, -1) + (1,) * (want.ndim - 2)) + residual, 0)
    assert_matches(got, expected.astype(np.float64), "float32")


def test_mixed_input_dtypes_accumulate_in_the_result_dtype():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 8, 7)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 3))
    want = Conv((1, 2), ((1, 1), (1, 0))).reference(x, w)
    got, _ = run_builder(conv.conv_forward, [x, w], want.shape, "float64", stride=(1, 2),
                         padding=((1, 1), (1, 0)))
    assert_matches(got, want)


def test_strided_inputs_are_read_in_place():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 9, 2, 8)).astype(np.float32).transpose(0, 2, 3, 1)   # (3, 2, 8, 9), not contiguous
    w = rng.normal(size=(2, 3, 5, 4)).astype(np.float32)[:, :, ::2, ::2].transpose(1, 0, 2, 3)   # (3, 2, 3, 2)
    op = Conv((1, 1), ((0, 0), (0, 0)))
    want = op.reference(x, w)
    got, kernels = run_builder(conv.conv_forward, [x, w], want.shape, "float32", stride=(1, 1),
                               padding=((0, 0), (0, 0)), micro="channels")
    assert_matches(got, want)
    assert not any("padded" in repr(k) for k in kernels)    # x was not copied


@pytest.mark.parametrize("kind", ["forward", "input_grad", "weight_grad"])
@pytest.mark.parametrize("nthreads", [2, 3])
def test_parallel_split_matches(kind, nthreads, monkeypatch):
    monkeypatch.setattr(conv, "PARALLEL_MIN_FLOPS", 0)
    x_shape, w_shape, stride, padding = (3, 4, 10, 9), (20, 4, 3, 3), (2, 1), ((1, 1), (1, 1))
    x, w, gy = _arrays(x_shape, w_shape, stride, padding, "float32", seed=7)
    build, inputs, want = _case(kind, x, w, gy, stride, padding)
    got, kernels = run_builder(build, inputs, want.shape, "float32", stride=stride, padding=padding,
                               threads=2, nthreads=nthreads)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, want)


@pytest.mark.parametrize("nthreads", [1, 2, 3])
def test_large_output_gradient_packs_are_shared_among_threads(nthreads, monkeypatch):
    """The weight gradient's pack of an output gradient of PACK_PARALLEL_BYTES or more runs
    on threads (one item per phase, channel block and image), with any count of them."""
    monkeypatch.setattr(conv, "PACK_PARALLEL_BYTES", 1 << 14)
    x, w, gy = _arrays((3, 4, 10, 9), (20, 4, 3, 3), (1, 1), ((1, 1), (1, 1)), "float32", seed=3)
    build, inputs, want = _case("weight_grad", x, w, gy, (1, 1), ((1, 1), (1, 1)))
    got, kernels = run_builder(build, inputs, want.shape, "float32", stride=(1, 1), padding=((1, 1), (1, 1)),
                               threads=2, nthreads=nthreads)
    pack = next(k for k in kernels if "pack_filter" in k.name)
    assert "parallel" in repr(pack)
    assert_matches(got, want)


def test_small_convolutions_stay_on_one_thread():
    x, w, _ = _arrays((1, 2, 6, 6), (3, 2, 3, 3), (1, 1), ((0, 0), (0, 0)), "float32")
    _, kernels = run_builder(conv.conv_forward, [x, w], (1, 3, 4, 4), "float32", stride=(1, 1),
                             padding=((0, 0), (0, 0)), threads=2)
    assert not any("parallel" in repr(k) for k in kernels)


def test_register_transpose():
    """The shuffle network of the channels micro-kernel transposes a W x W block."""
    from graphc.backend.llvm.loopir import Shuffle, Var
    width = 8
    rows = [Var(f"r{r}") for r in range(width)]
    values = {f"r{r}": np.arange(width) + 100 * r for r in range(width)}
    staged = {}

    def stage(k, r, value):
        staged[(k, r)] = value

    def evaluate(e):
        if isinstance(e, Var):
            return values[e.name]
        if isinstance(e, Shuffle):
            both = np.concatenate([evaluate(e.a), evaluate(e.b)])
            return both[list(e.mask)]
        return evaluate(staged[e])

    conv.transpose(rows, stage, lambda k, r: (k, r))
    last = max(k for k, _ in staged)
    result = np.stack([evaluate(staged[(last, r)]) for r in range(width)])
    np.testing.assert_array_equal(result, np.stack([values[f"r{r}"] for r in range(width)]).T)


def test_unsupported_and_impossible_geometry_raise():
    x, w = np.zeros((1, 1, 4, 4, 4), np.float32), np.zeros((1, 1, 2, 2, 2), np.float32)
    with pytest.raises(NotImplementedError, match="1-D and 2-D"):
        run_builder(conv.conv_forward, [x, w], (1, 1, 3, 3, 3), "float32", stride=(1, 1, 1),
                    padding=((0, 0),) * 3)
    x, w = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 6, 2), np.float32)
    with pytest.raises(ValueError, match="larger than the padded input"):
        run_builder(conv.conv_forward, [x, w], (1, 1, 1, 3), "float32", stride=(1, 1),
                    padding=((0, 0), (0, 0)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_contiguous_filters_are_packed_by_register_transposes(dtype):
    """A contiguous weight's channels are packed W x W blocks at a time (conv.fill_transposed);
    a transposed view of one, whose runs are each channel's 9 taps, so too where 9 taps
    fill a vector (float64), else element by element; all pack the same filter."""
    x, w, _ = _arrays((2, 19, 6, 7), (37, 19, 3, 3), (1, 1), ((1, 1), (1, 1)), dtype)
    want = Conv((1, 1), ((1, 1), (1, 1))).reference(x, w)
    view = np.ascontiguousarray(w.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    for weight, blocks in ((w, True), (view, 9 >= host_simd().lanes(dtype))):
        got, kernels = run_builder(conv.conv_forward, [x, weight], want.shape, dtype, stride=(1, 1),
                                   padding=((1, 1), (1, 1)), micro="channels")
        packs = [repr(k) for k in kernels if "pack_filter" in k.name]
        assert len(packs) == 1 and ("bt_rows" in packs[0]) == blocks
        assert_matches(got, want)


@pytest.mark.parametrize("cout,edges", [(32, False), (37, True)])
def test_whole_filter_blocks_pack_without_edge_loops(cout, edges):
    """Output channels that fill whole blocks pack with no zero padding emitted (a block's
    width is a constant); a partial last block keeps it."""
    x, w, _ = _arrays((2, 16, 6, 7), (cout, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), "float32")
    want = Conv((1, 1), ((1, 1), (1, 1))).reference(x, w)
    got, kernels = run_builder(conv.conv_forward, [x, w], want.shape, "float32", stride=(1, 1),
                               padding=((1, 1), (1, 1)), micro="channels")
    pack = next(k for k in kernels if "pack_filter" in k.name)
    # a loop of no iteration emits nothing: the zero padding past the last channel (z)
    padding = [n for n in walk(pack.body) if isinstance(n, For) and n.var.name == "z" and const_value(n.extent) != 0]
    assert bool(padding) == edges
    assert_matches(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_output_gradients_are_packed_per_image_by_register_transposes(dtype):
    """The weight gradient packs gy (its filter) W x W blocks at a time along each image's
    output plane (one run of taps per output channel and image), with a partial channel
    block and a plane that is not whole vectors."""
    x_shape, w_shape, stride, padding = (3, 4, 9, 12), (21, 4, 3, 3), (1, 1), ((1, 1), (0, 0))
    x, w, gy = _arrays(x_shape, w_shape, stride, padding, dtype)
    want = ConvWeightGrad(stride, padding).reference(x, gy, w)
    got, kernels = run_builder(conv.conv_weight_grad, [x, gy], want.shape, dtype, stride=stride, padding=padding)
    packs = [repr(k) for k in kernels if "pack_filter" in k.name]
    assert len(packs) == 1 and "bt_rows" in packs[0]
    assert_matches(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_few_output_channels_are_packed_by_gathers(dtype):
    """Groups of fewer than W output channels (ResNeXt's 4): their weight gradient's gy is
    gathered along the channels, not transposed W x W with every element an edge."""
    stride, padding = (1, 1), ((1, 1), (1, 1))
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 8, 9, 10)).astype(dtype), rng.normal(size=(12, 2, 3, 3)).astype(dtype)
    gy = rng.normal(size=Conv(stride, padding, (1, 1), 4).reference(x, w).shape).astype(dtype)
    want = ConvWeightGrad(stride, padding, (1, 1), 4).reference(x, gy, w)
    got, kernels = run_builder(conv.conv_weight_grad, [x, gy], want.shape, dtype, stride=stride, padding=padding,
                               groups=4)
    packs = [repr(k) for k in kernels if "pack_filter" in k.name]
    assert len(packs) == 1 and "bt_rows" not in packs[0]
    assert_matches(got, want)


def test_copied_runs_end_in_an_overlapping_vector():
    """A pad copy's row of 14 goes as two vectors of 8, at its start and, overlapping the
    first, at its end; a run whose body reads what it stores is vectorised as usual."""
    from graphc.backend.llvm.loopir import Buffer, For, Var, const_value, loop, walk
    src, dst = Buffer("src", "float32", (64,)), Buffer("dst", "float32", (64,))
    j = Var("jb")
    copy = conv.vectorize_rows(loop(j, 14, dst.store((j + 1,), Load(src, j)), start=1), "float32")
    loops = [(n.kind, n.width, const_value(n.start), const_value(n.extent)) for n in walk(copy) if isinstance(n, For)]
    assert loops == [("vectorize", 8, 1, 8), ("vectorize", 8, 7, 8)]
    in_place = loop(j, 14, dst.store((j,), Load(dst, j) * 2.0))
    lanes = host_simd().lanes("float32")
    assert [n.width for n in walk(conv.vectorize_rows(in_place, "float32")) if isinstance(n, For)] == [lanes]
