"""Neural-network ops: convolution, pooling, softmax, one-hot, embedding, losses, normalisations, activations,
dropout, resampling.

Users reach the functions as `graphc.nn`; the op classes are here for rewrites and backends.
"""
from .adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d
from .activations import LogSoftmax, Softmax, log_softmax, softmax
from .conv import Conv, ConvInputGrad, ConvWeightGrad, conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .embedding import embedding
from .encoding import OneHot, one_hot
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .normalization import batch_moments, batch_norm
from .pointwise import elu, gelu, hardsigmoid, hardswish, leaky_relu, relu6, silu
from .pool import (
    AvgPool, AvgPoolGrad, MaxPool, MaxPoolGather, MaxPoolGrad, avg_pool1d, avg_pool2d,
    max_pool1d, max_pool2d,
)
from .regularization import dropout
from .resize import interpolate
from .sample_norm import group_norm, instance_norm, layer_norm, local_response_norm

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "LogSoftmax", "Softmax", "log_softmax", "softmax",
    "Conv", "ConvInputGrad", "ConvWeightGrad", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    "embedding",
    "OneHot", "one_hot",
    "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss", "nll_loss",
    "batch_moments", "batch_norm",
    "elu", "gelu", "hardsigmoid", "hardswish", "leaky_relu", "relu6", "silu",
    "AvgPool", "AvgPoolGrad", "MaxPool", "MaxPoolGather", "MaxPoolGrad",
    "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d",
    "dropout",
    "interpolate",
    "group_norm", "instance_norm", "layer_norm", "local_response_norm",
]
