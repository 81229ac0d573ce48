"""Bad files and what graphc cannot import give errors that name the problem: truncated
files, missing initializers, unsupported operators, attributes and dtypes, wrong inputs
at call time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from onnx_helpers import TensorProto, helper, make_model

import graphc as gc
from graphc.onnx import OnnxError, registry

X = np.ones((1, 2, 4, 4), np.float32)


def relu_model() -> bytes:
    return make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": X}, ["y"])


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "cut.onnx"
    path.write_bytes(relu_model()[:-7])
    with pytest.raises(OnnxError, match=r"cut\.onnx is not a valid ONNX model|cut\.onnx holds no ONNX graph"):
        gc.onnx.load(path)


def test_missing_file_and_wrong_source_type(tmp_path):
    with pytest.raises(OnnxError, match="cannot read the ONNX file"):
        gc.onnx.load(tmp_path / "absent.onnx")
    with pytest.raises(TypeError, match="expected a path, bytes or an onnx.ModelProto"):
        gc.onnx.load(3)


def test_missing_initializer_names_the_node_and_the_value():
    model = make_model([helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")], {"x": X}, ["y"],
                       initializers={"bias": np.ones(4, np.float32)})
    proto = gc.onnx.load(model).proto
    del proto.graph.initializer[:]
    with pytest.raises(OnnxError, match=r"'add_bias' \(Add\) reads 'bias'.*missing initializer"):
        gc.onnx.load(proto)


def test_unsupported_operator_lists_the_supported_ones():
    model = make_model([helper.make_node("Det", ["x"], ["y"], name="det")], {"x": np.ones((2, 3, 3), np.float32)},
                       ["y"])
    with pytest.raises(OnnxError, match=r"node 'det' \(Det.*Det is not supported; supported: Abs, Add,.*Conv,"):
        gc.onnx.load(model)


def test_unsupported_attribute_value_and_attribute_name():
    model = make_model([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2])],
                       {"x": X}, ["y"], opset=19)
    with pytest.raises(OnnxError, match=r"AveragePool.*dilations=\[2, 2\] is not supported"):
        gc.onnx.load(model)
    model = make_model([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic")], {"x": X}, ["y"],
                       initializers={"s": np.array([1, 1, 2, 2], np.float32)})
    with pytest.raises(OnnxError, match=r"mode='cubic' is not supported \(supported: nearest, linear\)"):
        gc.onnx.load(model)
    relu = helper.make_node("Relu", ["x"], ["y"])
    relu.attribute.append(helper.make_attribute("colour", 3))
    proto = gc.onnx.load(relu_model()).proto
    proto.graph.node[0].CopyFrom(relu)
    with pytest.raises(OnnxError, match=r"attribute\(s\) colour of Relu are not supported \(supported: none\)"):
        gc.onnx.load(proto)


def test_unsupported_dtype_names_it():
    model = make_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)], {"x": X}, ["y"])
    with pytest.raises(OnnxError, match=r"Cast.*element type FLOAT16 is not supported \(supported: FLOAT, INT32"):
        gc.onnx.load(model)


def test_unsupported_opset():
    proto = gc.onnx.load(relu_model()).proto
    proto.opset_import[0].version = 5
    with pytest.raises(OnnxError, match="opset 5; graphc imports opsets 7 and later"):
        gc.onnx.load(proto)


def test_later_opsets_import_unless_an_operator_was_revised_after_22(monkeypatch):
    """Reshape's revisions 23-25 only added element types: a model of opset 23 imports; were
    they not reviewed, the node would be refused by name."""
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="flat")]
    model = make_model(nodes, {"x": X}, ["y"], opset=23, initializers={"s": np.array([1, -1])})
    assert gc.onnx.load(model).outputs[0].shape == (1, 32)
    monkeypatch.setitem(registry.REVIEWED_REVISIONS, "Reshape", ())
    with pytest.raises(OnnxError, match=r"'flat' \(Reshape.*Reshape was revised in opset 23; graphc follows"):
        gc.onnx.load(model)


def test_wrong_input_shape_or_dtype_at_call_time():
    model = gc.onnx.load(relu_model())
    with pytest.raises(OnnxError, match=r"input 'x' has shape \(1, 2, 4, 4\).*got \(1, 2, 5, 4\)"):
        model(gc.tensor("z", (1, 2, 5, 4)))
    with pytest.raises(OnnxError, match="input 'x' is float32, got float64"):
        model(gc.tensor("z", (1, 2, 4, 4), "float64"))
    with pytest.raises(OnnxError, match=r"takes 1 input\(s\) \['x'\], got 2"):
        model(X, X)
    f = gc.function(model.inputs, model.outputs)
    with pytest.raises(gc.ShapeError, match=r"argument 'x': expected shape \(1, 2, 4, 4\), got \(1, 2, 5, 4\)"):
        f(np.ones((1, 2, 5, 4), np.float32))
    with pytest.raises(gc.DTypeError, match="argument 'x': expected dtype float32, got float64"):
        f(X.astype(np.float64))


def test_shape_computation_of_unknown_sizes_says_what_to_do():
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Reshape", ["x", "s"], ["y"])]
    model = make_model(nodes, {"x": X}, ["y"], dynamic=["x"])
    with pytest.raises(OnnxError, match=r"Shape.*sizes \(\?, 2, 4, 4\).*must be known.*shapes=\{name: sizes\}"):
        gc.onnx.load(model)
    assert gc.onnx.load(model, shapes={"x": (3, 2, 4, 4)}).outputs[0].shape == (3, 2, 4, 4)
    with pytest.raises(OnnxError, match=r"input 'x' has shape \(\?, 2, 4, 4\) in the file.*got \(3, 2, 4\)"):
        gc.onnx.load(model, shapes={"x": (3, 2, 4)})
    with pytest.raises(OnnxError, match=r"shapes names \['z'\], which are not graph inputs; the inputs: \['x'\]"):
        gc.onnx.load(model, shapes={"z": (1,)})


def test_import_graphc_does_not_import_onnx():
    root = str(Path(gc.__file__).resolve().parents[1])
    code = "import sys, graphc; print('onnx' in sys.modules, 'graphc.onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
