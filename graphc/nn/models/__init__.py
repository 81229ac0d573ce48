"""Built-in models: the small ones of the demo and the examples, and a zoo of CNNs whose state
names and shapes map one to one onto torchvision's (see docs/models.md)."""
from __future__ import annotations

from typing import Callable, NamedTuple

from ..layers import Layer
from .alexnet import alexnet, alexnet_original
from .lenet import lenet5
from .mobilenet import InvertedResidual, mobilenet_v2
from .resnet import BasicBlock, resnet18, resnet34
from .small import digits_cnn, logistic_regression, mlp
from .squeezenet import Fire, squeezenet1_1
from .summary import summary
from .torch_names import from_torchvision, to_torchvision, torchvision_models
from .vgg import vgg11, vgg11_bn, vgg16, vgg16_bn


class ZooEntry(NamedTuple):
    """A zoo model's builder and the input size (C, H, W) it was designed for."""

    build: Callable[..., Layer]
    input_size: tuple[int, int, int]


#: The zoo by name: builder and designed input size.
ZOO: dict[str, ZooEntry] = {
    "lenet5": ZooEntry(lenet5, (1, 32, 32)),
    "alexnet": ZooEntry(alexnet, (3, 224, 224)),
    "alexnet_original": ZooEntry(alexnet_original, (3, 227, 227)),
    "vgg11": ZooEntry(vgg11, (3, 224, 224)),
    "vgg11_bn": ZooEntry(vgg11_bn, (3, 224, 224)),
    "vgg16": ZooEntry(vgg16, (3, 224, 224)),
    "vgg16_bn": ZooEntry(vgg16_bn, (3, 224, 224)),
    "resnet18": ZooEntry(resnet18, (3, 224, 224)),
    "resnet34": ZooEntry(resnet34, (3, 224, 224)),
    "mobilenet_v2": ZooEntry(mobilenet_v2, (3, 224, 224)),
    "squeezenet1_1": ZooEntry(squeezenet1_1, (3, 224, 224)),
}

__all__ = [
    "digits_cnn", "logistic_regression", "mlp", "lenet5", "alexnet", "alexnet_original", "vgg11", "vgg11_bn",
    "vgg16", "vgg16_bn", "resnet18", "resnet34", "mobilenet_v2", "squeezenet1_1", "BasicBlock", "Fire",
    "InvertedResidual", "from_torchvision", "to_torchvision", "torchvision_models", "summary", "ZOO", "ZooEntry",
]
