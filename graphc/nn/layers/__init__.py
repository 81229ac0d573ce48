"""Layers: small objects that own shared parameters and build graphs."""
from .activation import Flatten, ReLU, Sigmoid, Softplus, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .norms import GroupNorm, LayerNorm, LocalResponseNorm
from .pointwise import ELU, GELU, Hardsigmoid, Hardswish, LeakyReLU, ReLU6, SiLU
from .pool import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .resample import AdaptiveAvgPool2d, Upsample
from .sequential import Sequential

__all__ = [
    "Layer", "Dense", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "Flatten", "ReLU", "Sigmoid", "Tanh", "Softplus", "Dropout", "BatchNorm", "Sequential",
    "LayerNorm", "GroupNorm", "LocalResponseNorm",
    "LeakyReLU", "ELU", "GELU", "SiLU", "Hardswish", "Hardsigmoid", "ReLU6",
    "AdaptiveAvgPool2d", "Upsample", "Embedding",
]
