"""VGG-11 and VGG-16 (Simonyan and Zisserman, 2014), with and without BatchNorm, as torchvision's."""
from __future__ import annotations

from ..init import RngLike, as_rng
from ..layers import AdaptiveAvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten, MaxPool2d, ReLU, Sequential
from .building import Numbered, at, kaiming_normal_fan_out, normal

#: convolution widths between 2x2 max-pools ("M"), torchvision's configurations A and D
CONFIGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def _vgg(name: str, batch_norm: bool, num_classes: int, dropout: float, rng: RngLike) -> Sequential:
    """3x3 convolutions (padding 1) with ReLU [after BatchNorm] and max-pools as CONFIGS[name],
    adaptive average pooling to 7x7, dense 25088-4096-4096-num_classes with dropout.
    Convolutions He-normal by fan-out, dense weights N(0, 0.01), biases 0 (torchvision's)."""
    rng = as_rng(rng)
    features = Numbered("features")
    cin = 3
    for width in CONFIGS[name]:
        if width == "M":
            features.add(MaxPool2d, 2, 2)
            continue
        features.add(Conv2d, cin, width, 3, padding=1, init=kaiming_normal_fan_out, rng=rng)
        if batch_norm:
            features.add(BatchNorm, width)
        features.add(ReLU)
        cin = width
    classifier = Numbered("classifier")
    for fan_in in (512 * 7 * 7, 4096):
        classifier.add(Dense, fan_in, 4096, init=normal(0.01), rng=rng)
        classifier.add(ReLU)
        classifier.add(Dropout, dropout, rng=rng)
    classifier.add(Dense, 4096, num_classes, init=normal(0.01), rng=rng)
    return at(name + ("_bn" if batch_norm else ""), Sequential, features.sequential(),
              at("avgpool", AdaptiveAvgPool2d, (7, 7)), at("flatten", Flatten), classifier.sequential())


def vgg11(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """VGG-11 (configuration A): 8 convolutions, 3 dense layers; inputs of 32x32 and more."""
    return _vgg("vgg11", False, num_classes, dropout, rng)


def vgg11_bn(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """VGG-11 with BatchNorm after each convolution."""
    return _vgg("vgg11", True, num_classes, dropout, rng)


def vgg16(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """VGG-16 (configuration D): 13 convolutions, 3 dense layers; inputs of 32x32 and more."""
    return _vgg("vgg16", False, num_classes, dropout, rng)


def vgg16_bn(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """VGG-16 with BatchNorm after each convolution."""
    return _vgg("vgg16", True, num_classes, dropout, rng)
