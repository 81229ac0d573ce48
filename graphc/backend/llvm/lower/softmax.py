"""Softmax and log-softmax along one axis: a max pass, a sum-of-exp pass, a store pass.

The input is read from a buffer, not recomputed from fused producers in each pass: the
passes must see one value of x. (Recomputed, a * b is rounded in the max pass but may be
contracted into a multiply-add in x - max, which can then be positive and large: exp of
it overflowed, and softmax(a * b) was nan for a * b ~ 1e10 in float32.)"""
from __future__ import annotations

from ....ir import Node
from ..loopir import Kernel, Un, block
from .common import kept_index, require_elements, size, store_result
from .reduce import finite_or_zero, max_and_sum_exp
from .registry import LowerContext


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


def lower_softmax(node: Node, ctx: LowerContext) -> list[Kernel]:
    return _lower(node, ctx, log=False)


def lower_log_softmax(node: Node, ctx: LowerContext) -> list[Kernel]:
    return _lower(node, ctx, log=True)
