"""Tiny ONNX models built with onnx.helper, and the check that graphc computes what
onnxruntime computes on them (reference and llvm backends)."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install graphc[onnx])")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: it is the oracle of these tests")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402,F401 - TensorProto for the tests

import graphc as gc  # noqa: E402
from graphc.onnx.dtypes import NUMPY_TO_ONNX  # noqa: E402

RTOL = {np.dtype("float32"): 1e-4, np.dtype("float64"): 1e-10}


def make_model(nodes: Sequence, inputs: Mapping[str, np.ndarray], outputs: Sequence[str], opset: int = 17,
               initializers: Optional[Mapping[str, np.ndarray]] = None, dynamic: Sequence[str] = ()) -> bytes:
    """A serialised model of `nodes` whose graph inputs have the arrays' dtypes and shapes
    (the axes of the inputs named in `dynamic` symbolic instead)."""
    graph_inputs = [
        helper.make_tensor_value_info(name, NUMPY_TO_ONNX[a.dtype],
                                      ["N"] + list(a.shape[1:]) if name in dynamic else list(a.shape))
        for name, a in inputs.items()
    ]
    graph_outputs = [helper.make_empty_tensor_value_info(name) for name in outputs]
    inits = [numpy_helper.from_array(np.asarray(v), name) for name, v in (initializers or {}).items()]
    graph = helper.make_graph(list(nodes), "test", graph_inputs, graph_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 8)
    inferred = {v.name: v.type for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    for out in model.graph.output:  # the outputs' types, as onnx infers them
        out.type.CopyFrom(inferred[out.name])
    return model.SerializeToString()


def run_onnxruntime(model: bytes, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(inputs))


def run_graphc(model: bytes, inputs: Mapping[str, np.ndarray], backend: str) -> list[np.ndarray]:
    imported = gc.onnx.load(model)
    f = gc.function(imported.inputs, imported.outputs, backend=backend)
    return list(f(*[inputs[name] for name in imported.input_names]))


def check_against_onnxruntime(model: bytes, inputs: Mapping[str, np.ndarray],
                              backends: Sequence[str] = ("numpy", "llvm"), atol: float = 1e-6) -> None:
    """graphc's outputs equal onnxruntime's (dtype, shape and values) on each backend."""
    want = run_onnxruntime(model, inputs)
    for backend in backends:
        got = run_graphc(model, inputs, backend)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape, (backend, g.shape, w.shape)
            assert g.dtype == w.dtype, (backend, g.dtype, w.dtype)
            if w.dtype.kind == "f":
                np.testing.assert_allclose(g, w, rtol=RTOL[w.dtype], atol=atol, err_msg=backend)
            else:
                np.testing.assert_array_equal(g, w, err_msg=backend)
