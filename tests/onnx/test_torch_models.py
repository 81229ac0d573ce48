"""Small CNNs built and exported here with torch.onnx.export (plain, residual, MobileNetV3-like,
MobileNetV2-like with depthwise and transposed convolutions, and Inception/DenseNet/ShuffleNet
patterns): graphc's import computes what onnxruntime (and torch) compute, and the gradients
of the imported parameters equal torch autograd's, so an imported model can be fine-tuned."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from onnx_helpers import run_onnxruntime

import graphc as gc

torch = pytest.importorskip("torch", reason="torch is not installed: these tests export models with it")
nn = torch.nn


class Residual(nn.Module):
    """conv-bn-relu-conv-bn plus the input, then relu (a ResNet basic block)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x):
        return torch.relu(self.body(x) + x)


class MobileBlock(nn.Module):
    """1x1 expansion, 3x3 conv (not depthwise), squeeze-excitation gate, 1x1 projection and a
    residual connection, with hardswish and relu6 (MobileNetV3's block without groups)."""

    def __init__(self, channels: int, expanded: int):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(channels, expanded, 1), nn.BatchNorm2d(expanded), nn.Hardswish())
        self.spatial = nn.Sequential(nn.Conv2d(expanded, expanded, 3, padding=1), nn.ReLU6())
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(expanded, 4, 1), nn.ReLU(),
                                  nn.Conv2d(4, expanded, 1), nn.Hardsigmoid())
        self.project = nn.Conv2d(expanded, channels, 1)

    def forward(self, x):
        h = self.spatial(self.expand(x))
        return x + self.project(h * self.gate(h))


class DepthwiseBlock(nn.Module):
    """MobileNetV2's inverted residual: 1x1 expansion, 3x3 depthwise conv (groups = channels),
    relu6, 1x1 projection, plus the input."""

    def __init__(self, channels: int, expanded: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, expanded, 1, bias=False), nn.BatchNorm2d(expanded), nn.ReLU6(),
                                  nn.Conv2d(expanded, expanded, 3, padding=2, dilation=2, groups=expanded, bias=False),
                                  nn.BatchNorm2d(expanded), nn.ReLU6(), nn.Conv2d(expanded, channels, 1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


class InceptionDenseShuffle(nn.Module):
    """The model zoo's other patterns in one block: Inception's parallel branches (1x1, 3x3,
    5x5, an average pool excluding padding then 1x1), DenseNet's concatenation of a layer's
    input with its output, and ShuffleNet's channel shuffle (view, transpose, view on sizes
    read from the tensor) after a grouped 1x1 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.b1 = nn.Conv2d(channels, 4, 1)
        self.b3 = nn.Sequential(nn.Conv2d(channels, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.b5 = nn.Conv2d(channels, 4, 5, padding=2)
        self.pool = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.Conv2d(channels, 4, 1))
        self.grouped = nn.Conv2d(16 + channels, 16, 1, groups=2)

    def forward(self, x):
        h = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1).relu()
        h = self.grouped(torch.cat([x, h], 1))
        n, c, height, width = h.size()
        return h.view(n, 2, c // 2, height, width).transpose(1, 2).reshape(n, c, height, width)


def small_cnn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 6, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2, ceil_mode=True),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 10), nn.LogSoftmax(dim=1))


def residual_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), Residual(8), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 5))


def mobile_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Hardswish(), MobileBlock(8, 16),
                         nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(8, 4, 1), nn.Flatten(1),
                         nn.Dropout(0.2), nn.Linear(4 * 16 * 16, 3), nn.Softmax(dim=-1))


def depthwise_net():
    """Depthwise blocks and a transposed-convolution decoder (an encoder-decoder's shapes)."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), DepthwiseBlock(8, 16),
                         nn.Conv2d(8, 8, 3, padding=1, groups=4), nn.ReLU(),
                         nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.Tanh(),
                         nn.ConvTranspose2d(4, 2, 2, stride=1, groups=2), nn.Flatten(), nn.Linear(2 * 17 * 17, 3))


def zoo_patterns_net():
    return nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU(), nn.LocalResponseNorm(3),
                         InceptionDenseShuffle(6),
                         nn.MaxPool2d(3, 2, ceil_mode=True), nn.Dropout(0.5), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 4))


MODELS = {"small_cnn": small_cnn, "residual": residual_net, "mobile": mobile_net, "depthwise": depthwise_net,
          "zoo_patterns": zoo_patterns_net}


def export(net, x, opset: int = 17, dynamic_batch: bool = False) -> bytes:
    """The ONNX bytes of `net` in inference mode, batch norms kept as nodes, parameters named
    as in its state dict."""
    buffer = io.BytesIO()
    axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic_batch else None
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated (the new one needs onnxscript)
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.from_numpy(x),), buffer, dynamo=False, opset_version=opset,
                          input_names=["x"], output_names=["y"], dynamic_axes=axes, do_constant_folding=False)
    return buffer.getvalue()


