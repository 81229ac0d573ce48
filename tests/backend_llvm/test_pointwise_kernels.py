"""1x1 convolutions as one blocked product per image (kernels/pointwise.py) against the
op's numpy reference: odd shapes, both dtypes, strided inputs, epilogues whose loads
step along the image's rows or not, threads; and which convolutions take that path."""
import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.kernels import gemm, pointwise
from graphc.backend.llvm.kernels.conv import ConvGeometry
from graphc.backend.llvm.loopir import Buffer, Cast, Load, binop, const
from graphc.ops.nn.conv import Conv, ConvWeightGrad

from .nn_kernels import assert_matches, run_builder

SHAPES = [
    ((1, 3, 5, 7), (7, 3, 1, 1)),        # batch 1, non-square, 7 output channels (a partial tile row)
    ((3, 17, 4, 9), (30, 17, 1, 1)),     # odd channel counts, several images
    ((2, 5, 11), (13, 5, 1)),            # 1-D
    ((2, 600, 3, 2), (9, 600, 1, 1)),    # K longer than one cache block of the gemm
]


def _reference(x, w):
    rank = x.ndim - 2
    return Conv((1,) * rank, ((0, 0),) * rank).reference(x, w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape,w_shape", SHAPES)
def test_matches_reference(x_shape, w_shape, dtype):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=x_shape).astype(dtype), rng.normal(size=w_shape).astype(dtype)
    want = _reference(x, w)
    got, kernels = run_builder(pointwise.conv_1x1, [x, w], want.shape, dtype)
    assert [k.name.split("_")[1].rstrip("0123456789") for k in kernels] == ["pointwise"]
    assert_matches(got, want)


def test_strided_input_and_weight_are_read_in_place():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 5, 8)).astype(np.float32)[:, ::2, :, ::2]           # (2, 3, 5, 4), columns 2 apart
    w = rng.normal(size=(3, 9)).astype(np.float32).T.reshape(9, 3, 1, 1)            # channels not contiguous
    got, _ = run_builder(pointwise.conv_1x1, [x, w], (2, 9, 5, 4), "float32")
    assert_matches(got, _reference(x, w))


def test_mixed_dtypes_accumulate_in_the_result_dtype():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(2, 4, 3, 3)).astype(np.float32), rng.normal(size=(5, 4, 1, 1))
    got, _ = run_builder(pointwise.conv_1x1, [x, w], (2, 5, 3, 3), "float64")
    assert_matches(got, _reference(x, w))


