"""Neural networks: the functional API (convolution, pooling, softmax, losses, normalisations,
activations, dropout, resampling),
layers, initialisers, optimisers as symbolic updates, data helpers and the training loop."""
from ..ops.nn import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d,
    avg_pool1d, avg_pool2d, batch_moments, batch_norm, binary_cross_entropy_with_logits, conv1d,
    conv2d, conv_transpose1d, conv_transpose2d, cross_entropy, dropout, elu, embedding, gelu, group_norm,
    hardsigmoid, hardswish,
    instance_norm, interpolate, layer_norm, leaky_relu, local_response_norm, log_softmax,
    max_pool1d, max_pool2d, mse_loss, nll_loss, one_hot, relu6, silu, softmax,
)

# Layers, models, optimisers and training (graphc.nn's own modules).
from . import data, datasets, init, models, schedules
from .data import Compose, RandomFlip, RandomShift, minibatches
from .fold import fold_batch_norm
from .layers import (
    AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, BatchNorm, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Dense,
    Dropout, ELU, Embedding, Flatten, GELU, GroupNorm, Hardsigmoid, Hardswish, Layer, LayerNorm, LeakyReLU,
    LocalResponseNorm, MaxPool1d, MaxPool2d, ReLU, ReLU6, Sequential, Sigmoid, SiLU, Softplus, Tanh, Upsample,
)
from .optim import (
    OPTIMIZERS, adagrad, adam, adamw, clip_grad_norm, clip_grad_value, get_optimizer, l2_penalty, momentum,
    nesterov, rmsprop, sgd, weight_decay_groups,
)
from .schedules import CosineAnnealingLR, LinearLR, LRSchedule, OneCycleLR, StepLR
from .training import History, Trainer, fit
