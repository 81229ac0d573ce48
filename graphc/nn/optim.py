"""Optimisers as symbolic updates: each returns (shared variable, new value) pairs for
`gc.function(updates=...)`, so one compiled call computes the loss and takes the step.

`grads` is either the gradients (one per parameter) or the scalar loss itself, which is
then differentiated here. `lr` is a number or a scalar node — a shared scalar lets a
schedule change it between calls with `lr.set_value(...)`. `weight_decay` adds
weight_decay * p to each gradient (L2 regularisation, as PyTorch's optimisers do).
The update rules follow PyTorch's, so the same start gives the same trajectory.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import numpy as np

from ..autodiff import grad as symbolic_grad
from ..ir import Node, ShapeError, format_shape
from ..ops import cast, constant, shared, sqrt
from ..ops.convert import as_node

Update = tuple[Node, Node]
Grads = Union[Node, Sequence[Node]]


def sgd(params: Sequence[Node], grads: Grads, lr: Any = 0.01, weight_decay: float = 0.0) -> list[Update]:
    """Plain gradient descent: p <- p - lr * g."""
    return [(p, p - _rate(lr, p) * g) for p, g in _gradients(params, grads, weight_decay)]


def momentum(
    params: Sequence[Node], grads: Grads, lr: Any = 0.01, momentum: float = 0.9,
    nesterov: bool = False, weight_decay: float = 0.0,
) -> list[Update]:
    """SGD with momentum: v <- momentum * v + g; p <- p - lr * v
    (Nesterov: p <- p - lr * (g + momentum * v))."""
    return _momentum_updates(params, grads, lr, momentum, nesterov, weight_decay)


def nesterov(params: Sequence[Node], grads: Grads, lr: Any = 0.01, momentum: float = 0.9,
             weight_decay: float = 0.0) -> list[Update]:
    """SGD with Nesterov momentum (see `momentum`)."""
    return _momentum_updates(params, grads, lr, momentum, True, weight_decay)


def _momentum_updates(params, grads, lr, mu: float, use_nesterov: bool, weight_decay: float) -> list[Update]:
    updates: list[Update] = []
    for p, g in _gradients(params, grads, weight_decay):
        velocity = _state_like(p, "velocity")
        v_new = _const(mu, p) * velocity + g
        step = g + _const(mu, p) * v_new if use_nesterov else v_new
        updates += [(velocity, v_new), (p, p - _rate(lr, p) * step)]
    return updates


def adam(
    params: Sequence[Node], grads: Grads, lr: Any = 0.001, beta1: float = 0.9,
    beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
) -> list[Update]:
    """Adam with bias correction; one step counter shared by all parameters.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """
    pairs = _gradients(params, grads, weight_decay)
    if not pairs:
        return []
    step = shared(np.int64(0), name="adam.step")
    t_next = step + 1
    updates: list[Update] = [(step, t_next)]
    for p, g in pairs:
        t = cast(t_next, p.dtype)
        m, v = _state_like(p, "adam_m"), _state_like(p, "adam_v")
        m_new = _const(beta1, p) * m + _const(1 - beta1, p) * g
        v_new = _const(beta2, p) * v + _const(1 - beta2, p) * (g * g)
        m_hat = m_new / (1 - _const(beta1, p) ** t)
        v_hat = v_new / (1 - _const(beta2, p) ** t)
        updates += [(m, m_new), (v, v_new), (p, p - _rate(lr, p) * m_hat / (sqrt(v_hat) + _const(eps, p)))]
    return updates


OPTIMIZERS: dict[str, Callable[..., list[Update]]] = {
    "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adam": adam,
}


def get_optimizer(name: str) -> Callable[..., list[Update]]:
    """An optimiser by name: sgd, momentum, nesterov or adam."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None


def l2_penalty(params: Sequence[Node], strength: float) -> Node:
    """strength / 2 * sum of squared parameters: as a loss term, the same as weight_decay=strength."""
    params = list(params)
    if not params:
        raise ValueError("l2_penalty: no parameters given")
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + cast((p * p).sum(), total.dtype)
    return _const(strength / 2, total) * total


def _gradients(params: Sequence[Node], grads: Grads, weight_decay: float) -> list[tuple[Node, Node]]:
    params = list(params)
    if isinstance(grads, Node):
        grads = symbolic_grad(grads, params) if params else []
    grads = list(grads)
    if len(grads) != len(params):
        raise ValueError(f"optimizer: {len(params)} parameters but {len(grads)} gradients")
    pairs = []
    for p, g in zip(params, grads):
        if g.type.shape != p.type.shape and g.type.is_static:
            raise ShapeError(
                f"optimizer: the gradient of {p.name!r} has shape {format_shape(g.type.shape)}, "
                f"the parameter {format_shape(p.type.shape)}"
            )
        g = cast(g, p.dtype)
        pairs.append((p, g + _const(weight_decay, p) * p if weight_decay else g))
    return pairs


def _const(value: float, like: Node) -> Node:
    return constant(np.asarray(value, dtype=like.dtype))


def _rate(lr: Any, like: Node) -> Node:
    return cast(as_node(lr, like), like.dtype)


def _state_like(p: Node, what: str) -> Node:
    return shared(np.zeros(p.type.shape, p.dtype), name=f"{p.name}.{what}")