@pytest.mark.parametrize("transposed_residual", [False, True])
def test_epilogue_reads_by_output_coordinates(transposed_residual):
    """bias[channel] + residual[index], relu, cast: with a residual whose rows are one run
    (flat coordinates) and with one read through a transpose (row and column coordinates)."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 4, 5)).astype(np.float32), rng.normal(size=(6, 3, 1, 1)).astype(np.float32)
    bias = rng.normal(size=6).astype(np.float32)
    residual = rng.normal(size=(2, 6, 5, 4) if transposed_residual else (2, 6, 4, 5)).astype(np.float32)

    def build(xb, wb, b, r, out, space, **options):
        if transposed_residual:
            r = Buffer(r.name, r.dtype, (2, 6, 4, 5), (r.strides[0], r.strides[1], 1, 4))

        def epilogue(value, idx):
            v = value + Load(b, b.index(idx[1])) + Load(r, r.index(*idx))
            return Cast(binop("max", v, const(0.0, "float32")), "float64")
        return pointwise.conv_1x1(xb, wb, out, space=space, dtype="float32", epilogue=epilogue)

    got, _ = run_builder(build, [x, w, bias, residual], (2, 6, 4, 5), "float64")
    res = residual.transpose(0, 1, 3, 2) if transposed_residual else residual
    want = np.maximum(_reference(x, w) + bias.reshape(1, -1, 1, 1) + res, 0)
    assert_matches(got, want.astype(np.float64), "float32")


@pytest.mark.parametrize("nthreads", [2, 3])
@pytest.mark.parametrize("batch", [1, 3])
def test_threads_match(batch, nthreads, monkeypatch):
    monkeypatch.setattr(pointwise, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 0)
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(batch, 8, 30, 30)).astype(np.float32), rng.normal(size=(70, 8, 1, 1)).astype(np.float32)
    got, kernels = run_builder(pointwise.conv_1x1, [x, w], (batch, 70, 30, 30), "float32", threads=2,
                               nthreads=nthreads)
    assert any("parallel" in repr(k) for k in kernels)
    assert_matches(got, _reference(x, w))


def test_which_convolutions_apply():
    def geometry(x, w, stride=(1, 1), padding=((0, 0), (0, 0)), groups=1):
        return ConvGeometry.of(x, w, stride, padding, groups=groups)

    x = Buffer("x", "float32", (2, 8, 28, 28))
    assert pointwise.applies(geometry(x.shape, (24, 8, 1, 1)), x, "float32")
    assert pointwise.prefers_gemm(geometry(x.shape, (24, 8, 1, 1)))
    assert not pointwise.prefers_gemm(geometry(x.shape, (16, 8, 1, 1)))            # few output channels
    assert not pointwise.prefers_gemm(geometry((2, 8, 14, 14), (24, 8, 1, 1)))     # small image
    assert not pointwise.applies(geometry(x.shape, (24, 8, 3, 3)), x, "float32")
    assert not pointwise.applies(geometry(x.shape, (24, 8, 1, 1), stride=(2, 2)), x, "float32")
    assert not pointwise.applies(geometry(x.shape, (24, 8, 1, 1), padding=((1, 1), (0, 0))), x, "float32")
    assert not pointwise.applies(geometry(x.shape, (24, 4, 1, 1), groups=2), x, "float32")
    assert not pointwise.applies(geometry(x.shape, (24, 8, 1, 1)), x, "int64")
    rows_apart = Buffer("x", "float32", (2, 8, 28, 28), (8 * 28 * 32, 28 * 32, 32, 1))   # a slice of wider rows
    assert not pointwise.applies(geometry(rows_apart.shape, (24, 8, 1, 1)), rows_apart, "float32")


def test_graph_takes_the_product_and_matches_the_reference():
    """A 1x1 convolution + bias + relu at 28x28 with 24 channels lowers to one product kernel."""
    rng = np.random.default_rng(5)
    x = gc.tensor("x", (2, 5, 28, 28))
    w, b = rng.normal(size=(24, 5, 1, 1)).astype(np.float32), rng.normal(size=24).astype(np.float32)
    y = gc.relu(gc.nn.conv2d(x, gc.constant(w), gc.constant(b)))
    f = gc.function([x], y, backend="llvm")
    xv = rng.normal(size=(2, 5, 28, 28)).astype(np.float32)
    got = f(xv)
    assert [k.name.split("_", 1)[1].rstrip("0123456789") for k in f.inspect.kernels()] == ["pointwise"]
    want = np.maximum(_reference(xv, w) + b.reshape(1, -1, 1, 1), 0)
    assert_matches(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape,w_shape", [((5, 70, 1, 1), (66, 70, 1, 1)), ((1, 64, 1), (65, 64, 1)),
                                             ((3, 600, 1, 1), (64, 600, 1, 1))])
def test_weight_gradient_of_1x1_images(x_shape, w_shape, dtype):
    """gw = gy^T @ x over the images: batch 1, 1-D, a reduction over more images than channels
    per cache block, odd channel counts."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=x_shape).astype(dtype)
    gy = rng.normal(size=(x_shape[0], w_shape[0]) + x_shape[2:]).astype(dtype)
    rank = len(x_shape) - 2
    want = ConvWeightGrad((1,) * rank, ((0, 0),) * rank).reference(x, gy, np.zeros(w_shape, dtype))
    got, kernels = run_builder(pointwise.weight_grad_1x1, [x, gy], w_shape, dtype)
    assert [k.name.split("_", 1)[1].rstrip("0123456789") for k in kernels] == ["pointwise_wgrad"]
    assert_matches(got, want)


def test_weight_gradient_epilogue_and_strided_gradient():
    """finish(gw) = gw * 0.5 stored as float64, from a gradient read through a transpose."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, 64, 1, 1)).astype(np.float32)
    gy = rng.normal(size=(64, 6, 1, 1)).astype(np.float32).transpose(1, 0, 2, 3)       # (6, 64): images contiguous

    def build(xb, gb, out, space, **options):
        return pointwise.weight_grad_1x1(xb, gb, out, space=space, dtype="float32",
                                         epilogue=lambda v, idx: Cast(v * const(0.5, "float32"), "float64"))

    got, _ = run_builder(build, [x, gy], (64, 64, 1, 1), "float64")
    want = ConvWeightGrad((1, 1), ((0, 0), (0, 0))).reference(x, gy, np.zeros((64, 64, 1, 1), np.float32))
    assert_matches(got, (want * 0.5).astype(np.float64), "float32")


def test_which_weight_gradients_apply():
    def applies(x_shape, w_shape):
        x, gy = Buffer("x", "float32", x_shape), Buffer("gy", "float32", (x_shape[0], w_shape[0]) + x_shape[2:])
        rank = len(x_shape) - 2
        return pointwise.weight_grad_applies(ConvGeometry.of(x_shape, w_shape, (1,) * rank, ((0, 0),) * rank),
                                             x, gy, "float32")

    assert applies((8, 64, 1, 1), (64, 64, 1, 1))
    assert not applies((8, 64, 2, 2), (64, 64, 1, 1))     # images of 4 pixels: the reduction would gather
    assert not applies((8, 32, 1, 1), (64, 32, 1, 1))     # few input channels
    assert not applies((8, 64, 3, 3), (64, 64, 3, 3))
