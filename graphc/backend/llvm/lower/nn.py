"""Convolution and pooling: each node lowers to the native kernels of
kernels/conv.py and kernels/pool.py, with the fused elementwise consumers
(bias, activation, casts) applied as outputs are stored.

Inputs are read through their strides, so views (transposes, slices) cost no
copy; the kernels copy what they pack anyway (zero-padded sources, filters).
"""
from __future__ import annotations

from ....ir import Node
from ..kernels import conv, depthwise, pointwise, pool
from ..loopir import Kernel
from .registry import LowerContext


def _options(node: Node, ctx: LowerContext) -> dict:
    return dict(space=ctx, dtype=node.dtype.name, epilogue=ctx.epilogue, threads=ctx.threads)


def _conv_options(node: Node, ctx: LowerContext) -> dict:
    return dict(_options(node, ctx), dilation=node.op.dilation, groups=node.op.groups)


def _pool_options(node: Node, ctx: LowerContext) -> dict:
    return dict(_options(node, ctx), dilation=node.op.dilation)


def lower_conv(node: Node, ctx: LowerContext) -> list[Kernel]:
    x, w = ctx.inputs
    op = node.op
    g = conv.ConvGeometry.of(x.shape, w.shape, op.stride, op.padding, op.dilation, op.groups)
    if pointwise.applies(g, x, node.dtype.name) and pointwise.prefers_gemm(g):
        return pointwise.conv_1x1(x, w, ctx.out, **_options(node, ctx))
    if depthwise.forward_small_applies(g, fused=ctx.epilogue is not None):
        return depthwise.forward_small(x, w, ctx.out, op.stride, op.padding, **_conv_options(node, ctx))
    return conv.conv_forward(x, w, ctx.out, op.stride, op.padding, **_conv_options(node, ctx))


def lower_conv_input_grad(node: Node, ctx: LowerContext) -> list[Kernel]:
    gy, w, _ = ctx.inputs
    op = node.op
    spread = depthwise.input_grad_applies(ctx.out.shape, w.shape, op.stride, op.padding, op.dilation, op.groups)
    build = depthwise.input_grad if spread else conv.conv_input_grad
    return build(gy, w, ctx.out, op.stride, op.padding, **_conv_options(node, ctx))


def lower_conv_weight_grad(node: Node, ctx: LowerContext) -> list[Kernel]:
    x, gy, _ = ctx.inputs
    op = node.op
    g = conv.ConvGeometry.of(x.shape, ctx.out.shape, op.stride, op.padding, op.dilation, op.groups)
    if pointwise.weight_grad_applies(g, x, gy, node.dtype.name):
        return pointwise.weight_grad_1x1(x, gy, ctx.out, **_options(node, ctx))
    build = depthwise.weight_grad if depthwise.applies(x.shape, ctx.out.shape, node.op.groups) else conv.conv_weight_grad
    return build(x, gy, ctx.out, node.op.stride, node.op.padding, **_conv_options(node, ctx))


def lower_max_pool(node: Node, ctx: LowerContext) -> list[Kernel]:
    op = node.op
    return pool.pool_forward("max", ctx.inputs[0], ctx.out, op.kernel, op.stride, op.padding,
                             **_pool_options(node, ctx))


def lower_avg_pool(node: Node, ctx: LowerContext) -> list[Kernel]:
    op = node.op
    return pool.pool_forward("avg", ctx.inputs[0], ctx.out, op.kernel, op.stride, op.padding,
                             **_pool_options(node, ctx))


def lower_max_pool_grad(node: Node, ctx: LowerContext) -> list[Kernel]:
    x, gy = ctx.inputs
    op = node.op
    return pool.max_pool_grad(x, gy, ctx.out, op.kernel, op.stride, op.padding, **_pool_options(node, ctx))


def lower_avg_pool_grad(node: Node, ctx: LowerContext) -> list[Kernel]:
    gy, _ = ctx.inputs
    op = node.op
    return pool.avg_pool_grad(gy, ctx.out, op.kernel, op.stride, op.padding, **_pool_options(node, ctx))


def lower_max_pool_gather(node: Node, ctx: LowerContext) -> list[Kernel]:
    x, g = ctx.inputs
    op = node.op
    return pool.max_pool_gather(x, g, ctx.out, op.kernel, op.stride, op.padding, **_pool_options(node, ctx))
