"""Each example runs (as a script, in a scratch directory) and shows what it promises."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(name: str, cwd: Path, *args: str, timeout: int = 120) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_example_has_a_test():
    tested = {"gradient_descent.py", "digits_cnn.py", "adversarial_fgsm.py", "saliency_map.py",
              "alexnet.py", "resnet_cifar.py", "batchnorm_folding.py", "onnx_finetune.py"}
    helpers = {"profile_table.py"}   # imported by the examples that profile, not run on its own
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested | helpers


def test_gradient_descent(tmp_path):
    out = run_example("gradient_descent.py", tmp_path)
    assert "f'(x) simplified:" in out and "x ** 3" in out.replace("3.0", "3")
    distance = float(out.split("distance to the least-squares solution:")[1])
    assert distance < 1e-6


def test_digits_cnn(tmp_path):
    out = run_example("digits_cnn.py", tmp_path)
    accuracy = float(out.split("test accuracy")[1].split("%")[0])
    assert accuracy > 90 and "confusion matrix" in out


def test_adversarial_fgsm(tmp_path):
    out = run_example("adversarial_fgsm.py", tmp_path)
    clean = float(out.split("clean test accuracy:")[1].split("%")[0])
    attacked = float(out.split("eps = 0.20: accuracy under attack")[1].split("%")[0])
    assert attacked < clean - 30
    assert "the model reads" in out


def test_saliency_map(tmp_path):
    out = run_example("saliency_map.py", tmp_path)
    assert "|d score / d pixel|" in out
    pytest.importorskip("matplotlib")
    assert (tmp_path / "saliency.png").read_bytes()[:4] == b"\x89PNG"


def check_profile(out: str, kinds: tuple) -> None:
    """The example printed its kernel count, then a profile of that many kernels with these kinds."""
    kernels = int(out.split(" kernels, ")[0].split("\n")[-1])
    profile = out.split("per-kernel profile of one call")[1]
    assert f"({kernels} kernels" in profile
    by_kind = profile.split("by kind of kernel:")[1]
    for kind in kinds:
        assert f"\n  {kind} " in by_kind
    assert "conv2d_weight_grad" in profile  # the fused graph ops of a kernel


def test_alexnet_of_2012_prints_its_kernel_profile(tmp_path):
    out = run_example("alexnet.py", tmp_path, "--quick", timeout=600)
    assert "56,909,194 parameters" in out and "LocalResponseNorm" in out and "groups=2" in out   # 10 classes
    assert "forward + backward at batch 1 on the llvm backend" in out
    check_profile(out, ("conv", "conv_dgrad", "conv_wgrad", "max_pool_grad", "matmul"))


def test_resnet_cifar_trains_and_prints_its_kernel_profile(tmp_path):
    out = run_example("resnet_cifar.py", tmp_path, "--quick", timeout=600)
    first = float(out.split("step 1: loss")[1].split()[0])
    assert 1.0 < first < 5.0 and "step 4: loss" in out
    assert "training step at batch 8" in out
    check_profile(out, ("conv", "conv_dgrad", "conv_wgrad"))


def test_batchnorm_folding(tmp_path):
    out = run_example("batchnorm_folding.py", tmp_path)
    before, after = out.split("nodes in the inference graph:")[1].split("\n")[0].split("->")
    assert int(after) < int(before)
    assert float(out.split("largest difference between the logits:")[1].split()[0]) < 1e-3
    assert "same prediction on 100.0%" in out
    assert (tmp_path / "gradient.dot").read_text().startswith("digraph")


def test_onnx_finetune_lifts_the_accuracy_of_an_imported_network(tmp_path):
    pytest.importorskip("onnx", reason="onnx is not installed (pip install graphc[onnx])")
    out = run_example("onnx_finetune.py", tmp_path)
    before = float(out.split("before fine-tuning:")[1].split("%")[0])
    after = float(out.split("after fine-tuning the last layer:")[1].split("%")[0])
    assert before < 60 and after > 90
    assert "convolution weights unchanged: True" in out and (tmp_path / "digits_0_to_4.onnx").exists()
