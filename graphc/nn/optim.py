"""Optimisers as symbolic updates: each returns (shared variable, new value) pairs for
`gc.function(updates=...)`, so one compiled call computes the loss and takes the step.

`grads` is either the gradients (one per parameter) or the scalar loss itself, which is
then differentiated here. `lr` is a number or a scalar node — a shared scalar lets a
schedule change it between calls with `lr.set_value(...)`. `weight_decay` adds
weight_decay * p to each gradient (L2 regularisation, as PyTorch's optimisers do),
except in `adamw`, which decays the parameter directly (decoupled, as torch's AdamW).
The update rules follow PyTorch's, so the same start gives the same trajectory.

`params` is a list of parameters, or PyTorch's parameter groups: a list of dicts, each
with its "params" and any of the optimiser's options (`lr`, `weight_decay`, `momentum`,
...) overriding the call's for that group. `weight_decay_groups(model, wd)` builds the
usual two: weights decayed, biases and normalisation parameters not.
"""
from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, Union

import numpy as np

from ..autodiff import grad as symbolic_grad
from ..ir import Node, ShapeError, format_shape
from ..ops import cast, clip, constant, minimum, shared, sqrt
from ..ops.convert import as_node

if TYPE_CHECKING:
    from .layers import Layer

Update = tuple[Node, Node]
Grads = Union[Node, Sequence[Node]]
ParamGroup = Mapping[str, Any]
Params = Union[Sequence[Node], Sequence[ParamGroup]]


def _accepts_param_groups(optimizer: Callable[..., list[Update]]) -> Callable[..., list[Update]]:
    """`optimizer`, also taking a list of parameter groups as `params`: each group's updates
    come from a call with the group's parameters and gradients and its own options over
    the call's (PyTorch's `[{"params": [...], "lr": ...}, ...]`)."""
    signature = inspect.signature(optimizer)
    options = [name for name in signature.parameters if name not in ("params", "grads")]

    @functools.wraps(optimizer)
    def with_groups(params: Params, grads: Grads, *args: Any, **kwargs: Any) -> list[Update]:
        params = list(params)
        if not any(isinstance(entry, Mapping) for entry in params):
            return optimizer(params, grads, *args, **kwargs)
        given = signature.bind(params, grads, *args, **kwargs).arguments
        call_options = {name: value for name, value in given.items() if name in options}
        groups = _check_groups(optimizer.__name__, params, options)
        updates: list[Update] = []
        for group, group_grads in zip(groups, _split_grads(optimizer.__name__, groups, grads)):
            group_options = {**call_options, **{k: v for k, v in group.items() if k != "params"}}
            updates += optimizer(group["params"], group_grads, **group_options)
        return updates

    return with_groups


def _check_groups(name: str, groups: list, options: list[str]) -> list[dict[str, Any]]:
    """The groups, each a mapping with "params" (made a list) and known options, no parameter in two."""
    seen: set[Node] = set()
    checked = []
    for index, group in enumerate(groups):
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{name}: parameter group {index} must be a dict with 'params', got {group!r}")
        unknown = sorted(set(group) - {"params", *options})
        if unknown:
            raise ValueError(f"{name}: parameter group {index} has unknown options {unknown}; it takes 'params' "
                             f"and {options}")
        params = list(group["params"])
        for p in params:
            if p in seen:
                raise ValueError(f"{name}: parameter {p.name!r} is in more than one parameter group")
            seen.add(p)
        checked.append({**group, "params": params})
    return checked


def _split_grads(name: str, groups: list[ParamGroup], grads: Grads) -> list[Grads]:
    """Each group's gradients: the loss itself for every group, or the group's slice of the
    list, which follows the parameters of all groups in order."""
    if isinstance(grads, Node):
        return [grads] * len(groups)
    grads = list(grads)
    sizes = [len(group["params"]) for group in groups]
    if len(grads) != sum(sizes):
        raise ValueError(f"{name}: {sum(sizes)} parameters in the groups but {len(grads)} gradients")
    starts = np.cumsum([0] + sizes)
    return [grads[start:start + size] for start, size in zip(starts, sizes)]


