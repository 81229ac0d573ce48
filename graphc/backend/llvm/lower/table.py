"""Every graph op the llvm backend lowers to kernels of its own, and what each lowering
accepts (registry.py states the contract). Elementwise ops, views and a few others are
computed inline instead (fusion.INLINE); tests/backend_llvm/test_lowering_table.py checks
that every op of graphc.ops is one or the other.
"""
from __future__ import annotations

from typing import Optional

from ....ir import Node
from ....ops.collective import AllReduceSum
from ....ops.gather import Gather, GatherAdd
from ....ops.indexing import ScatterInto
from ....ops.matmul import MatMul
from ....ops.nn.activations import LogSoftmax, Softmax
from ....ops.nn.conv import Conv, ConvInputGrad, ConvWeightGrad
from ....ops.nn.pool import AvgPool, AvgPoolGrad, MaxPool, MaxPoolGather, MaxPoolGrad
from ....ops.reduce import Argmax, LogSumExp, Reduce
from ....ops.scan import Scan
from ....ops.shape import Concatenate, Pad
from ....ops.sort import SortOrder
from . import collective, data, gather, matmul, nn, reduce, scan, softmax, sort
from .registry import Lowering

LOWERINGS: dict[type, Lowering] = {
    Reduce: Lowering(reduce.lower_reduce, epilogue=True, fused_inputs=True),
    # LogSumExp, Softmax, LogSoftmax read x from a buffer: one value of x in both passes
    LogSumExp: Lowering(reduce.lower_logsumexp, epilogue=True),
    Argmax: Lowering(reduce.lower_argmax, epilogue=True, fused_inputs=True),
    Scan: Lowering(scan.lower_scan, epilogue=True, fused_inputs=True),
    SortOrder: Lowering(sort.lower_sort, epilogue=True, fused_inputs=True),   # Sort and Argsort
    MatMul: Lowering(matmul.lower_matmul, epilogue=True, fused_inputs=True),
    Softmax: Lowering(softmax.lower_softmax, epilogue=True),
    LogSoftmax: Lowering(softmax.lower_log_softmax, epilogue=True),
    Concatenate: Lowering(data.lower_concatenate, epilogue=True, fused_inputs=True),
    Pad: Lowering(data.lower_pad, epilogue=True, fused_inputs=True),
    ScatterInto: Lowering(data.lower_scatter_into, epilogue=True, fused_inputs=True),
    Gather: Lowering(gather.lower_gather, epilogue=True, fused_inputs=True),
    GatherAdd: Lowering(gather.lower_gather_add, epilogue=True, fused_inputs=True),
    Conv: Lowering(nn.lower_conv, epilogue=True, strided_inputs=True),
    ConvInputGrad: Lowering(nn.lower_conv_input_grad, epilogue=True, strided_inputs=True),
    ConvWeightGrad: Lowering(nn.lower_conv_weight_grad, epilogue=True, strided_inputs=True),
    MaxPool: Lowering(nn.lower_max_pool, epilogue=True, strided_inputs=True),
    AvgPool: Lowering(nn.lower_avg_pool, epilogue=True, strided_inputs=True),
    MaxPoolGrad: Lowering(nn.lower_max_pool_grad, epilogue=True, strided_inputs=True),
    AvgPoolGrad: Lowering(nn.lower_avg_pool_grad, epilogue=True, strided_inputs=True),
    MaxPoolGather: Lowering(nn.lower_max_pool_gather, epilogue=True, strided_inputs=True),
    AllReduceSum: Lowering(collective.lower_allreduce_sum, fused_inputs=True),
}


def find_lowering(node: Node) -> Optional[Lowering]:
    """The lowering of `node`'s op (most specific class first), or None."""
    for cls in type(node.op).__mro__:
        if cls in LOWERINGS:
            return LOWERINGS[cls]
    return None


def lowering_for(node: Node) -> Lowering:
    """The lowering of `node`'s op, or a clear error."""
    found = find_lowering(node)
    if found is None:
        raise NotImplementedError(
            f"llvm backend: no lowering for op {type(node.op).__name__} ({node.op}) on {node.type}; "
            f"add one to LOWERINGS in graphc/backend/llvm/lower/table.py")
    return found
