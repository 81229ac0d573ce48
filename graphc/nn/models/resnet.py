"""ResNet-18 and ResNet-34 (He et al., 2015) as torchvision's, with a CIFAR stem option."""
from __future__ import annotations

from typing import Optional, Sequence

from ... import ops
from ...ir import Node
from ..init import RngLike, as_rng
from ..layers import AdaptiveAvgPool2d, BatchNorm, Conv2d, Dense, Flatten, Layer, MaxPool2d, ReLU, Sequential
from .building import Numbered, at, child, kaiming_normal_fan_out, torch_layer


class BasicBlock(Layer):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)): two 3x3 convolutions, the first
    with the block's stride; the shortcut is the identity, or a strided 1x1 convolution and
    BatchNorm (`downsample`) where the shape changes. Its sublayers are named after
    `name`, the block's state path (see building.at)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, name: str = "block", rng: RngLike = None):
        super().__init__(name)
        path = name
        conv = dict(bias=False, init=kaiming_normal_fan_out, rng=rng)
        self.conv1 = at(child(path, "conv1"), Conv2d, cin, cout, 3, stride=stride, padding=1, **conv)
        self.bn1 = at(child(path, "bn1"), BatchNorm, cout)
        self.conv2 = at(child(path, "conv2"), Conv2d, cout, cout, 3, padding=1, **conv)
        self.bn2 = at(child(path, "bn2"), BatchNorm, cout)
        self.downsample: Optional[Sequential] = None
        if stride != 1 or cin != cout:
            shortcut = Numbered(child(path, "downsample"))
            shortcut.add(Conv2d, cin, cout, 1, stride=stride, **conv)
            shortcut.add(BatchNorm, cout)
            self.downsample = shortcut.sequential()

    def children(self) -> Sequence[Layer]:
        return [self.conv1, self.bn1, self.conv2, self.bn2] + ([self.downsample] if self.downsample else [])

    def forward(self, x: Node, training: bool) -> Node:
        y = ops.relu(self.bn1(self.conv1(x), training))
        y = self.bn2(self.conv2(y), training)
        shortcut = x if self.downsample is None else self.downsample(x, training)
        return ops.relu(y + shortcut)

    def extra_repr(self) -> str:
        cin, cout = self.conv1.in_channels, self.conv1.out_channels
        return f"{cin}, {cout}" + (f", stride={self.conv1.stride}" if self.conv1.stride != 1 else "")


def _resnet(name: str, blocks: Sequence[int], num_classes: int, cifar: bool, width: int, rng: RngLike) -> Sequential:
    """The stem, four stages of BasicBlocks (widths width * 1, 2, 4, 8; stages 2-4 start
    with stride 2), global average pooling and a dense layer."""
    rng = as_rng(rng)
    conv = dict(bias=False, init=kaiming_normal_fan_out, rng=rng)
    if cifar:   # 3x3 stride 1, no max-pool: 32x32 images keep their resolution into layer1
        stem = [at("conv1", Conv2d, 3, width, 3, padding=1, **conv)]
    else:       # ImageNet's 7x7 stride 2 and a 3x3 stride-2 max-pool: a quarter of the resolution
        stem = [at("conv1", Conv2d, 3, width, 7, stride=2, padding=3, **conv)]
    stem += [at("bn1", BatchNorm, width), at("relu", ReLU)]
    if not cifar:
        stem.append(at("maxpool", MaxPool2d, 3, 2, 1))
    stages, cin = [], width
    for i, count in enumerate(blocks):
        cout = width * 2 ** i
        stage = Numbered(f"layer{i + 1}")
        for j in range(count):
            stage.add(BasicBlock, cin, cout, 2 if i and not j else 1, rng=rng)
            cin = cout
        stages.append(stage.sequential())
    head = [at("avgpool", AdaptiveAvgPool2d, 1), at("flatten", Flatten),
            torch_layer("fc", Dense, cin, num_classes, rng=rng)]
    return at(name, Sequential, *stem, *stages, *head)


def resnet18(num_classes: int = 1000, cifar: bool = False, width: int = 64, rng: RngLike = 0) -> Sequential:
    """ResNet-18: stages of 2, 2, 2, 2 basic blocks. `cifar=True` takes the 3x3 stem without
    max-pool for 32x32 images; `width` (64 as torchvision) narrows every stage for quick runs.
    Convolutions He-normal by fan-out, BatchNorm 1 and 0, the dense layer torch's default."""
    return _resnet("resnet18", (2, 2, 2, 2), num_classes, cifar, width, rng)


def resnet34(num_classes: int = 1000, cifar: bool = False, width: int = 64, rng: RngLike = 0) -> Sequential:
    """ResNet-34: stages of 3, 4, 6, 3 basic blocks (options as resnet18)."""
    return _resnet("resnet34", (3, 4, 6, 3), num_classes, cifar, width, rng)