def weight_decay_groups(model: "Layer", weight_decay: float, skip: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Two parameter groups of `model` (a Layer): one decayed by `weight_decay`, one not.

    Parameters with at most one axis are not decayed (biases, BatchNorm's gamma and beta,
    as timm does), nor those whose state name (`model.state_dict()`'s, e.g. "fc.weight")
    is in `skip`. Empty groups are left out.
    """
    names = {var: name for name, var in model.named_variables().items()}
    unknown = sorted(set(skip) - set(names.values()))
    if unknown:
        raise ValueError(f"weight_decay_groups: no parameters named {unknown} in {model.name!r}")
    decayed, undecayed = [], []
    for p in model.parameters():
        (undecayed if p.ndim <= 1 or names[p] in skip else decayed).append(p)
    groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": undecayed, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]


@_accepts_param_groups
def sgd(params: Params, grads: Grads, lr: Any = 0.01, weight_decay: float = 0.0) -> list[Update]:
    """Plain gradient descent: p <- p - lr * g."""
    return [(p, p - _rate(lr, p) * g) for p, g in _gradients(params, grads, weight_decay)]


@_accepts_param_groups
def momentum(
    params: Params, grads: Grads, lr: Any = 0.01, momentum: float = 0.9,
    nesterov: bool = False, weight_decay: float = 0.0,
) -> list[Update]:
    """SGD with momentum: v <- momentum * v + g; p <- p - lr * v
    (Nesterov: p <- p - lr * (g + momentum * v))."""
    return _momentum_updates(params, grads, lr, momentum, nesterov, weight_decay)


@_accepts_param_groups
def nesterov(params: Params, grads: Grads, lr: Any = 0.01, momentum: float = 0.9,
             weight_decay: float = 0.0) -> list[Update]:
    """SGD with Nesterov momentum (see `momentum`)."""
    return _momentum_updates(params, grads, lr, momentum, True, weight_decay)


def _momentum_updates(params, grads, lr, mu: float, use_nesterov: bool, weight_decay: float) -> list[Update]:
    updates: list[Update] = []
    for p, g in _gradients(params, grads, weight_decay):
        velocity, v_new = _velocity_update(p, mu, g)
        step = g + _const(mu, p) * v_new if use_nesterov else v_new
        updates += [(velocity, v_new), (p, p - _rate(lr, p) * step)]
    return updates


def _velocity_update(p: Node, mu: float, direction: Node) -> Update:
    """The momentum buffer of p and its new value mu * v + direction."""
    velocity = _state_like(p, "velocity")
    return velocity, _const(mu, p) * velocity + direction


@_accepts_param_groups
def adam(
    params: Params, grads: Grads, lr: Any = 0.001, beta1: float = 0.9,
    beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
) -> list[Update]:
    """Adam with bias correction; one step counter shared by all parameters.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """
    return _adam_updates(params, grads, lr, beta1, beta2, eps, weight_decay, decoupled=False)


@_accepts_param_groups
def adamw(
    params: Params, grads: Grads, lr: Any = 0.001, beta1: float = 0.9,
    beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01,
) -> list[Update]:
    """Adam with decoupled weight decay (AdamW): p <- p (1 - lr * weight_decay), then the
    Adam step from the undecayed gradient, so decay does not pass through the moments."""
    return _adam_updates(params, grads, lr, beta1, beta2, eps, weight_decay, decoupled=True)


def _adam_updates(params, grads, lr, beta1: float, beta2: float, eps: float,
                  weight_decay: float, decoupled: bool) -> list[Update]:
    pairs = _gradients(params, grads, 0.0 if decoupled else weight_decay)
    if not pairs:
        return []
    step, t_next = _step_counter("adam.step")
    updates: list[Update] = [(step, t_next)]
    for p, g in pairs:
        t = cast(t_next, p.dtype)
        m, v = _state_like(p, "adam_m"), _state_like(p, "adam_v")
        m_new = _const(beta1, p) * m + _const(1 - beta1, p) * g
        v_new = _const(beta2, p) * v + _const(1 - beta2, p) * (g * g)
        m_hat = m_new / (1 - _const(beta1, p) ** t)
        v_hat = v_new / (1 - _const(beta2, p) ** t)
        start = p * (1 - _rate(lr, p) * _const(weight_decay, p)) if decoupled and weight_decay else p
        updates += [(m, m_new), (v, v_new), (p, start - _rate(lr, p) * m_hat / (sqrt(v_hat) + _const(eps, p)))]
    return updates


@_accepts_param_groups
def rmsprop(
    params: Params, grads: Grads, lr: Any = 0.01, alpha: float = 0.99, eps: float = 1e-8,
    momentum: float = 0.0, centered: bool = False, weight_decay: float = 0.0,
) -> list[Update]:
    """RMSprop: s <- alpha s + (1 - alpha) g^2; p <- p - lr * g / (sqrt(s) + eps).

    `centered` divides by the estimated standard deviation sqrt(s - mean(g)^2) instead;
    `momentum` > 0 accumulates g / (sqrt(s) + eps) in a velocity and steps along it.
    """
    updates: list[Update] = []
    for p, g in _gradients(params, grads, weight_decay):
        square_avg = _state_like(p, "rms_square_avg")
        s_new = _const(alpha, p) * square_avg + _const(1 - alpha, p) * (g * g)
        updates.append((square_avg, s_new))
        if centered:
            grad_avg = _state_like(p, "rms_grad_avg")
            a_new = _const(alpha, p) * grad_avg + _const(1 - alpha, p) * g
            updates.append((grad_avg, a_new))
            s_new = s_new - a_new * a_new
        direction = g / (sqrt(s_new) + _const(eps, p))
        if momentum:
            velocity, direction = _velocity_update(p, momentum, direction)
            updates.append((velocity, direction))
        updates.append((p, p - _rate(lr, p) * direction))
    return updates


@_accepts_param_groups
def adagrad(
    params: Params, grads: Grads, lr: Any = 0.01, lr_decay: float = 0.0,
    initial_accumulator_value: float = 0.0, eps: float = 1e-10, weight_decay: float = 0.0,
) -> list[Update]:
    """Adagrad: s <- s + g^2; p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps),
    so each coordinate's step shrinks with the sum of its squared gradients."""
    pairs = _gradients(params, grads, weight_decay)
    if not pairs:
        return []
    updates: list[Update] = []
    t_next = None
    if lr_decay:
        step, t_next = _step_counter("adagrad.step")
        updates.append((step, t_next))
    for p, g in pairs:
        rate = _rate(lr, p)
        if t_next is not None:
            rate = rate / (1 + (cast(t_next, p.dtype) - 1) * _const(lr_decay, p))
        total = _state_like(p, "adagrad_sum", initial_accumulator_value)
        s_new = total + g * g
        updates += [(total, s_new), (p, p - rate * g / (sqrt(s_new) + _const(eps, p)))]
    return updates


OPTIMIZERS: dict[str, Callable[..., list[Update]]] = {
    "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adam": adam, "adamw": adamw,
    "rmsprop": rmsprop, "adagrad": adagrad,
}


def get_optimizer(name: str) -> Callable[..., list[Update]]:
    """An optimiser by name: sgd, momentum, nesterov, adam, adamw, rmsprop or adagrad."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None


def l2_penalty(params: Sequence[Node], strength: float) -> Node:
    """strength / 2 * sum of squared parameters: as a loss term, the same as weight_decay=strength."""
    params = list(params)
    if not params:
        raise ValueError("l2_penalty: no parameters given")
    total = _sum_of_squares(params)
    return _const(strength / 2, total) * total


def clip_grad_norm(grads: Sequence[Node], max_norm: float) -> list[Node]:
    """The gradients scaled by min(1, max_norm / (norm + 1e-6)), norm being their global L2
    norm (as torch.nn.utils.clip_grad_norm_): caps the step's length, keeps its direction."""
    grads = [as_node(g) for g in grads]
    if not grads:
        return []
    norm = sqrt(_sum_of_squares(grads))
    scale = minimum(_const(max_norm, norm) / (norm + _const(1e-6, norm)), _const(1.0, norm))
    return [g * cast(scale, g.dtype) for g in grads]


def clip_grad_value(grads: Sequence[Node], clip_value: float) -> list[Node]:
    """Each gradient element limited to [-clip_value, clip_value] (as torch.nn.utils.clip_grad_value_)."""
    grads = [as_node(g) for g in grads]
    return [clip(g, _const(-clip_value, g), _const(clip_value, g)) for g in grads]


def _sum_of_squares(nodes: Sequence[Node]) -> Node:
    """sum(x**2) over all elements of all nodes, in the first node's dtype."""
    total = (nodes[0] * nodes[0]).sum()
    for node in nodes[1:]:
        total = total + cast((node * node).sum(), total.dtype)
    return total


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


def _state_like(p: Node, what: str, fill: float = 0.0) -> Node:
    return shared(np.full(p.type.shape, fill, p.dtype), name=f"{p.name}.{what}")


def _step_counter(name: str) -> tuple[Node, Node]:
    """A shared int64 step count starting at 0, and its next value (1 at the first step)."""
    step = shared(np.int64(0), name=name)
    return step, step + 1
