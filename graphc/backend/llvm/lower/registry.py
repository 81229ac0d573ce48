"""Which graph ops lower to loop IR, and the contract a lowering follows.

A lowering turns one graph node into loop-IR kernels. table.py lists every one, with
what it accepts:

    Conv: Lowering(lower_conv, epilogue=True, strided_inputs=True),
    def lower_conv(node: Node, ctx: LowerContext) -> list[Kernel]: ...

What the lowering gets (`ctx`):
- `ctx.out`: the Buffer to write, shape `node.shape`, row-major contiguous. Its
  dtype is the dtype of the *fused group's* result, which differs from
  `node.dtype` when the epilogue ends in a cast. Store every element; do not
  assume its contents on entry. (To accumulate in `node.dtype` when they
  differ, use a workspace and store the finished values into `ctx.out`.)
- `ctx.inputs`: one Buffer per `node.inputs`, with that input's shape and
  dtype. Unless the lowering registers `strided_inputs=True`, each is row-major
  contiguous (the backend copies a strided view first); with
  `strided_inputs=True` a buffer may carry any strides (0 on broadcast axes,
  negative on flipped ones), so index it through `buf[i, j]` / `buf.index()`
  and check `buf.strides` before using explicit vector loads. A lowering
  registered with `fused_inputs=True` may find None there: the input is then
  computed inline from its producers; read every input through `ctx.load`.
  An input the op reads for its shape only (`op.shape_only_inputs`) is None.
- `ctx.load(k, idx)`: the expression of input k at `idx` (a tuple of int64
  expressions, one per axis of that input): a load from its buffer, or the
  fused producers' computation.
- `ctx.epilogue`: None, or (only for lowerings registered with `epilogue=True`)
  a callable `epilogue(value, out_index) -> Expr` built from the elementwise
  consumers fused into this node. `value` is the node's *scalar* result at
  `out_index` (a tuple of `node.ndim` int64 index expressions) in
  `node.dtype`; the callable loads the consumers' other operands itself and
  returns the scalar to store at the same index of `ctx.out` (dtype
  `ctx.out.dtype`). Apply it in a loop over output elements and vectorise that
  loop with `schedule.vectorize`: the emitter turns the loads into vector
  loads, broadcasts or gathers as the strides require. `ctx.finish(value,
  out_index)` applies the epilogue when there is one and casts to
  `ctx.out.dtype` otherwise.
- `ctx.threads`: how many threads the program is planned for. Split outer
  loops with `schedule.parallel` only when the work pays for it (~0.5 ms).
- `ctx.scratch(tag, dtype, shape)`: a per-thread workspace (scope "scratch";
  each thread of a parallel loop sees its own copy).
- `ctx.workspace(tag, dtype, shape)`: a workspace shared by all threads (e.g.
  an im2col matrix or a partial result). Both kinds live in the program's
  arena, only during this node's kernels: contents do not survive between
  calls.
- `ctx.name(tag)`: a name unique in the program; name every Kernel with it
  (`Kernel(ctx.name("conv"), ...)`). Local buffers (scope "local") need no
  unique name.

What the lowering returns: kernels run in order; they may read the inputs and
write `ctx.out` and their workspaces only. Set `Kernel.flops` (listings and
thread decisions).

A lowering that cannot handle a node raises NotImplementedError naming the op
and the case; the backend never falls back to numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ....ir import Node
from ..loopir import Buffer, Cast, Expr, Kernel

Epilogue = Callable[[Expr, tuple[Expr, ...]], Expr]
Loader = Callable[[int, tuple[Expr, ...]], Expr]
LowerFn = Callable[[Node, "LowerContext"], list[Kernel]]
#: Called with (tag, dtype, shape, per_thread) to get a workspace buffer.
Allocator = Callable[[str, str, tuple[int, ...], bool], Buffer]


@dataclass(frozen=True)
class Lowering:
    """A registered lowering and what it accepts."""

    fn: LowerFn
    epilogue: bool = False        # may take fused elementwise consumers
    strided_inputs: bool = False  # accepts input buffers with any strides
    fused_inputs: bool = False    # reads inputs through ctx.load; they may be computed inline

    def __post_init__(self) -> None:
        if self.fused_inputs:      # an input computed inline may be read at any index
            object.__setattr__(self, "strided_inputs", True)


class LowerContext:
    """What the lowering of one node sees (see the module docstring)."""

    def __init__(self, node: Node, out: Buffer, inputs: Sequence[Optional[Buffer]], load: Loader,
                 epilogue: Optional[Epilogue], threads: int, prefix: str, allocate: Allocator):
        self.node, self.out, self.inputs = node, out, tuple(inputs)
        self.epilogue, self.threads, self.prefix = epilogue, threads, prefix
        self._load, self._allocate, self._count = load, allocate, 0

    def load(self, k: int, idx: Sequence[Expr]) -> Expr:
        return self._load(k, tuple(idx))

    def name(self, tag: str) -> str:
        """A name unique in the program."""
        self._count += 1
        return f"{self.prefix}_{tag}{self._count}"

    def scratch(self, tag: str, dtype: str, shape: Sequence[int]) -> Buffer:
        return self._allocate(self.name(tag), dtype, tuple(shape), True)

    def workspace(self, tag: str, dtype: str, shape: Sequence[int]) -> Buffer:
        return self._allocate(self.name(tag), dtype, tuple(shape), False)

    def finish(self, value: Expr, out_index: Sequence[Expr]) -> Expr:
        """The value to store at `out_index` of `ctx.out`: the epilogue applied, if any."""
        if self.epilogue is not None:
            return self.epilogue(value, tuple(out_index))
        return value if value.type.dtype == self.out.dtype else Cast(value, self.out.dtype)
