"""SqueezeNet 1.1 (Iandola et al., 2016) as torchvision's."""
from __future__ import annotations

from typing import Sequence

from ... import ops
from ...ir import Node
from ..init import RngLike, as_rng, he_uniform
from ..layers import AdaptiveAvgPool2d, Conv2d, Dropout, Flatten, Layer, MaxPool2d, ReLU, Sequential
from .building import Numbered, at, child, normal


class Fire(Layer):
    """A 1x1 'squeeze' convolution to few channels, then 1x1 and 3x3 'expand' convolutions
    side by side, their outputs concatenated along the channels; ReLU after each."""

    def __init__(self, cin: int, squeeze: int, expand1x1: int, expand3x3: int, name: str = "fire",
                 rng: RngLike = None):
        super().__init__(name)
        conv = dict(init=he_uniform, rng=rng)
        self.squeeze = at(child(name, "squeeze"), Conv2d, cin, squeeze, 1, **conv)
        self.expand1x1 = at(child(name, "expand1x1"), Conv2d, squeeze, expand1x1, 1, **conv)
        self.expand3x3 = at(child(name, "expand3x3"), Conv2d, squeeze, expand3x3, 3, padding=1, **conv)

    def children(self) -> Sequence[Layer]:
        return [self.squeeze, self.expand1x1, self.expand3x3]

    def forward(self, x: Node, training: bool) -> Node:
        s = ops.relu(self.squeeze(x))
        return ops.concatenate([ops.relu(self.expand1x1(s)), ops.relu(self.expand3x3(s))], axis=1)

    def extra_repr(self) -> str:
        return (f"{self.squeeze.in_channels}, {self.squeeze.out_channels}, {self.expand1x1.out_channels}, "
                f"{self.expand3x3.out_channels}")


def squeezenet1_1(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """SqueezeNet 1.1: a 3x3 stride-2 convolution to 64 channels, eight Fire modules between
    three 3x3 stride-2 max-pools (ceil_mode), then dropout, a 1x1 convolution to the classes,
    ReLU and global average pooling. Inputs of 17x17 and more (224x224 as trained).
    Convolutions He-uniform, the last N(0, 0.01), biases 0 (torchvision's)."""
    rng = as_rng(rng)
    features = Numbered("features")
    features.add(Conv2d, 3, 64, 3, stride=2, init=he_uniform, rng=rng)
    features.add(ReLU)
    for item in ("M", (64, 16, 64, 64), (128, 16, 64, 64), "M", (128, 32, 128, 128), (256, 32, 128, 128), "M",
                 (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), (512, 64, 256, 256)):
        if item == "M":
            features.add(MaxPool2d, 3, 2, ceil_mode=True)
        else:
            features.add(Fire, *item, rng=rng)
    classifier = Numbered("classifier")
    classifier.add(Dropout, dropout, rng=rng)
    classifier.add(Conv2d, 512, num_classes, 1, init=normal(0.01), rng=rng)
    classifier.add(ReLU)
    classifier.add(AdaptiveAvgPool2d, 1)
    return at("squeezenet1_1", Sequential, features.sequential(), classifier.sequential(), at("flatten", Flatten))
