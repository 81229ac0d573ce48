"""gc.nn.models' zoo against torchvision: the same state names and shapes, the same outputs with
the same weights (inference, both backends at small inputs), the same gradients of a training
step, parameter counts; torch and torchvision are optional oracles."""
from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.nn import models

try:
    import torch
except ImportError:
    torch = None
DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


@pytest.fixture(scope="module")
def tv():
    if torch is None:
        pytest.skip("torch is not installed: it and torchvision are the oracles of the zoo's outputs")
    try:
        return models.torchvision_models()
    except ImportError as error:
        pytest.skip(f"torchvision is needed as the oracle ({error}; pip install --no-deps torchvision matching torch)")


# -- torch twins of the models torchvision does not have --------------------------------------

def torch_lenet5(num_classes: int = 10):
    nn = torch.nn
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, 6, 5), tanh1=nn.Tanh(), pool1=nn.AvgPool2d(2), conv2=nn.Conv2d(6, 16, 5), tanh2=nn.Tanh(),
        pool2=nn.AvgPool2d(2), flatten=nn.Flatten(), fc1=nn.Linear(400, 120), tanh3=nn.Tanh(),
        fc2=nn.Linear(120, 84), tanh4=nn.Tanh(), fc3=nn.Linear(84, num_classes)))


def torch_alexnet_original(num_classes: int = 1000):
    """The 2012 network written in torch from the paper (not from graphc's code)."""
    nn = torch.nn
    features = nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.LocalResponseNorm(5, 5e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.LocalResponseNorm(5, 5e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2), nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1, groups=2),
        nn.ReLU(), nn.MaxPool2d(3, 2))
    classifier = nn.Sequential(nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
                               nn.Dropout(), nn.Linear(4096, num_classes))
    return nn.Sequential(OrderedDict(features=features, flatten=nn.Flatten(), classifier=classifier))


def torch_resnet(tv, depth: int, num_classes: int, cifar: bool):
    net = getattr(tv, f"resnet{depth}")(num_classes=num_classes)
    if cifar:   # torchvision has no CIFAR stem: the usual replacement of conv1 and the max-pool
        net.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        net.maxpool = torch.nn.Identity()
    return net


#: name -> (graphc model, torch model, input shape, backends)
CASES = {
    "lenet5": (lambda: models.lenet5(), lambda tv: torch_lenet5(), (2, 1, 32, 32), ("numpy", "llvm")),
    "alexnet": (lambda: models.alexnet(10), lambda tv: tv.alexnet(num_classes=10), (1, 3, 64, 64), ("numpy", "llvm")),
    "alexnet_original": (lambda: models.alexnet_original(10), lambda tv: torch_alexnet_original(10),
                         (1, 3, 227, 227), ("llvm",)),
    "vgg11": (lambda: models.vgg11(10), lambda tv: tv.vgg11(num_classes=10), (1, 3, 32, 32), ("numpy", "llvm")),
    "vgg11_bn": (lambda: models.vgg11_bn(10), lambda tv: tv.vgg11_bn(num_classes=10), (2, 3, 32, 32), ("llvm",)),
    "vgg16": (lambda: models.vgg16(10), lambda tv: tv.vgg16(num_classes=10), (1, 3, 32, 32), ("numpy",)),
    "vgg16_bn": (lambda: models.vgg16_bn(10), lambda tv: tv.vgg16_bn(num_classes=10), (1, 3, 32, 32), ("llvm",)),
    "resnet18": (lambda: models.resnet18(10), lambda tv: torch_resnet(tv, 18, 10, False), (2, 3, 64, 64),
                 ("numpy", "llvm")),
    "resnet18_cifar": (lambda: models.resnet18(10, cifar=True), lambda tv: torch_resnet(tv, 18, 10, True),
                       (2, 3, 32, 32), ("numpy", "llvm")),
    "resnet34": (lambda: models.resnet34(10), lambda tv: torch_resnet(tv, 34, 10, False), (1, 3, 48, 40),
                 ("llvm",)),
    "mobilenet_v2": (lambda: models.mobilenet_v2(10), lambda tv: tv.mobilenet_v2(num_classes=10), (2, 3, 32, 32),
                     ("numpy", "llvm")),
    "squeezenet1_1": (lambda: models.squeezenet1_1(10), lambda tv: tv.squeezenet1_1(num_classes=10),
                      (1, 3, 61, 47), ("numpy", "llvm")),
}


