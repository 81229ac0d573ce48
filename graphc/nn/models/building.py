"""What the zoo's models share: layers named by their torchvision state paths, torch's
initialisations, and the conv-BatchNorm-activation unit.

Every layer is built with its full state path as its name, so its shared variables read
`layer1.0.conv1.weight` in printed graphs and profiles, and then takes the last part of
that path as its own name, so that `state_dict()` composes the same path from its parents.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..init import Initialiser, RngLike, as_rng
from ..layers import BatchNorm, Conv2d, Dense, Layer, Sequential


def at(path: str, cls: Callable[..., Layer], *args: Any, **kwargs: Any) -> Layer:
    """`cls(*args, **kwargs)` whose variables are named after `path` and whose own name is
    the path's last part (its key in its parent)."""
    layer = cls(*args, name=path, **kwargs)
    layer.name = path.rsplit(".", 1)[-1]
    return layer


class Numbered:
    """The layers of a torch `nn.Sequential` at `path`: the i-th is named '<path>.<i>'."""

    def __init__(self, path: str):
        self.path = path
        self.layers: list[Layer] = []

    def add(self, cls: Callable[..., Layer], *args: Any, **kwargs: Any) -> Layer:
        """The next layer, `cls(*args, **kwargs)`."""
        return self.append(at(self.next_path(), cls, *args, **kwargs))

    def add_torch_default(self, cls: Callable[..., Layer], *args: Any, rng: RngLike, **kwargs: Any) -> Layer:
        """The next layer, a Dense or Conv with torch's default initialisation (see torch_layer)."""
        return self.append(torch_layer(self.next_path(), cls, *args, rng=rng, **kwargs))

    def next_path(self) -> str:
        """The state path of the next layer."""
        return f"{self.path}.{len(self.layers)}"

    def append(self, layer: Layer) -> Layer:
        """Add a layer built at `next_path()`."""
        self.layers.append(layer)
        return layer

    def sequential(self) -> Sequential:
        return at(self.path, Sequential, *self.layers)


def child(parent: str, key: str) -> str:
    """The state path of `parent`'s child `key` ('' is the root)."""
    return f"{parent}.{key}" if parent else key


# -- torch's initialisations (Initialiser callables: shape, fan_in, fan_out, rng) --------------

def kaiming_normal_fan_out(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / fan_out): torch's kaiming_normal_(mode="fan_out", nonlinearity="relu")."""
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_out))


def normal(std: float) -> Initialiser:
    """N(0, std^2), as torch's normal_(0, std)."""
    def init(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
    return init


def torch_default(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): the default of torch's Linear and Conv weights
    (kaiming_uniform_ with a = sqrt(5)) and biases."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def torch_layer(path: str, cls: Callable[..., Layer], *args: Any, rng: RngLike, **kwargs: Any) -> Layer:
    """A Dense or Conv layer at `path` initialised as torch does by default: weight and
    bias uniform in +-1/sqrt(fan_in)."""
    rng = as_rng(rng)
    layer = at(path, cls, *args, init=torch_default, rng=rng, **kwargs)
    weight = layer.weight.type.shape
    fan_in = weight[0] if isinstance(layer, Dense) else int(np.prod(weight[1:]))
    if layer.bias is not None:
        layer.bias.set_value(torch_default(layer.bias.type.shape, fan_in, 0, rng))
    return layer


def conv_bn(path: str, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
            activation: Optional[Callable[..., Layer]] = None, rng: RngLike = None) -> Sequential:
    """torchvision's Conv2dNormActivation: a bias-free convolution ('same'-style padding
    (k - 1) // 2), BatchNorm and, if given, an activation, as an nn.Sequential (0, 1, 2)."""
    layers = Numbered(path)
    layers.add(Conv2d, cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2, groups=groups, bias=False,
               init=kaiming_normal_fan_out, rng=rng)
    layers.add(BatchNorm, cout)
    if activation is not None:
        layers.add(activation)
    return layers.sequential()
