"""The ONNX model zoo's architectures end to end: AlexNet, VGG, ResNet-50, SqueezeNet,
Inception (v3 and GoogLeNet), DenseNet-121 and ShuffleNetV2 as torchvision defines them,
narrowed and with random weights, in the files tests/onnx/zoo/generate.py wrote (opset 17, and
zoo-style copies at opsets 7-9 with Dropout, LRN, Sum, Reshape to [0, -1] and Softmax). Each is
imported, compiled with the llvm backend and run on random inputs at batch 1 and 2; its
outputs equal onnxruntime's (relative 1e-4 of the output's scale). The gradient of a loss
with respect to an imported parameter of ResNet-50 compiles and equals the numpy backend's
(and torch autograd's, when torch is installed)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from onnx_helpers import run_onnxruntime

import graphc as gc
from graphc.onnx.model import input_types, read

ZOO = Path(__file__).resolve().parent / "zoo"
FILES = sorted(ZOO.glob("*.onnx"))
ARCHITECTURES = ("alexnet", "vgg", "resnet50", "squeezenet", "inception_v3", "googlenet", "densenet121",
                 "shufflenet_v2")
#: Networks whose exported graph reshapes with sizes read from the tensor (ShuffleNet's channel
#: shuffle: x.view(x.size(0), ...)); graphc folds those at import, so each batch size is imported
#: with static input sizes.
STATIC_BATCH = ("shufflenet_v2",)
RTOL = 1e-4


def sample_shape(data: bytes) -> tuple[int, ...]:
    """The sizes of one sample of the file's input x (after its symbolic batch)."""
    return input_types(read(data))["x"][0][1:]


def random_input(shape: tuple, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def assert_matches(got: np.ndarray, want: np.ndarray, name: str) -> None:
    """Equal to relative 1e-4, with an absolute tolerance of 1e-4 of the output's largest value
    (tens of float32 layers reorder sums differently in each runtime)."""
    assert got.shape == want.shape and got.dtype == want.dtype, (name, got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * float(np.abs(want).max()), err_msg=name)


def test_the_files_cover_every_architecture_at_a_new_and_an_old_opset():
    stems = [path.stem for path in FILES]
    for architecture in ARCHITECTURES:
        assert any(stem.startswith(architecture) for stem in stems), architecture
    assert any("-opset7" in stem for stem in stems) and len(stems) >= 2 * len(ARCHITECTURES)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_zoo_network_matches_onnxruntime_at_batch_1_and_2(path):
    data = path.read_bytes()
    if path.stem.startswith(STATIC_BATCH):
        for batch in (1, 2):
            x = random_input((batch, *sample_shape(data)), seed=batch)
            model = gc.onnx.load(data, shapes={"x": x.shape})
            got, = gc.function(model.inputs, model.outputs)(x)
            assert_matches(got, run_onnxruntime(data, {"x": x})[0], f"{path.stem} batch {batch}")
        return
    model = gc.onnx.load(data)
    assert model.inputs[0].shape[0] is None  # the files' batch is symbolic
    f = gc.function(model.inputs, model.outputs)
    for batch in (1, 2):
        x = random_input((batch, *sample_shape(data)), seed=batch)
        got, = f(x)
        assert_matches(got, run_onnxruntime(data, {"x": x})[0], f"{path.stem} batch {batch}")


def first_conv_gradient(path: Path, x: np.ndarray, weights: np.ndarray, backend: str) -> np.ndarray:
    """The gradient of sum(output * weights) with respect to the first convolution's weight."""
    model = gc.onnx.load(path.read_bytes())
    loss = gc.sum(model.outputs[0] * gc.constant(weights))
    return gc.function(model.inputs, gc.grad(loss, model.params["conv1.weight"]), backend=backend)(x)


def test_gradient_through_imported_resnet50_compiles_and_equals_the_reference():
    """Through all 53 convolutions, 53 batch norms and 16 residual additions of ResNet-50
    (opset 7, where the parameters keep their torch names)."""
    path = ZOO / "resnet50-opset7.onnx"
    rng = np.random.default_rng(5)
    x, weights = random_input((2, 3, 64, 64), seed=4), rng.standard_normal((2, 10)).astype(np.float32)
    got = first_conv_gradient(path, x, weights, "llvm")
    want = first_conv_gradient(path, x, weights, "numpy")
    assert got.shape == (8, 3, 7, 7) and np.abs(want).max() > 0
    assert_matches(got, want, "conv1.weight")


def test_gradient_through_imported_resnet50_equals_torch_autograd():
    torch = pytest.importorskip("torch", reason="torch is not installed: it rebuilds the network the file holds")
    sys.path.insert(0, str(ZOO))
    try:
        from generate import built
    finally:
        sys.path.remove(str(ZOO))
    path = ZOO / "resnet50-opset7.onnx"
    net = built("resnet50")
    stored = {name: torch.from_numpy(p.get_value()) for name, p in gc.onnx.load(path.read_bytes()).params.items()}
    missing, unexpected = net.load_state_dict(stored, strict=False)  # the file's weights, whatever torch's seeding
    assert not unexpected and all(name.endswith("num_batches_tracked") for name in missing), (missing, unexpected)
    rng = np.random.default_rng(6)
    x, weights = random_input((2, 3, 64, 64), seed=7), rng.standard_normal((2, 10)).astype(np.float32)
    got = first_conv_gradient(path, x, weights, "llvm")
    (torch.softmax(net(torch.from_numpy(x)), 1) * torch.from_numpy(weights)).sum().backward()  # zoo_style's softmax
    assert_matches(got, net.conv1.weight.grad.numpy(), "conv1.weight")
