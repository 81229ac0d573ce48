"""gc.onnx.save: graphc -> ONNX -> onnxruntime equals graphc, for graphs built with graphc's
functions and for imported models written back; ops without an ONNX form are named."""
from __future__ import annotations

import numpy as np
import pytest

from onnx_helpers import onnx, run_onnxruntime

import graphc as gc
from graphc.onnx import OnnxError

rng = np.random.default_rng(0)


def param(*shape: int, name: str) -> gc.Node:
    return gc.shared(rng.standard_normal(shape).astype(np.float32) * 0.3, name=name)


def cnn(x: gc.Node) -> gc.Node:
    """conv, batch norm (inference), relu, pools (ceil_mode, count_include_pad=False), padding,
    slicing, concatenation, a dense layer and log_softmax."""
    h = gc.nn.conv2d(x, param(6, 3, 3, 3, name="conv1.w"), param(6, name="conv1.b"), stride=2, padding=1)
    h = gc.nn.batch_norm(h, param(6, name="bn.g"), param(6, name="bn.b"), param(6, name="bn.m"),
                         gc.abs(param(6, name="bn.v")) + 0.5, training=False)
    h = gc.nn.max_pool2d(gc.relu(h), 2, ceil_mode=True)
    h = gc.nn.avg_pool2d(gc.pad(h, ((0, 0), (0, 0), (1, 0), (0, 1))), 3, stride=1, padding=1,
                         count_include_pad=False)
    h = gc.concatenate([h[:, :3], gc.nn.hardswish(h[:, 3:, ::-1])], axis=1)
    h = gc.flatten(h, 1)
    logits = h @ param(h.shape[1], 5, name="fc.w") + param(5, name="fc.b")
    return gc.nn.log_softmax(gc.nn.gelu(logits) - gc.mean(logits, axis=1, keepdims=True), axis=1)


def saved_equals_graphc(inputs, outputs, values, tmp_path, opset=17):
    path = tmp_path / "model.onnx"
    model = gc.onnx.save(path, inputs, outputs, opset=opset)
    assert onnx.load(str(path)) == model
    want = gc.function(inputs, outputs)(*values)
    got = run_onnxruntime(path.read_bytes(), {x.name: v for x, v in zip(inputs, values)})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    return model


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_graphc_cnn_round_trips_through_onnxruntime(tmp_path, opset):
    x = gc.tensor("image", (2, 3, 11, 9))
    model = saved_equals_graphc([x], [cnn(x)], [rng.standard_normal((2, 3, 11, 9)).astype(np.float32)], tmp_path,
                                opset)
    assert {"conv1.w", "fc.b"} <= {i.name for i in model.graph.initializer}


def test_grouped_dilated_and_transposed_convolutions_round_trip(tmp_path):
    x = gc.tensor("image", (2, 4, 9, 8))
    h = gc.nn.conv2d(x, param(6, 2, 3, 2, name="grouped"), stride=(2, 1), padding=((1, 2), (0, 1)), dilation=(1, 2),
                     groups=2)
    y = gc.nn.conv_transpose2d(h, param(6, 1, 3, 3, name="transposed"), param(3, name="tb"), stride=2, padding=1,
                               output_padding=1, groups=3)
    saved_equals_graphc([x], [y], [rng.standard_normal((2, 4, 9, 8)).astype(np.float32)], tmp_path)


def test_elementwise_functions_reductions_and_dtypes_round_trip(tmp_path):
    x, k = gc.tensor("x", (3, 4)), gc.tensor("k", (4,), "int64")
    outputs = [gc.log1p(gc.abs(x)) + gc.expm1(x) * gc.rsqrt(gc.abs(x) + 1), gc.log2(gc.abs(x) + 1),
               gc.where(gc.ne(x, 0) & gc.isfinite(x), x * k, -x), gc.sum(k), gc.logsumexp(x, axis=0),
               gc.argmax(x), gc.max(x, axis=1, keepdims=True), gc.broadcast_to(x[:, None, 1:2], (3, 2, 1)),
               gc.nn.softmax(gc.squeeze(gc.expand_dims(x, 0), 0), axis=0), gc.cast(x > 0, "float32") / 3]
    saved_equals_graphc([x, k], outputs, [rng.standard_normal((3, 4)).astype(np.float32),
                                          np.array([1, -2, 3, 0])], tmp_path)


def test_unknown_batch_is_a_symbolic_dimension(tmp_path):
    x = gc.tensor("image", (None, 3, 11, 9))
    model = saved_equals_graphc([x], [cnn(x)], [rng.standard_normal((3, 3, 11, 9)).astype(np.float32)], tmp_path)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param


def test_imported_model_written_back_computes_the_same(tmp_path):
    x = gc.tensor("image", (2, 3, 11, 9))
    first = gc.onnx.save(None, [x], [cnn(x)])
    imported = gc.onnx.load(first)
    value = rng.standard_normal((2, 3, 11, 9)).astype(np.float32)
    saved_equals_graphc(imported.inputs, imported.outputs, [value], tmp_path)


def test_running_sums_and_one_hot_round_trip(tmp_path):
    x, labels = gc.tensor("x", (3, 4)), gc.tensor("labels", (2, 3), "int64")
    weights = gc.constant(rng.standard_normal((3, 4)).astype(np.float32))
    reverse = gc.grad(gc.sum(gc.cumsum(x, axis=1) * weights), x)  # a reversed running sum
    assert "reverse_cumsum" in gc.pprint(reverse)
    outputs = [gc.cumsum(x, axis=1), reverse, gc.nn.one_hot(labels, 5)]
    model = saved_equals_graphc([x, labels], outputs, [rng.standard_normal((3, 4)).astype(np.float32),
                                                       np.array([[0, 4, 2], [1, 1, 3]])], tmp_path)
    scalars = [i for i in model.graph.initializer if i.name.startswith("const") and i.data_type == 1]
    assert scalars and all(len(i.dims) in (0, 2) for i in scalars)  # 0-d constants stay 0-d


def test_op_without_onnx_form_is_named():
    x = gc.tensor("x", (3, 4))
    with pytest.raises(OnnxError, match=r"the op cumprod\{axis=1\} has no ONNX form \(ONNX has CumSum but no"):
        gc.onnx.save(None, [x], [gc.cumprod(x, axis=1)])
    with pytest.raises(OnnxError,
                       match=r"the op sort.* has no ONNX form here \(supported: .*Conv.*; elementwise: abs"):
        gc.onnx.save(None, [x], [gc.sort(x, axis=1)])


def test_inputs_must_cover_the_graph():
    x, y = gc.tensor("x", (3,)), gc.tensor("y", (3,))
    with pytest.raises(OnnxError, match="depend on the input 'y', which is not in `inputs`"):
        gc.onnx.save(None, [x], [x + y])
    with pytest.raises(OnnxError, match="opset 12 is not supported"):
        gc.onnx.save(None, [x], [x], opset=12)
