"""The finite-difference checker itself: it must fail on a wrong gradient."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.ir import Node, Op, TensorType


@dataclass(frozen=True)
class _SquareWithWrongGrad(Op):
    """x ** 2 whose vjp forgets the factor 2."""

    def infer_type(self, x: TensorType) -> TensorType:
        return x

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x * x

    def vjp(self, node: Node, grad: Node):
        return [grad * node.inputs[0]]


def test_accepts_a_right_gradient(rng):
    check_grad(lambda a, b: gc.tanh(a @ b), [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))])


def test_rejects_a_wrong_gradient(rng):
    with pytest.raises(AssertionError, match="gradient of input 0"):
        check_grad(lambda x: Node.make(_SquareWithWrongGrad(), [x]), [rng.standard_normal((2, 3))])


def test_checks_only_the_chosen_inputs_and_skips_integers(rng):
    labels = np.array([2, 0])
    grads = check_grad(lambda x, y: gc.nn.cross_entropy(x, y), [rng.standard_normal((2, 3)), labels])
    assert len(grads) == 1 and grads[0].shape == (2, 3)
