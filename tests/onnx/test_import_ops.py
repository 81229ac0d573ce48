"""Each supported ONNX operator, in tiny models built with onnx.helper: graphc (reference
and llvm backends) computes what onnxruntime computes, across the opsets where the
operator's form changed (attributes in old opsets, inputs in new ones)."""
from __future__ import annotations

import numpy as np
import pytest

from onnx_helpers import TensorProto, check_against_onnxruntime, helper, make_model, numpy_helper, run_graphc

rng = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def node(op_type: str, inputs: list[str], outputs=("y",), **attributes):
    return helper.make_node(op_type, inputs, list(outputs), **attributes)


def unary(op_type: str, x: np.ndarray, opset: int = 17, **attributes):
    return [node(op_type, ["x"], **attributes)], {"x": x}, opset, {}


def binary(op_type: str, a: np.ndarray, b: np.ndarray, opset: int = 17):
    return [node(op_type, ["a", "b"])], {"a": a, "b": b}, opset, {}


POSITIVE = np.abs(f32(2, 3, 5)) + 0.1
CASES = {
    # arithmetic and math
    **{op: binary(op, f32(2, 3, 4), f32(3, 1)) for op in ("Add", "Sub", "Mul", "Div")},
    "Pow": binary("Pow", POSITIVE, f32(5)),
    "Pow-int-exponent": binary("Pow", POSITIVE, i64([2, 1, 3, 0, 2])),
    "Div-int": binary("Div", i64([[7, -7, 9]]), i64([[2, 2, -4]])),
    **{op: unary(op, f32(3, 4, 5)) for op in ("Abs", "Neg", "Exp", "Erf", "Floor", "Ceil", "Sign")},
    **{op: unary(op, POSITIVE) for op in ("Sqrt", "Log", "Reciprocal")},
    "Sum": ([node("Sum", ["a", "b", "c"])], {"a": f32(2, 3), "b": f32(3), "c": f32(2, 1)}, 17, {}),
    "Mean": ([node("Mean", ["a", "b", "c"])], {"a": f32(2, 3), "b": f32(3), "c": f32(2, 1)}, 17, {}),
    "Max": ([node("Max", ["a", "b"])], {"a": f32(2, 3), "b": f32(3)}, 17, {}),
    "Min": ([node("Min", ["a", "b"])], {"a": f32(2, 3), "b": f32(3)}, 17, {}),
    "MatMul": binary("MatMul", f32(2, 3, 4), f32(4, 5)),
    "Gemm": ([node("Gemm", ["a", "b", "c"], alpha=0.5, beta=2.0, transB=1)],
             {"a": f32(3, 4), "b": f32(5, 4), "c": f32(5)}, 17, {}),
    "Gemm-transA-no-C": ([node("Gemm", ["a", "b"], transA=1)], {"a": f32(4, 3), "b": f32(4, 5)}, 11, {}),
    # activations
    **{op: unary(op, f32(2, 3, 5) * 3) for op in ("Relu", "Sigmoid", "Tanh", "HardSwish", "Softplus")},
    "LeakyRelu": unary("LeakyRelu", f32(2, 7), alpha=0.2),
    "Elu": unary("Elu", f32(2, 7), alpha=0.7),
    "HardSigmoid": unary("HardSigmoid", f32(2, 7) * 4, alpha=0.3, beta=0.4),
    "PRelu": ([node("PRelu", ["x", "slope"])], {"x": f32(2, 3, 4, 4)}, 17, {"slope": f32(3, 1, 1)}),
    "Gelu": unary("Gelu", f32(2, 7), opset=20),
    "Gelu-tanh": unary("Gelu", f32(2, 7), opset=20, approximate="tanh"),
    "Clip-7": unary("Clip", f32(3, 5) * 3, opset=7, min=-1.0, max=2.0),
    "Clip-11": ([node("Clip", ["x", "lo", "hi"])], {"x": f32(3, 5) * 3}, 11,
                {"lo": np.float32(-0.5), "hi": np.float32(1.5)}),
    "Clip-11-max-only": ([node("Clip", ["x", "", "hi"])], {"x": f32(3, 5) * 3}, 13, {"hi": np.float32(1.0)}),
    "Softmax-11": unary("Softmax", f32(2, 3, 4), opset=11, axis=1),
    "Softmax-13": unary("Softmax", f32(2, 3, 4), opset=13, axis=1),
    "LogSoftmax-11": unary("LogSoftmax", f32(2, 3, 4), opset=11),
    "LogSoftmax-13": unary("LogSoftmax", f32(2, 3, 4), opset=13),
    # comparisons and select
    **{op: binary(op, f32(3, 4), f32(4)) for op in ("Equal", "Less", "Greater")},
    "Where": ([node("Greater", ["a", "b"], ["c"]), node("Where", ["c", "a", "b"])],
              {"a": f32(3, 4), "b": f32(4)}, 17, {}),
    "Not": ([node("Less", ["a", "b"], ["c"]), node("Not", ["c"])], {"a": f32(3, 4), "b": f32(4)}, 17, {}),
    # casts and constants
    "Cast": unary("Cast", f32(3, 4) * 5, to=7),
    "Constant": ([node("Constant", [], ["c"], value=helper.make_tensor("v", 1, [2], [1.5, -2.0])),
                  node("Add", ["x", "c"])], {"x": f32(3, 2)}, 17, {}),
    "Constant-value-ints": ([node("Constant", [], ["s"], value_ints=[3, 2]), node("Reshape", ["x", "s"])],
                            {"x": f32(2, 3)}, 17, {}),
    "ConstantOfShape": ([node("Shape", ["x"], ["s"]),
                         node("ConstantOfShape", ["s"], ["c"], value=helper.make_tensor("v", 1, [1], [2.5])),
                         node("Mul", ["x", "c"])], {"x": f32(2, 3)}, 17, {}),
    # reductions
    "ReduceMean-13": unary("ReduceMean", f32(2, 3, 4), opset=13, axes=[1, 2]),
    "ReduceMean-18": ([node("ReduceMean", ["x", "axes"], keepdims=0)], {"x": f32(2, 3, 4)}, 18,
                      {"axes": i64([-1])}),
    "ReduceSum-11": unary("ReduceSum", f32(2, 3, 4), opset=11, axes=[0], keepdims=0),
    "ReduceSum-13": ([node("ReduceSum", ["x", "axes"])], {"x": f32(2, 3, 4)}, 13, {"axes": i64([1])}),
    "ReduceSum-13-all": unary("ReduceSum", f32(2, 3, 4), opset=13),
    "ReduceMax": unary("ReduceMax", f32(2, 3, 4), opset=13, axes=[2]),
    "ArgMax": unary("ArgMax", f32(2, 3, 4), axis=1, keepdims=0),
    "ArgMax-last-index": unary("ArgMax", np.array([[1, 3, 3, 0], [2, 2, 1, 2]], np.float32), opset=12, axis=1,
                               select_last_index=1),
    "ArgMin-last-index": unary("ArgMin", np.array([[1, 0, 3, 0], [2, 2, 1, 1]], np.float32), opset=12, axis=1,
                               select_last_index=1),
    # shape and layout
    "Identity": unary("Identity", f32(2, 3)),
    "Dropout-12-mask": ([node("Dropout", ["x"], ["y", "mask"])], {"x": f32(2, 3)}, 12, {}),
    "Flatten": unary("Flatten", f32(2, 3, 4, 5), axis=2),
    "Reshape": ([node("Reshape", ["x", "s"])], {"x": f32(2, 3, 4)}, 17, {"s": i64([0, -1, 2])}),
    "Transpose": unary("Transpose", f32(2, 3, 4), perm=[2, 0, 1]),
    "Squeeze-11": unary("Squeeze", f32(2, 1, 4, 1), opset=11, axes=[1, -1]),
    "Squeeze-13": ([node("Squeeze", ["x", "axes"])], {"x": f32(2, 1, 4, 1)}, 13, {"axes": i64([3])}),
    "Unsqueeze-11": unary("Unsqueeze", f32(2, 4), opset=11, axes=[0, 3]),
    "Unsqueeze-13": ([node("Unsqueeze", ["x", "axes"])], {"x": f32(2, 4)}, 13, {"axes": i64([-1, 1])}),
    "Concat": ([node("Concat", ["a", "b"], axis=-1)], {"a": f32(2, 3), "b": f32(2, 2)}, 17, {}),
    "Split-11": ([node("Split", ["x"], ["y", "z"], axis=1, split=[1, 3])], {"x": f32(2, 4)}, 11, {}),
    "Split-13": ([node("Split", ["x", "s"], ["y", "z"], axis=1)], {"x": f32(2, 5)}, 13, {"s": i64([3, 2])}),
    "Split-18-uneven": ([node("Split", ["x"], ["y", "z"], axis=0, num_outputs=2)], {"x": f32(5, 2)}, 18, {}),
    "Slice-9": unary("Slice", f32(5, 6), opset=9, starts=[1, -4], ends=[4, 1000], axes=[0, 1]),
    "Slice-13-steps": ([node("Slice", ["x", "s", "e", "a", "st"])], {"x": f32(5, 6)}, 13,
                       {"s": i64([-1, 0]), "e": i64([-(2 ** 63), 6]), "a": i64([0, 1]), "st": i64([-2, 3])}),
    "Gather-scalar": ([node("Gather", ["x", "i"], axis=1)], {"x": f32(2, 5, 3)}, 17, {"i": np.int64(-2)}),
    "Gather-list": ([node("Gather", ["x", "i"], axis=1)], {"x": f32(2, 5, 3)}, 17, {"i": i64([[4, 0], [1, 1]])}),
    "Gather-run-time-indices": ([node("Gather", ["table", "i"])], {"i": i64([[3, 0, 2]])}, 17,
                                {"table": f32(4, 6)}),
    "Gather-run-time-indices-axis-1": ([node("Gather", ["table", "i"], axis=1)], {"i": i64([[-1, 0], [2, 2]])}, 17,
                                       {"table": f32(3, 4, 2)}),
    "Expand": ([node("Expand", ["x", "s"])], {"x": f32(3, 1)}, 17, {"s": i64([2, 1, 4])}),
    "Tile": ([node("Tile", ["x", "r"])], {"x": f32(2, 3)}, 17, {"r": i64([2, 3])}),
    "Pad-7-reflect": unary("Pad", f32(1, 2, 4, 5), opset=7, mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1]),
    "Pad-13-constant": ([node("Pad", ["x", "p", "v"])], {"x": f32(2, 3)}, 13,
                        {"p": i64([1, 0, 0, 2]), "v": np.float32(1.5)}),
    "Pad-18-axes-edge": ([node("Pad", ["x", "p", "", "a"], mode="edge")], {"x": f32(2, 3)}, 18,
                         {"p": i64([2, 1]), "a": i64([1])}),
    "Pad-19-wrap": ([node("Pad", ["x", "p"], mode="wrap")], {"x": f32(3, 4)}, 19, {"p": i64([1, 2, 2, 3])}),
    "Pad-negative": ([node("Pad", ["x", "p"])], {"x": f32(4, 5)}, 13, {"p": i64([-1, 1, 0, -2])}),
    "Shape-Gather-Concat-Reshape": (
        [node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"], axis=0),
         node("Unsqueeze", ["n", "axes"], ["n1"]), node("Concat", ["n1", "minus1"], ["t"], axis=0),
         node("Reshape", ["x", "t"])],
        {"x": f32(2, 3, 4)}, 13, {"zero": np.int64(0), "axes": i64([0]), "minus1": i64([-1])}),
    # convolution, pooling, normalisation
    "Conv": ([node("Conv", ["x", "w", "b"], pads=[1, 0, 2, 1], strides=[2, 1])], {"x": f32(1, 3, 7, 6)}, 17,
             {"w": f32(4, 3, 3, 2), "b": f32(4)}),
    "Conv-same-upper": ([node("Conv", ["x", "w"], auto_pad="SAME_UPPER", strides=[2, 2])],
                        {"x": f32(2, 2, 6, 5)}, 11, {"w": f32(3, 2, 3, 3)}),
    "Conv-groups-dilations": ([node("Conv", ["x", "w", "b"], group=2, dilations=[2, 1], pads=[2, 1, 1, 0])],
                              {"x": f32(1, 4, 8, 7)}, 17, {"w": f32(6, 2, 3, 2), "b": f32(6)}),
    "Conv-depthwise-same-lower": ([node("Conv", ["x", "w"], group=3, auto_pad="SAME_LOWER", strides=[2, 1])],
                                  {"x": f32(2, 3, 7, 6)}, 11, {"w": f32(3, 1, 3, 2)}),
    "ConvTranspose": ([node("ConvTranspose", ["x", "w", "b"], strides=[2, 3], pads=[1, 0, 0, 2],
                            output_padding=[1, 0])], {"x": f32(1, 3, 4, 5)}, 17, {"w": f32(3, 2, 3, 4), "b": f32(2)}),
    "ConvTranspose-groups-dilations": ([node("ConvTranspose", ["x", "w"], group=2, dilations=[2, 2], strides=[2, 1])],
                                       {"x": f32(2, 4, 3, 4)}, 17, {"w": f32(4, 3, 2, 3)}),
    "ConvTranspose-output-shape": ([node("ConvTranspose", ["x", "w"], strides=[2, 2], output_shape=[9, 10])],
                                   {"x": f32(1, 2, 4, 5)}, 11, {"w": f32(2, 3, 3, 3)}),
    "ConvTranspose-output-shape-grows": ([node("ConvTranspose", ["x", "w"], strides=[3, 2], output_shape=[10, 8])],
                                         {"x": f32(1, 1, 3, 3)}, 11, {"w": f32(1, 2, 3, 3)}),
    "ConvTranspose-same-upper": ([node("ConvTranspose", ["x", "w"], strides=[2, 2], auto_pad="SAME_UPPER")],
                                 {"x": f32(1, 2, 3, 4)}, 11, {"w": f32(2, 1, 3, 2)}),
    "ConvTranspose1d": ([node("ConvTranspose", ["x", "w"], strides=[3])], {"x": f32(2, 2, 5)}, 17, {"w": f32(2, 3, 4)}),
    "Conv1d": ([node("Conv", ["x", "w"], pads=[1, 1])], {"x": f32(2, 3, 9)}, 17, {"w": f32(4, 3, 3)}),
    "MaxPool": unary("MaxPool", f32(1, 2, 7, 8), kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1]),
    "MaxPool-ceil": unary("MaxPool", f32(2, 2, 7, 7), opset=10, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
    "MaxPool-dilation": unary("MaxPool", f32(1, 2, 9, 9), opset=12, kernel_shape=[2, 3], dilations=[2, 2]),
    "MaxPool-dilation-pads": unary("MaxPool", f32(1, 2, 9, 9), opset=12, kernel_shape=[3, 2], dilations=[3, 2],
                                   pads=[1, 1, 2, 1]),
    "MaxPool-wide-pads": unary("MaxPool", f32(1, 1, 5, 5), kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
    "MaxPool-same-lower": unary("MaxPool", f32(1, 1, 6, 7), kernel_shape=[3, 3], strides=[2, 2],
                                auto_pad="SAME_LOWER"),
    "AveragePool": unary("AveragePool", f32(1, 2, 7, 8), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "AveragePool-include-pad": unary("AveragePool", f32(1, 2, 7, 8), kernel_shape=[3, 3], strides=[2, 2],
                                     pads=[1, 1, 1, 1], count_include_pad=1),
    "AveragePool-ceil": unary("AveragePool", f32(1, 2, 7, 7), opset=10, kernel_shape=[2, 2], strides=[2, 2],
                              ceil_mode=1),
    "MaxPool-3d": unary("MaxPool", f32(2, 2, 5, 6, 7), opset=12, kernel_shape=[2, 3, 2], strides=[1, 2, 2],
                        pads=[0, 1, 1, 1, 1, 0], dilations=[2, 1, 1], ceil_mode=1),
    "AveragePool-3d": unary("AveragePool", f32(2, 2, 5, 6, 7), kernel_shape=[3, 1, 2], strides=[2, 1, 2],
                            pads=[1, 0, 1, 1, 0, 0]),
    "AveragePool-3d-include-pad-ceil": unary("AveragePool", f32(1, 3, 5, 6, 7), kernel_shape=[2, 3, 3],
                                             strides=[2, 2, 2], pads=[1, 1, 0, 0, 1, 1], count_include_pad=1,
                                             ceil_mode=1),
    "GlobalAveragePool": unary("GlobalAveragePool", f32(2, 3, 4, 5)),
    "GlobalMaxPool": unary("GlobalMaxPool", f32(2, 3, 4, 5)),
    "BatchNormalization": ([node("BatchNormalization", ["x", "g", "b", "m", "v"], epsilon=1e-3)],
                           {"x": f32(2, 3, 4, 5)}, 15,
                           {"g": f32(3), "b": f32(3), "m": f32(3), "v": np.abs(f32(3)) + 0.5}),
    "BatchNormalization-7": ([node("BatchNormalization", ["x", "g", "b", "m", "v"])], {"x": f32(2, 3, 4)}, 7,
                             {"g": f32(3), "b": f32(3), "m": f32(3), "v": np.abs(f32(3)) + 0.5}),
    "InstanceNormalization": ([node("InstanceNormalization", ["x", "g", "b"])], {"x": f32(2, 3, 4, 5)}, 17,
                              {"g": f32(3), "b": f32(3)}),
    "LayerNormalization": ([node("LayerNormalization", ["x", "g", "b"], ["y", "mean", "inverse_std"], axis=-2)],
                           {"x": f32(2, 3, 4, 5)}, 17, {"g": f32(4, 5), "b": f32(5)}),
    "LRN-odd": unary("LRN", np.abs(f32(2, 6, 3, 3)), size=3, alpha=0.01, beta=0.75, bias=2.0),
    # resampling
    "Resize-10-nearest": ([node("Resize", ["x", "s"])], {"x": f32(1, 2, 3, 4)}, 10,
                          {"s": np.array([1, 1, 2, 1.5], np.float32)}),
    "Resize-13-nearest-sizes": ([node("Resize", ["x", "", "", "sz"], coordinate_transformation_mode="asymmetric",
                                      nearest_mode="floor")], {"x": f32(1, 2, 3, 4)}, 13, {"sz": i64([1, 2, 7, 5])}),
    "Resize-13-nearest-half-pixel": ([node("Resize", ["x", "", "s"])], {"x": f32(1, 2, 3, 4)}, 13,
                                     {"s": np.array([1, 1, 2.5, 0.5], np.float32)}),
    "Resize-13-linear-pytorch": ([node("Resize", ["x", "", "s"], mode="linear",
                                       coordinate_transformation_mode="pytorch_half_pixel")],
                                 {"x": f32(2, 2, 3, 4)}, 13, {"s": np.array([1, 1, 2, 3], np.float32)}),
    "Resize-13-linear-align-corners": ([node("Resize", ["x", "", "", "sz"], mode="linear",
                                             coordinate_transformation_mode="align_corners")],
                                       {"x": f32(1, 1, 3, 4)}, 13, {"sz": i64([1, 1, 5, 7])}),
    "Resize-19-linear-half-pixel-symmetric": ([node("Resize", ["x", "", "s"], mode="linear",
                                                    coordinate_transformation_mode="half_pixel_symmetric")],
                                              {"x": f32(1, 2, 5, 4)}, 19, {"s": np.array([1, 1, 1.7, 0.6], np.float32)}),
    "Resize-13-linear-align-corners-scales": ([node("Resize", ["x", "", "s"], mode="linear",
                                                    coordinate_transformation_mode="align_corners")],
                                              {"x": f32(1, 1, 2, 4)}, 13, {"s": np.array([1, 1, 0.6, 1.7], np.float32)}),
    "Resize-18-axes": ([node("Resize", ["x", "", "s"], axes=[2, 3], mode="linear")], {"x": f32(1, 2, 3, 4)}, 18,
                       {"s": np.array([2, 2], np.float32)}),
    "Upsample-9": ([node("Upsample", ["x", "s"])], {"x": f32(1, 2, 3, 4)}, 9,
                   {"s": np.array([1, 1, 2, 3], np.float32)}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_operator_matches_onnxruntime(case):
    nodes, inputs, opset, initializers = CASES[case]
    outputs = [o for n in nodes[-1:] for o in n.output]
    model = make_model(nodes, inputs, outputs, opset, initializers)
    check_against_onnxruntime(model, inputs)


def test_lrn_of_even_size_follows_the_onnx_formula():
    """onnxruntime refuses even sizes; ONNX's formula sums squares over channels
    c - floor((size - 1) / 2) to c + ceil((size - 1) / 2)."""
    x, size, alpha, bias, beta = f32(2, 6, 3, 3), 4, 0.1, 1.5, 0.75
    nodes, inputs, opset, _ = unary("LRN", x, size=size, alpha=alpha, bias=bias)
    model = make_model(nodes, inputs, ["y"], opset)
    squares = np.zeros_like(x)
    for c in range(x.shape[1]):
        squares[:, c] = (x[:, max(0, c - (size - 1) // 2):c + size // 2 + 1] ** 2).sum(1)
    want = x / (bias + alpha / size * squares) ** beta
    for backend in ("numpy", "llvm"):
        np.testing.assert_allclose(run_graphc(model, inputs, backend)[0], want, rtol=1e-4, atol=1e-6)


def branches(scale: float) -> tuple:
    """If's two branches: y = x * scale (reading x from the outer graph) or y = -x."""
    def graph(name, nodes):
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info("out_" + name, 1, None)])
    then = graph("then", [helper.make_node("Constant", [], ["scale"], value_float=scale),
                          helper.make_node("Mul", ["x", "scale"], ["out_then"])])
    other = graph("else", [helper.make_node("Neg", ["x"], ["out_else"])])
    return then, other


@pytest.mark.parametrize("rank_test, expected", [(4, "then"), (3, "else")])
def test_if_with_a_condition_known_when_importing_inlines_its_branch(rank_test, expected):
    """As torch exports shape tests: Shape -> Size -> Equal -> If."""
    then, other = branches(2.5)
    nodes = [node("Shape", ["x"], ["s"]), node("Size", ["s"], ["rank"]), node("Equal", ["rank", "r"], ["c"]),
             node("If", ["c"], ["y"], then_branch=then, else_branch=other)]
    x = f32(1, 2, 3, 3)
    model = make_model(nodes, {"x": x}, ["y"], 17, {"r": np.int64(rank_test)})
    want = x * 2.5 if expected == "then" else -x
    for backend in ("numpy", "llvm"):
        np.testing.assert_allclose(run_graphc(model, {"x": x}, backend)[0], want, rtol=1e-6)
    check_against_onnxruntime(model, {"x": x})


def test_if_on_a_value_known_only_when_run_is_refused():
    import graphc as gc

    then, other = branches(2.0)
    nodes = [node("ReduceSum", ["x"], ["total"], keepdims=0), node("Greater", ["total", "zero"], ["c"]),
             node("If", ["c"], ["y"], then_branch=then, else_branch=other)]
    model = make_model(nodes, {"x": f32(2, 3)}, ["y"], 13, {"zero": np.float32(0)})
    with pytest.raises(gc.onnx.OnnxError, match=r"If.*the condition \(input 0, 'c'\) must be known when importing"):
        gc.onnx.load(model)


@pytest.mark.parametrize("target, want", [([0, -1], (None, 24)), ([0, 3, -1, 0], (None, 3, 2, 4))])
def test_reshape_copying_a_symbolic_batch_infers_the_other_size(target, want):
    """Reshape(x, [0, -1]) on a symbolic batch, as the zoo's older files flatten: the copied
    unknown size cancels out of the -1 entry."""
    import graphc as gc

    x = f32(3, 2, 3, 4)
    model = make_model([node("Reshape", ["x", "s"])], {"x": x}, ["y"], 7, {"s": i64(target)}, dynamic=["x"])
    assert gc.onnx.load(model).outputs[0].shape == want
    check_against_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("sizes, target, message", [
    (["N", 2, 3, 4], [0, 5, -1], "24 elements per copied index do not divide into 5"),
    (["N", "M", 4], [0, -1], "the size of its -1 entry depends on sizes unknown when importing")])
def test_reshape_whose_inferred_size_is_not_known_when_importing_is_refused(sizes, target, message):
    import graphc as gc

    graph = helper.make_graph([node("Reshape", ["x", "s"])], "reshape",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, sizes)],
                              [helper.make_empty_tensor_value_info("y")], [numpy_helper.from_array(i64(target), "s")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 7)])
    with pytest.raises(gc.onnx.OnnxError, match=message):
        gc.onnx.load(model)
