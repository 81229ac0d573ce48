"""Small models of the demo, the examples and the tests: the digits CNN, logistic regression, an MLP."""
from __future__ import annotations

from ..init import RngLike, as_rng
from ..layers import BatchNorm, Conv2d, Dense, Dropout, Flatten, MaxPool2d, ReLU, Sequential, Tanh


def digits_cnn(
    channels: tuple[int, int] = (16, 32), batch_norm: bool = False, dropout: float = 0.0,
    rng: RngLike = 0, dtype: str = "float32",
) -> Sequential:
    """The demo CNN for 1x8x8 digit images: (conv3x3 - [BatchNorm] - ReLU - maxpool2) twice,
    flatten, [dropout], dense to 10 logits (the softmax is in the loss)."""
    rng = as_rng(rng)
    c1, c2 = channels
    layers = []
    for i, (cin, cout) in enumerate(((1, c1), (c1, c2)), start=1):
        layers.append(Conv2d(cin, cout, 3, padding=1, init="he_normal", rng=rng, name=f"conv{i}", dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm(cout, name=f"bn{i}", dtype=dtype))
        layers += [ReLU(), MaxPool2d(2)]
    layers.append(Flatten())
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    layers.append(Dense(c2 * 2 * 2, 10, init="glorot_uniform", rng=rng, name="fc", dtype=dtype))
    return Sequential(*layers, name="digits_cnn")


def logistic_regression(
    in_features: int = 64, classes: int = 10, rng: RngLike = 0, dtype: str = "float32",
) -> Sequential:
    """Flatten and one Dense layer: multinomial logistic regression on logits."""
    return Sequential(Flatten(), Dense(in_features, classes, rng=rng, name="fc", dtype=dtype), name="logistic")


def mlp(
    in_features: int = 64, hidden: int = 32, classes: int = 10, rng: RngLike = 0, dtype: str = "float32",
) -> Sequential:
    """Flatten, Dense-tanh, Dense: a one-hidden-layer perceptron."""
    rng = as_rng(rng)
    return Sequential(
        Flatten(), Dense(in_features, hidden, rng=rng, name="hidden", dtype=dtype), Tanh(),
        Dense(hidden, classes, rng=rng, name="out", dtype=dtype), name="mlp",
    )
