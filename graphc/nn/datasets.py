"""Small bundled datasets, ready for a CNN."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .data import split


class Dataset(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1797 images, 10 classes) as float32 NCHW
    images in [0, 1] with int64 labels, split into train and test stratified by class."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, y_train, x_test, y_test = split(images, labels, test_fraction, seed)
    return Dataset(x_train, y_train, x_test, y_test)
