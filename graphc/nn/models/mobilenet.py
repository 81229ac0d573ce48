"""MobileNetV2 (Sandler et al., 2018) as torchvision's."""
from __future__ import annotations

from typing import Sequence

from ...ir import Node
from ..init import RngLike, as_rng
from ..layers import AdaptiveAvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten, Layer, ReLU6, Sequential
from .building import Numbered, at, conv_bn, kaiming_normal_fan_out, normal

#: (expansion t, output channels c, blocks n, first stride s) of each stage, the paper's table 2
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class InvertedResidual(Layer):
    """A 1x1 expansion to `expand` times the channels (left out when 1), a 3x3 depthwise
    convolution with the block's stride (each with BatchNorm and ReLU6), a linear 1x1
    projection with BatchNorm; plus the input where stride is 1 and the channels stay.
    The sublayers form `conv`, an nn.Sequential as torchvision's."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int, name: str = "block", rng: RngLike = None):
        super().__init__(name)
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        body = Numbered(f"{name}.conv")
        if expand != 1:
            body.append(conv_bn(body.next_path(), cin, hidden, 1, activation=ReLU6, rng=rng))
        body.append(conv_bn(body.next_path(), hidden, hidden, 3, stride, groups=hidden, activation=ReLU6,
                                   rng=rng))
        body.add(Conv2d, hidden, cout, 1, bias=False, init=kaiming_normal_fan_out, rng=rng)
        body.add(BatchNorm, cout)
        self.conv = body.sequential()

    def children(self) -> Sequence[Layer]:
        return [self.conv]

    def forward(self, x: Node, training: bool) -> Node:
        y = self.conv(x, training)
        return x + y if self.residual else y


def mobilenet_v2(num_classes: int = 1000, dropout: float = 0.2, rng: RngLike = 0) -> Sequential:
    """MobileNetV2 (width 1.0): a 3x3 stride-2 stem to 32 channels, 17 inverted residual
    blocks (STAGES), a 1x1 convolution to 1280 channels, global average pooling, dropout
    and a dense layer. Inputs of 32x32 and more (224x224 as trained). Convolutions He-normal
    by fan-out, BatchNorm 1 and 0, the dense layer N(0, 0.01) with bias 0 (torchvision's)."""
    rng = as_rng(rng)
    features = Numbered("features")
    features.append(conv_bn(features.next_path(), 3, 32, 3, 2, activation=ReLU6, rng=rng))
    cin = 32
    for expand, cout, count, stride in STAGES:
        for i in range(count):
            features.add(InvertedResidual, cin, cout, stride if i == 0 else 1, expand, rng=rng)
            cin = cout
    features.append(conv_bn(features.next_path(), cin, 1280, 1, activation=ReLU6, rng=rng))
    classifier = Numbered("classifier")
    classifier.add(Dropout, dropout, rng=rng)
    classifier.add(Dense, 1280, num_classes, init=normal(0.01), rng=rng)
    return at("mobilenet_v2", Sequential, features.sequential(), at("avgpool", AdaptiveAvgPool2d, 1),
              at("flatten", Flatten), classifier.sequential())
