"""AlexNet: torchvision's variant and the original network of 2012."""
from __future__ import annotations

import numpy as np

from ..init import RngLike, as_rng
from ..layers import (AdaptiveAvgPool2d, Conv2d, Dense, Dropout, Flatten, LocalResponseNorm, MaxPool2d, ReLU,
                      Sequential)
from .building import Numbered, at, normal


def alexnet(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """torchvision's AlexNet ("one weird trick", 2014): five convolutions 64-192-384-256-256
    without LRN or groups, adaptive average pooling to 6x6 (inputs of 63x63 and more; 224x224
    as trained), three dense layers with dropout. torch's default initialisation."""
    rng = as_rng(rng)
    features = Numbered("features")
    for cin, cout, kernel, stride, padding, pool in ((3, 64, 11, 4, 2, True), (64, 192, 5, 1, 2, True),
                                                     (192, 384, 3, 1, 1, False), (384, 256, 3, 1, 1, False),
                                                     (256, 256, 3, 1, 1, True)):
        features.add_torch_default(Conv2d, cin, cout, kernel, stride=stride, padding=padding, rng=rng)
        features.add(ReLU)
        if pool:
            features.add(MaxPool2d, 3, 2)
    classifier = Numbered("classifier")
    for cin, cout in ((256 * 6 * 6, 4096), (4096, 4096)):
        classifier.add(Dropout, dropout, rng=rng)
        classifier.add_torch_default(Dense, cin, cout, rng=rng)
        classifier.add(ReLU)
    classifier.add_torch_default(Dense, 4096, num_classes, rng=rng)
    return at("alexnet", Sequential, features.sequential(), at("avgpool", AdaptiveAvgPool2d, (6, 6)),
              at("flatten", Flatten), classifier.sequential())


def alexnet_original(num_classes: int = 1000, dropout: float = 0.5, rng: RngLike = 0) -> Sequential:
    """The network of Krizhevsky, Sutskever and Hinton (2012) on 3x227x227 inputs.

    Five convolutions 96-256-384-384-256; conv2, conv4 and conv5 in two groups (the two
    GPUs: each half of their outputs sees one half of their inputs); local response
    normalisation after the ReLUs of conv1 and conv2 (n = 5, k = 2, beta = 0.75 and
    alpha = 1e-4 on the sum of squares, which is torch's alpha = 5e-4 since torch divides
    the sum by n); overlapping 3x3 max pooling with stride 2; dense 9216-4096-4096 with
    dropout on the outputs of the two hidden dense layers (Caffe's order). Weights N(0, 0.01);
    biases 1 in conv2, conv4, conv5 and the hidden dense layers, 0 elsewhere, as the paper.
    """
    rng = as_rng(rng)
    init = normal(0.01)
    features = Numbered("features")
    for cin, cout, kernel, stride, padding, groups, after in (
        (3, 96, 11, 4, 0, 1, "norm"), (96, 256, 5, 1, 2, 2, "norm"), (256, 384, 3, 1, 1, 1, ""),
        (384, 384, 3, 1, 1, 2, ""), (384, 256, 3, 1, 1, 2, "pool"),
    ):
        conv = features.add(Conv2d, cin, cout, kernel, stride=stride, padding=padding, groups=groups, init=init,
                            rng=rng)
        if groups == 2:
            conv.bias.set_value(np.ones(cout, np.float32))
        features.add(ReLU)
        if after == "norm":
            features.add(LocalResponseNorm, 5, alpha=5e-4, beta=0.75, k=2.0)
        if after:
            features.add(MaxPool2d, 3, 2)
    classifier = Numbered("classifier")
    for cin, cout in ((256 * 6 * 6, 4096), (4096, 4096)):
        classifier.add(Dense, cin, cout, init=init, rng=rng).bias.set_value(np.ones(cout, np.float32))
        classifier.add(ReLU)
        classifier.add(Dropout, dropout, rng=rng)
    classifier.add(Dense, 4096, num_classes, init=init, rng=rng)
    return at("alexnet_original", Sequential, features.sequential(), at("flatten", Flatten),
              classifier.sequential())