def built(name: str, seed: int = 0):
    torch.manual_seed(seed)
    net = MODELS[name]()
    for module in net.modules():  # batch norms other than the identity (the exporter would also
        if isinstance(module, nn.BatchNorm2d):  # merge equal initializers into one)
            for value in (module.weight.data, module.bias.data, module.running_mean):
                value.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.mark.parametrize("opset", [11, 17])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_exported_model_matches_onnxruntime_and_torch(name, opset):
    net = built(name)
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(np.float32)
    data = export(net, x, opset)
    model = gc.onnx.load(data)
    got = gc.function(model.inputs, model.outputs)(x)[0]
    np.testing.assert_allclose(got, run_onnxruntime(data, {"x": x})[0], rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(got, net(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)


def test_view_on_a_dynamic_batch_folds_with_given_shapes_and_frozen_models_match():
    """x.view(x.size(0), -1) exports Shape -> Gather -> Concat -> Reshape: with the batch
    symbolic it folds once load is given the input's sizes, or when the model is called on
    an input of known shape."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4 * 6 * 6, 2)

        def forward(self, x):
            h = torch.relu(self.conv(x))
            return self.fc(h.view(h.size(0), -1))

    torch.manual_seed(7)
    net = Net().eval()
    x = np.random.default_rng(8).standard_normal((5, 3, 8, 8)).astype(np.float32)
    data = export(net, x, dynamic_batch=True)
    want = run_onnxruntime(data, {"x": x})[0]
    with pytest.raises(gc.onnx.OnnxError, match="shapes="):
        gc.onnx.load(data)
    model = gc.onnx.load(data, shapes={"x": (5, 3, 8, 8)})
    np.testing.assert_allclose(gc.function(model.inputs, model.outputs)(x)[0], want, rtol=1e-4, atol=1e-5)
    frozen = gc.onnx.load(data, frozen=True, shapes={"x": (5, 3, 8, 8)})
    assert frozen.params == {} and len(model.params) == 4
    np.testing.assert_allclose(gc.function(frozen.inputs, frozen.outputs)(x)[0], want, rtol=1e-4, atol=1e-5)
    other = gc.tensor("batch_of_2", (2, 3, 8, 8))
    np.testing.assert_allclose(gc.function([other], model(other))(x[:2]), want[:2], rtol=1e-4, atol=1e-5)


def test_dynamic_batch_is_unknown_and_any_batch_runs():
    net = built("residual")
    x = np.random.default_rng(2).standard_normal((3, 3, 12, 12)).astype(np.float32)
    data = export(net, x, dynamic_batch=True)
    model = gc.onnx.load(data)
    assert model.inputs[0].shape == (None, 3, 12, 12)
    f = gc.function(model.inputs, model.outputs)
    for batch in (1, 3):
        np.testing.assert_allclose(f(x[:batch])[0], run_onnxruntime(data, {"x": x[:batch]})[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_gradients_of_imported_parameters_equal_torch_autograd(name):
    net = built(name, seed=3)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    model = gc.onnx.load(export(net, x))
    weights = rng.standard_normal(model.outputs[0].shape).astype(np.float32)
    loss = gc.sum(model.outputs[0] * gc.constant(weights))
    trainable = dict(net.named_parameters())
    names = [n for n in model.params if n in trainable]
    assert len(names) == len(trainable), (sorted(model.params), sorted(trainable))
    grads = gc.function(model.inputs, gc.grad(loss, [model.params[n] for n in names]))(x)
    (net(torch.from_numpy(x)) * torch.from_numpy(weights)).sum().backward()
    for n, g in zip(names, grads):
        np.testing.assert_allclose(g, trainable[n].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


def test_a_fine_tuning_step_changes_the_imported_parameters():
    """One SGD step on the imported last layer lowers the loss; the other parameters stay."""
    net = built("small_cnn", seed=5)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3, 16, 16)).astype(np.float32)
    labels = np.array([1, 3, 5, 7])
    model = gc.onnx.load(export(net, x))
    last = [model.params["8.weight"], model.params["8.bias"]]
    y = gc.tensor("labels", (4,), "int64")
    loss = gc.nn.nll_loss(model.outputs[0], y)
    step = gc.function(model.inputs + [y], loss, updates=gc.nn.sgd(last, gc.grad(loss, last), lr=0.5))
    first_conv = model.params["0.weight"].get_value()
    before = step(x, labels)
    after = step(x, labels)
    assert after < before
    np.testing.assert_array_equal(model.params["0.weight"].get_value(), first_conv)
