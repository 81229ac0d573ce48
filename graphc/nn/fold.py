"""Folding batch normalisation into the layer before it, for inference."""
from __future__ import annotations

from .layers import BatchNorm, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Dense, Layer, Sequential

_AFFINE = (Dense, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d)


def fold_batch_norm(model: Layer) -> Layer:
    """An inference model in which each BatchNorm that directly follows a Dense or Conv
    layer (in a Sequential) is folded into it: the weights and bias are rescaled so the
    layer computes what the pair computed with the running statistics.

    The result gives the same inference outputs with fewer nodes. Other layers are shared
    with `model`, so fold after training. Dense layers are taken to see (N, features)
    inputs, whose feature axis is BatchNorm's axis 1 (or -1).
    """
    if not isinstance(model, Sequential):
        return model
    layers: list[Layer] = []
    for layer in model:
        if isinstance(layer, BatchNorm) and layers and _foldable(layers[-1], layer):
            layers[-1] = layers[-1].rescaled(*layer.inference_affine())
        else:
            layers.append(fold_batch_norm(layer))
    return Sequential(*layers, name=model.name)


def _foldable(previous: Layer, bn: BatchNorm) -> bool:
    if isinstance(previous, Dense):
        return bn.axis in (1, -1)
    return isinstance(previous, _AFFINE) and bn.axis == 1
