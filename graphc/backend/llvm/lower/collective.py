"""Lowering of the collectives (ops/collective.py): the kernel copies its input into the
output, then hands the output to the host function that sums it over the processes."""
from __future__ import annotations

from ....ir import Node
from ..loopir import HostCall, Kernel, block
from .common import store_result
from .registry import LowerContext


def lower_allreduce_sum(node: Node, ctx: LowerContext) -> list[Kernel]:
    """out = x, then out summed over the processes in place, on the calling thread (a HostCall
    of hostcalls.py's allreduce_sum, after the copy's loops, which may run in parallel)."""
    copy, _ = store_result(ctx, lambda idx: ctx.load(0, idx), "i")
    return [Kernel(ctx.name("allreduce_sum"), block(copy, HostCall("allreduce_sum", ctx.out)))]