def randomised(net, seed: int = 0):
    """`net` with random BatchNorm statistics and affine parameters (the defaults, 0 and 1,
    would not test their names or their use)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                for t, low, high in ((m.weight, 0.5, 1.5), (m.bias, -0.2, 0.2), (m.running_mean, -0.2, 0.2),
                                     (m.running_var, 0.5, 1.5)):
                    t.copy_(low + (high - low) * torch.rand(t.shape, generator=gen))
    return net.eval()


def assert_close(got: np.ndarray, expected: np.ndarray, rtol: float = 1e-4) -> None:
    """Equal up to rtol of the largest expected value (float32 sums in other orders)."""
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("name", list(CASES))
def test_outputs_equal_torchvisions_with_the_same_weights(tv, name):
    build, build_torch, shape, backends = CASES[name]
    torch.manual_seed(0)
    net = randomised(build_torch(tv))
    model = build()
    models.from_torchvision(model, net)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    images = gc.tensor("x", (None,) + shape[1:])
    for backend in backends:
        got = gc.function([images], model(images), backend=backend)(x)
        assert_close(got, expected)


@pytest.mark.parametrize("name", ["lenet5", "resnet18_cifar", "mobilenet_v2", "squeezenet1_1"])
def test_state_round_trips_through_torch(tv, name):
    build, build_torch, _, _ = CASES[name]
    net, model = build_torch(tv), build()
    state = models.to_torchvision(model)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert {k: v.shape for k, v in state.items()} == expected        # the same names and shapes, one to one
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    again = build()
    for var in again.parameters():
        var.set_value(np.zeros(var.type.shape, var.dtype))
    models.from_torchvision(again, net.state_dict())
    for (key, value), (key2, value2) in zip(model.state_dict().items(), again.state_dict().items()):
        assert key == key2 and np.array_equal(value, value2)


def test_names_map_batch_norm_and_transpose_dense_weights():
    state = models.to_torchvision(models.resnet18(10, cifar=True, width=8))
    assert {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "layer2.0.downsample.1.weight",
            "fc.weight", "fc.bias"} <= set(state)
    assert not any(k.endswith(("gamma", "beta")) for k in state)
    assert state["fc.weight"].shape == (10, 64)                       # torch's Linear: (out, in)


def test_loading_the_wrong_state_reports_every_problem(tv):
    with pytest.raises(ValueError) as error:
        models.from_torchvision(models.resnet18(10), tv.resnet34(num_classes=10))
    assert "unexpected keys" in str(error.value) and "layer3.5.conv1.weight" in str(error.value)
    with pytest.raises(ValueError, match="'fc.weight' has shape"):
        models.from_torchvision(models.resnet18(10), tv.resnet18(num_classes=7))


def torch_resnet18_cifar(tv, width: int):
    """torchvision's ResNet-18 with the CIFAR stem, every convolution, BatchNorm and the dense
    layer narrowed to `width` channels in the first stage (torchvision itself takes only 64)."""
    net = torch_resnet(tv, 18, 10, True)
    nn = torch.nn

    def narrow(channels: int) -> int:
        return channels * width // 64

    for name, module in list(net.named_modules()):
        parent, _, key = name.rpartition(".")
        owner = net.get_submodule(parent) if parent else net
        if isinstance(module, nn.Conv2d):
            cin = 3 if name == "conv1" else narrow(module.in_channels)
            setattr(owner, key, nn.Conv2d(cin, narrow(module.out_channels), module.kernel_size, module.stride,
                                          module.padding, bias=False))
        elif isinstance(module, nn.BatchNorm2d):
            setattr(owner, key, nn.BatchNorm2d(narrow(module.num_features)))
        elif isinstance(module, nn.Linear):
            setattr(owner, key, nn.Linear(narrow(module.in_features), module.out_features))
    return net


def check_training_step(tv, width: int, backend: str, rtol: float, dtype: str = "float32") -> None:
    """ResNet-18 (CIFAR stem, `width`) at batch 2 in training mode: the loss, every parameter's
    gradient and the running statistics' updates, against torch's, computed in `dtype` (the
    parameters stay float32; a float64 input makes graphc compute in float64)."""
    torch.manual_seed(0)
    net = randomised(torch_resnet18_cifar(tv, width)).train()
    model = models.resnet18(10, cifar=True, width=width)
    models.from_torchvision(model, net)
    if dtype == "float64":
        net = net.double()
    rng = np.random.default_rng(2)
    xb, yb = rng.standard_normal((2, 3, 32, 32)).astype(dtype), np.array([3, 7])
    loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb))
    loss.backward()
    torch_grads = {k: p.grad.numpy() for k, p in net.named_parameters()}

    x, y = gc.tensor("x", (2, 3, 32, 32), dtype), gc.tensor("y", (2,), "int64")
    logits = model(x, training=True)
    g_loss = gc.nn.cross_entropy(logits, y)
    params = model.parameters()
    step = gc.function([x, y], [g_loss] + gc.grad(g_loss, params), updates=model.state_updates(logits),
                       backend=backend)
    got_loss, *grads = step(xb, yb)
    assert_close(np.asarray(got_loss), np.asarray(loss.item(), dtype))
    torch_names = dict(zip(model.named_variables().values(), models.to_torchvision(model)))   # same order
    for var, grad in zip(params, grads):
        expected = torch_grads[torch_names[var]]
        assert_close(grad.T if var is model[-1].weight else grad, expected, rtol=rtol)   # fc: (in, out)
    state = models.to_torchvision(model)                              # the running statistics, updated
    for key, value in net.state_dict().items():
        if "running" in key:
            assert_close(state[key], value.numpy())


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_training_step_gradients_equal_torch_autograd(tv, backend):
    check_training_step(tv, 8, backend, rtol=2e-4)


def test_training_step_gradients_equal_torch_autograd_at_full_width_in_float64(tv):
    """At full width some weight draws make the step's gradients depend on rounding: with torch's
    seed 0, adding noise of 1e-6 to the input moves torch's own float64 gradients by 2.6% (a
    unit after a batch norm over 2 x 4 x 4 values sits near the ReLU's kink), so float32 results
    of any two libraries may differ by percents there. The float32 comparison is made at width 8;
    the full width is compared in float64, where graphc agrees with torch to float32 rounding of
    the returned gradients."""
    check_training_step(tv, 64, "numpy", rtol=1e-5, dtype="float64")


def test_models_page_code_runs():
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S), start=1):
        exec(compile(block, f"models.md block {number}", "exec"), {})


# -- parameter counts -------------------------------------------------------------------------

def documented_counts() -> dict[str, int]:
    """The parameter counts in docs/models.md's zoo table."""
    rows = re.findall(r"^\| `(\w+)` \|[^|]*\|\s*([\d,]+)\s*\|", DOCS.read_text(), re.M)
    return {name: int(count.replace(",", "")) for name, count in rows}


