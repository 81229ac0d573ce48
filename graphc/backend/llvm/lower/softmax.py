"""Softmax and log-softmax along one axis: a max pass, a sum-of-exp pass, a store pass."""
from __future__ import annotations

from ....ir import Node
from ....ops.nn.activations import LogSoftmax, Softmax
from ..loopir import Kernel, Un, block
from .common import kept_index, require_elements, size, store_result
from .reduce import finite_or_zero, max_and_sum_exp
from .registry import LowerContext, register


def _lower(node: Node, ctx: LowerContext, log: bool) -> list[Kernel]:
    shape, dtype = tuple(node.type.shape), node.dtype.name
    axes = (node.op.axis % len(shape),)
    require_elements(node, axes)
    acc_shape = tuple(1 if d in axes else n for d, n in enumerate(shape))
    stmt, m, s = max_and_sum_exp(ctx, shape, axes, True, acc_shape, dtype)

    def value(idx):
        at = kept_index(idx, axes, True)
        shifted = ctx.load(0, idx) - finite_or_zero(m[at])
        return shifted - Un("log", s[at]) if log else Un("exp", shifted) / s[at]

    result, _ = store_result(ctx, value, "o")
    return [Kernel(ctx.name("log_softmax" if log else "softmax"), block(stmt, result), flops=4 * size(shape))]


@register(Softmax, epilogue=True, fused_inputs=True)
def lower_softmax(node: Node, ctx: LowerContext) -> list[Kernel]:
    return _lower(node, ctx, log=False)


@register(LogSoftmax, epilogue=True, fused_inputs=True)
def lower_log_softmax(node: Node, ctx: LowerContext) -> list[Kernel]:
    return _lower(node, ctx, log=True)
