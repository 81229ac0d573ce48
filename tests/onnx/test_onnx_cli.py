"""`graphc inspect model.onnx [--grad PARAM]`: the imported graph, its simplified form and a
parameter's simplified gradient; `graphc bench model.onnx`: times against onnxruntime; clear
refusals."""
from __future__ import annotations

import numpy as np
import pytest

from onnx_helpers import helper, make_model

from graphc.cli import main


@pytest.fixture
def model_file(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    path = tmp_path / "tiny.onnx"
    path.write_bytes(make_model(nodes, {"x": np.ones((2, 3), np.float32)}, ["y"],
                                initializers={"w": np.ones((3, 4), np.float32)}))
    return path


def test_prints_the_graph_its_simplified_form_and_a_gradient(capsys, model_file, tmp_path):
    dot = tmp_path / "g.dot"
    assert main(["inspect", str(model_file), "--grad", "w", "--dot", str(dot)]) == 0
    out = capsys.readouterr().out
    for heading in ("== the imported graph ==", "== simplified ==", "== d sum(y) / d w, simplified =="):
        assert heading in out
    assert "parameters: w" in out and "relu" in out and "matmul" in out
    assert dot.read_text().startswith("digraph")


def test_unknown_parameter_and_bad_file_exit_2(capsys, model_file, tmp_path):
    assert main(["inspect", str(model_file), "--grad", "b"]) == 2
    assert "no parameter 'b'; its parameters: w" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    assert main(["inspect", str(bad)]) == 2
    assert "graphc inspect:" in capsys.readouterr().err


def test_a_file_and_a_builtin_model_are_refused_together(capsys, model_file):
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(model_file), "--model", "mlp"])
    assert exit_info.value.code == 2
    assert "give a built-in --model or an ONNX file, not both" in capsys.readouterr().err


def test_bench_times_graphc_and_onnxruntime(capsys, tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    path = tmp_path / "dynamic.onnx"
    path.write_bytes(make_model(nodes, {"x": np.ones((2, 3), np.float32)}, ["y"], dynamic=["x"],
                                initializers={"w": np.ones((3, 4), np.float32)}))
    assert main(["bench", str(path), "--batch", "5", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "graphc" in out and "onnxruntime" in out and "outputs differ by at most" in out
    difference = float(out.split("at most ")[1].split(" ")[0])
    assert difference < 1e-6
    assert main(["bench", str(tmp_path / "absent.onnx")]) == 2
    assert "graphc bench: cannot read the ONNX file" in capsys.readouterr().err


def test_bench_gives_the_batch_before_importing_a_model_that_reads_its_input_shape(capsys, tmp_path):
    """x.view(x.size(0), -1) on a symbolic batch (Shape -> Gather -> Concat -> Reshape) folds
    only when the batch is known at import, as ShuffleNet's channel shuffle needs."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["t"], axis=0), helper.make_node("Reshape", ["x", "t"], ["y"])]
    path = tmp_path / "reshaped.onnx"
    path.write_bytes(make_model(nodes, {"x": np.ones((2, 3, 4), np.float32)}, ["y"], 13, dynamic=["x"],
                                initializers={"zero": np.int64(0), "axes": np.array([0]), "minus1": np.array([-1])}))
    assert main(["bench", str(path), "--batch", "3", "--repeats", "2"]) == 0
    assert "outputs differ by at most 0.0e+00" in capsys.readouterr().out
