"""Loss functions, written with other ops in forms the simplifier can recognise and that
stay finite for extreme inputs (logits of 1e4, saturated sigmoids).

Each takes `reduction`: "mean" (default, as PyTorch), "sum" or "none" (per example for
cross_entropy and nll_loss, per element for the others).
"""
from __future__ import annotations

from typing import Any, Literal

from ...ir import DTypeError, Node, ShapeError, format_shape
from ...ir.dtypes import is_float, is_integer
from ..convert import as_node
from ..elementwise import cast, neg, softplus, square
from ..reduce import count, mean, reduce_sum
from .activations import log_softmax
from .encoding import one_hot

Reduction = Literal["mean", "sum", "none"]


def cross_entropy(logits: Any, labels: Any, label_smoothing: float = 0.0, reduction: Reduction = "mean") -> Node:
    """Softmax cross-entropy of logits (N, C) against int labels (N,) or probabilities (N, C).

    Computed as -sum(target * log_softmax(logits)) / N, so its gradient is
    (softmax(logits) - target) / N after simplification and it is finite for any finite
    logits. `label_smoothing` e mixes the target with the uniform distribution:
    target * (1 - e) + e / C, as PyTorch.
    """
    logits = _scores("cross_entropy", logits)
    target = _targets("cross_entropy", logits, as_node(labels), label_smoothing)
    return _expected_nll("cross_entropy", log_softmax(logits, axis=1), target, reduction)


def nll_loss(log_probs: Any, labels: Any, reduction: Reduction = "mean") -> Node:
    """Negative log-likelihood of int labels (N,) under log-probabilities (N, C)."""
    log_probs = _scores("nll_loss", log_probs)
    labels = as_node(labels)
    if not is_integer(labels.dtype):
        raise DTypeError(f"nll_loss: labels must be integers, got {labels.dtype}")
    return _expected_nll("nll_loss", log_probs, _targets("nll_loss", log_probs, labels, 0.0), reduction)


def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: Reduction = "mean") -> Node:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], as
    softplus(logits) - logits * targets: finite for any finite logits, gradient
    sigmoid(logits) - targets."""
    logits = as_node(logits)
    targets = _like("binary_cross_entropy_with_logits", logits, as_node(targets), "logits", "targets")
    return _reduce("binary_cross_entropy_with_logits", softplus(logits) - logits * targets, reduction)


def mse_loss(pred: Any, target: Any, reduction: Reduction = "mean") -> Node:
    """Mean squared error (pred - target) ** 2; shapes must be equal (no silent broadcasting)."""
    pred = as_node(pred)
    target = _like("mse_loss", pred, as_node(target), "pred", "target")
    return _reduce("mse_loss", square(pred - target), reduction)


def _scores(op: str, scores: Any) -> Node:
    scores = as_node(scores)
    if scores.ndim != 2:
        raise ShapeError(f"{op}: expected scores of shape (N, C), got {format_shape(scores.type.shape)}")
    if not is_float(scores.dtype):
        raise DTypeError(f"{op}: scores must be float, got {scores.dtype}")
    return scores


def _targets(op: str, scores: Node, labels: Node, label_smoothing: float) -> Node:
    """The target distribution (N, C) in the scores' dtype."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    n, classes = scores.type.shape
    if is_integer(labels.dtype):
        batch_ok = (labels.ndim == 1 and None in (n, labels.type.shape[0])) or labels.type.shape == (n,)
        if not batch_ok:
            raise ShapeError(
                f"{op}: int labels must have shape ({'?' if n is None else n},) for scores "
                f"{format_shape(scores.type.shape)}, got {format_shape(labels.type.shape)}"
            )
        if classes is None:
            raise ShapeError(
                f"{op}: int labels need the number of classes known, got scores {format_shape(scores.type.shape)}"
            )
        target = one_hot(labels, classes, scores.dtype)
    elif is_float(labels.dtype):
        target = _like(op, scores, labels, "scores", "probability targets")
    else:
        raise DTypeError(f"{op}: labels must be int class indices or float probabilities, got {labels.dtype}")
    if label_smoothing:
        if classes is None:
            raise ShapeError(f"{op}: label smoothing needs the number of classes known")
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    return target


def _expected_nll(op: str, log_probs: Node, target: Node, reduction: Reduction) -> Node:
    """-sum(target * log_probs) over classes, then reduced over the batch."""
    _check_reduction(op, reduction)
    if reduction == "none":
        return neg(reduce_sum(target * log_probs, axis=1))
    total = neg(reduce_sum(target * log_probs))
    return total if reduction == "sum" else total / count(log_probs, (0,), log_probs.dtype)


def _like(op: str, ref: Node, other: Node, ref_name: str, other_name: str) -> Node:
    """`other` checked to have `ref`'s shape and cast to its (float) dtype."""
    if not is_float(ref.dtype):
        raise DTypeError(f"{op}: {ref_name} must be float, got {ref.dtype}")
    a, b = ref.type.shape, other.type.shape
    if len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a, b)):
        raise ShapeError(f"{op}: {ref_name} {format_shape(a)} and {other_name} {format_shape(b)} must have the same shape")
    return cast(other, ref.dtype)


def _reduce(op: str, per_element: Node, reduction: Reduction) -> Node:
    _check_reduction(op, reduction)
    if reduction == "none":
        return per_element
    return reduce_sum(per_element) if reduction == "sum" else mean(per_element)


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
