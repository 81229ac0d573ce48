"""LeNet-5 (LeCun et al., 1998) in the form PyTorch's tutorials write it."""
from __future__ import annotations

from ..init import RngLike, as_rng
from ..layers import AvgPool2d, Conv2d, Dense, Flatten, Sequential, Tanh
from .building import at, torch_layer


def lenet5(num_classes: int = 10, in_channels: int = 1, rng: RngLike = 0) -> Sequential:
    """LeNet-5 on 32x32 images (28x28 digits padded by 2): conv 5x5 to 6 channels, tanh,
    2x2 average pooling, conv 5x5 to 16, tanh, pooling, dense 400-120-84-num_classes with
    tanh between. State names conv1, conv2, fc1, fc2, fc3; torch's default initialisation."""
    rng = as_rng(rng)
    return at("lenet5", Sequential,
              torch_layer("conv1", Conv2d, in_channels, 6, 5, rng=rng), at("tanh1", Tanh), at("pool1", AvgPool2d, 2),
              torch_layer("conv2", Conv2d, 6, 16, 5, rng=rng), at("tanh2", Tanh), at("pool2", AvgPool2d, 2),
              at("flatten", Flatten),
              torch_layer("fc1", Dense, 16 * 5 * 5, 120, rng=rng), at("tanh3", Tanh),
              torch_layer("fc2", Dense, 120, 84, rng=rng), at("tanh4", Tanh),
              torch_layer("fc3", Dense, 84, num_classes, rng=rng))