@pytest.fixture(scope="module")
def counts():
    """Each zoo model's parameter count at 1000 classes (10 for LeNet-5), built one at a time."""
    return {name: entry.build().num_parameters() for name, entry in models.ZOO.items()}


def test_docs_list_every_zoo_model_with_its_parameter_count(counts):
    assert documented_counts() == counts


def test_parameter_counts_equal_torchvisions(tv, counts):
    with torch.device("meta"):    # shapes only: nothing is allocated or initialised
        twins = {"lenet5": torch_lenet5(), "alexnet_original": torch_alexnet_original(),
                 **{name: getattr(tv, name)() for name in counts if hasattr(tv, name)}}
    assert set(twins) == set(counts)
    assert {name: sum(p.numel() for p in net.parameters()) for name, net in twins.items()} == counts


# -- graphc inspect --model NAME --------------------------------------------------------------

def test_the_command_line_knows_the_zoo():
    from graphc.cli import inspect_model

    assert inspect_model.ZOO_NAMES == tuple(models.ZOO)


def test_inspect_prints_a_zoo_models_layers_and_graph(capsys, tmp_path):
    from graphc.cli import main

    dot = tmp_path / "squeezenet.dot"
    assert main(["inspect", "--model", "squeezenet1_1", "--input-size", "3,64,48", "--dot", str(dot)]) == 0
    out = capsys.readouterr().out
    assert "model squeezenet1_1 on 3x64x48 inputs" in out
    assert "    expand3x3 " in out and "(?, 1000)" in out and "1,235,496 parameters" in out
    assert "conv2d_weight_grad 26" in out     # 26 convolutions, each with its weight gradient
    assert dot.read_text().startswith("digraph")


def test_inspect_refuses_an_input_a_zoo_model_cannot_take(capsys):
    from graphc.cli import main

    assert main(["inspect", "--model", "alexnet_original", "--input-size", "224"]) == 2
    assert "does not take 3x224x224 inputs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["inspect", "--model", "mlp", "--input-size", "32"])
    assert "give a zoo model" in capsys.readouterr().err
