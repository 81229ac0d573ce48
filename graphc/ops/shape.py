"""Ops that move data without arithmetic: reshape, transpose, broadcast, concatenate, pad, flip
(gc.pad itself, with numpy's modes, is in padding.py).

Ops whose target shape has dimensions unknown until run time take a second, shape-only
"template" input whose run-time shape they copy (gradients use this form).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ir import Node, Op, ShapeError, TensorType, format_shape, normalize_axes, normalize_axis, promote
from ..ir.types import Shape, as_shape
from .convert import as_node, as_nodes
from .tangents import linear


def _product(dims: Sequence[Optional[int]]) -> Optional[int]:
    return None if any(d is None for d in dims) else int(np.prod(dims, dtype=np.int64))


@dataclass(frozen=True)
class Reshape(Op):
    """Reshape to `shape` (one -1 allowed); shape None copies the template input's shape."""

    shape: Optional[tuple[int, ...]]
    shape_only_inputs = (1,)

    def infer_type(self, x: TensorType, template: Optional[TensorType] = None) -> TensorType:
        if self.shape is None:
            if template is None:
                raise TypeError("reshape: needs a target shape or a template")
            target: Shape = template.shape
        else:
            target = self._resolve(x)
        size_in, size_out = _product(x.shape), _product(target)
        if size_in is not None and size_out is not None and size_in != size_out:
            raise ShapeError(
                f"reshape: cannot reshape {format_shape(x.shape)} ({size_in} elements) "
                f"into {format_shape(target)} ({size_out} elements)"
            )
        return TensorType(x.dtype, target)

    def _resolve(self, x: TensorType) -> Shape:
        shape = self.shape
        if list(shape).count(-1) > 1:
            raise ShapeError(f"reshape: only one -1 allowed in {shape}")
        if any(d < -1 for d in shape):
            raise ShapeError(f"reshape: bad target shape {shape}")
        if -1 not in shape:
            return shape
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        size = _product(x.shape)
        if size is None:
            fill = None
        elif known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape {format_shape(x.shape)} into {shape}")
        else:
            fill = size // known
        return tuple(fill if d == -1 else d for d in shape)

    def reference(self, x: np.ndarray, template: Optional[np.ndarray] = None) -> np.ndarray:
        return x.reshape(template.shape if self.shape is None else self.shape)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [reshape_like(grad, node.inputs[0]), None][: len(node.inputs)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class BroadcastTo(Op):
    """Broadcast to `shape`; shape None copies the template input's shape, and a None
    entry in `shape` keeps the input's size on that axis (known only when run)."""

    shape: Optional[tuple[Optional[int], ...]]
    shape_only_inputs = (1,)

    def infer_type(self, x: TensorType, template: Optional[TensorType] = None) -> TensorType:
        target = template.shape if self.shape is None else _keep_sizes(self.shape, x.shape)
        if len(target) < x.ndim:
            raise ShapeError(f"broadcast_to: cannot broadcast {format_shape(x.shape)} to fewer dims {format_shape(target)}")
        for d, t in zip(x.shape[::-1], target[::-1]):
            if d is not None and d != 1 and t is not None and d != t:
                raise ShapeError(f"broadcast_to: cannot broadcast {format_shape(x.shape)} to {format_shape(target)}")
        return TensorType(x.dtype, target)

    def check_run_time(self, node: Node, input_shapes: Sequence[tuple[int, ...]]) -> None:
        """A size of x declared unknown may not be 1 where the target is not (as for
        elementwise ops): the gradient would be summed to the wrong shape."""
        declared, actual = node.inputs[0].type.shape, input_shapes[0]
        target = input_shapes[1] if self.shape is None else self.shape
        lead = len(target) - len(actual)
        for axis, (d, a) in enumerate(zip(declared, actual)):
            if d is None and a == 1 and target[lead + axis] not in (1, None):
                raise ShapeError(
                    f"broadcast_to: the input {format_shape(declared)} has size 1 at run time on axis {axis}, "
                    f"declared unknown (None); it would broadcast to {format_shape(target)} there. Declare "
                    f"that size as 1 to broadcast"
                )

    def reference(self, x: np.ndarray, template: Optional[np.ndarray] = None) -> np.ndarray:
        return np.broadcast_to(x, template.shape if self.shape is None else _keep_sizes(self.shape, x.shape))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        from .reduce import sum_to

        return [sum_to(grad, node.inputs[0]), None][: len(node.inputs)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


def _keep_sizes(target: Sequence[Optional[int]], shape: Shape) -> Shape:
    """`target` with each None replaced by the size of `shape` on that axis (aligned at the end)."""
    lead = len(target) - len(shape)
    for axis, t in enumerate(target):
        if t is None and axis < lead:
            raise ShapeError(f"broadcast_to: target {format_shape(target)} keeps (None) axis {axis}, which "
                             f"the input {format_shape(shape)} does not have (it is aligned with the last axes)")
    return tuple(shape[axis - lead] if t is None else t for axis, t in enumerate(target))


@dataclass(frozen=True)
class MatchShape(Op):
    """Identity on x that checks x has the template's shape (statically where both sizes are
    known, else when run); its static shape knows every size either knows. Gives gradients
    the static shape of their input, and guards those decided assuming an unknown size."""

    shape_only_inputs = (1,)

    def infer_type(self, x: TensorType, template: TensorType) -> TensorType:
        if x.ndim != template.ndim:
            raise ShapeError(f"match_shape: got rank {x.ndim} {format_shape(x.shape)} where "
                             f"{format_shape(template.shape)} was expected")
        self.check_run_time(None, [x.shape, template.shape])
        return TensorType(x.dtype, tuple(t if g is None else g for g, t in zip(x.shape, template.shape)))

    def check_run_time(self, node: Optional[Node], input_shapes: Sequence[tuple]) -> None:
        got, want = input_shapes
        if any(g is not None and w is not None and g != w for g, w in zip(got, want)):
            raise ShapeError(
                f"match_shape: got {format_shape(got)} where {format_shape(want)} was expected: a size "
                f"declared unknown (None) was 1 when run and broadcast; declare it as 1 to broadcast"
            )

    def reference(self, x: np.ndarray, template: np.ndarray) -> np.ndarray:
        return x

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [grad, None]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class Transpose(Op):
    """Permute axes: output axis i is input axis perm[i]."""

    perm: tuple[int, ...]

    def infer_type(self, x: TensorType) -> TensorType:
        if sorted(self.perm) != list(range(x.ndim)):
            raise ShapeError(f"transpose: {self.perm} is not a permutation of the axes of {format_shape(x.shape)}")
        return TensorType(x.dtype, tuple(x.shape[p] for p in self.perm))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.transpose(x, self.perm)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [transpose(grad, tuple(int(i) for i in np.argsort(self.perm)))]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class ExpandDims(Op):
    """Insert axes of size 1 at positions `axes` of the output."""

    axes: tuple[int, ...]

    def infer_type(self, x: TensorType) -> TensorType:
        shape = list(x.shape)
        for a in self.axes:
            shape.insert(a, 1)
        return TensorType(x.dtype, tuple(shape))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.expand_dims(x, self.axes)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [Node.make(Squeeze(self.axes), [grad])]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class Squeeze(Op):
    """Remove axes of size 1."""

    axes: tuple[int, ...]

    def infer_type(self, x: TensorType) -> TensorType:
        for a in self.axes:
            if x.shape[a] not in (1, None):
                raise ShapeError(f"squeeze: axis {a} of {format_shape(x.shape)} has size {x.shape[a]}, not 1")
        return TensorType(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in self.axes))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.squeeze(x, self.axes)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [Node.make(ExpandDims(self.axes), [grad])]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


@dataclass(frozen=True)
class Concatenate(Op):
    """Join inputs along `axis`."""

    axis: int

    def infer_type(self, *xs: TensorType) -> TensorType:
        if not xs:
            raise ShapeError("concatenate: needs at least one tensor")
        ndim = xs[0].ndim
        shapes = " and ".join(format_shape(x.shape) for x in xs)
        if any(x.ndim != ndim for x in xs):
            raise ShapeError(f"concatenate: tensors {shapes} differ in rank")
        out = []
        for axis in range(ndim):
            dims = [x.shape[axis] for x in xs]
            if axis == self.axis:
                out.append(sum(dims) if None not in dims else None)
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ShapeError(f"concatenate: tensors {shapes} differ on axis {axis}, not only the joined axis {self.axis}")
            out.append(known.pop() if known else None)
        return TensorType(promote(*(x.dtype for x in xs)), tuple(out))

    def reference(self, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=self.axis)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        from .indexing import slice_axis
        from .elementwise import cast

        grads, start = [], 0
        for x in node.inputs:
            size = x.type.shape[self.axis]
            if size is None:
                raise ShapeError("concatenate: the gradient needs the joined sizes known")
            grads.append(cast(slice_axis(grad, self.axis, start, start + size), x.dtype))
            start += size
        return grads

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents, range(len(node.inputs)))  # an int part's tangent is zeros too


@dataclass(frozen=True)
class Pad(Op):
    """Constant padding: `widths` holds (before, after) per axis."""

    widths: tuple[tuple[int, int], ...]
    value: float = 0.0

    def infer_type(self, x: TensorType) -> TensorType:
        if len(self.widths) != x.ndim:
            raise ShapeError(f"pad: widths {self.widths} do not fit {format_shape(x.shape)}: "
                             f"expected one (before, after) pair per axis")
        if any(b < 0 or a < 0 for b, a in self.widths):
            raise ShapeError(f"pad: widths {self.widths} do not fit {format_shape(x.shape)}: they must be >= 0")
        return TensorType(x.dtype, tuple(None if d is None else d + b + a for d, (b, a) in zip(x.shape, self.widths)))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.pad(x, self.widths, constant_values=np.asarray(self.value, x.dtype))

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        from .indexing import getitem

        index = tuple(slice(b, -a if a else None) for b, a in self.widths)
        return [getitem(grad, index)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        """Affine in x: the tangent is padded with zeros, not with `value`."""
        return Node.make(Pad(self.widths), [tangents[0]])


@dataclass(frozen=True)
class Flip(Op):
    """Reverse the order of elements along `axes`."""

    axes: tuple[int, ...]

    def infer_type(self, x: TensorType) -> TensorType:
        return x

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.flip(x, self.axes)

    def vjp(self, node: Node, grad: Node) -> Sequence[Optional[Node]]:
        return [flip(grad, self.axes)]

    def jvp(self, node: Node, tangents: Sequence[Optional[Node]]) -> Optional[Node]:
        return linear(node, tangents)


def reshape(x: Any, *shape: Any) -> Node:
    """numpy reshape; one entry may be -1. `shape` may also be a tuple."""
    x = as_node(x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
        raise ShapeError(
            f"reshape: the target shape must be ints (one may be -1, inferred), got {shape!r} "
            f"for {format_shape(x.type.shape)}"
        )
    shape = tuple(int(d) for d in shape)
    if shape == x.type.shape:
        return x
    return Node.make(Reshape(shape), [x])


def reshape_like(x: Node, template: Node) -> Node:
    """`x` reshaped to `template`'s shape (known at run time when not before)."""
    if x.type.shape == template.type.shape and x.type.is_static:
        return x
    if template.type.is_static:
        return reshape(x, template.type.shape)
    return Node.make(Reshape(None), [x, template])


def match_shape(x: Node, template: Node) -> Node:
    """`x` with every size of `template`'s shape that it lacks (a MatchShape node, checked
    when run, unless the static shapes are equal); ShapeError when known sizes differ."""
    if x.type.shape == template.type.shape:
        return x
    return Node.make(MatchShape(), [x, template])


def broadcast_to(x: Any, shape: Any) -> Node:
    """numpy broadcast_to. `shape` is a tuple of ints (None: keep the input's size on that
    axis, counted from the end), or a node whose shape to copy."""
    x = as_node(x)
    if isinstance(shape, Node):
        if shape.type.shape == x.type.shape and x.type.is_static:
            return x
        if shape.type.is_static:
            return Node.make(BroadcastTo(shape.type.shape), [x])
        return Node.make(BroadcastTo(None), [x, shape])
    shape = as_shape(shape)
    if None in shape:  # keep the input's size there: known now, or when run
        shape = _keep_sizes(shape, x.type.shape)
    return x if shape == x.type.shape else Node.make(BroadcastTo(shape), [x])


def full_like(x: Node, value: Any) -> Node:
    """A tensor of `x`'s shape and dtype filled with `value` (a broadcast constant, no storage)."""
    from .leaves import constant

    return broadcast_to(constant(np.asarray(value, dtype=x.dtype)), x)


def zeros_like(x: Node) -> Node:
    """Zeros of `x`'s shape and dtype: also the explicit zero gradient of a connected input."""
    return full_like(x, 0)


def ones_like(x: Node) -> Node:
    """Ones of `x`'s shape and dtype."""
    return full_like(x, 1)


def transpose(x: Any, axes: Optional[Sequence[int]] = None) -> Node:
    """Permute axes (default: reverse them), as numpy."""
    x = as_node(x)
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(normalize_axis("transpose", a, x.ndim) for a in axes)
    return x if perm == tuple(range(x.ndim)) else Node.make(Transpose(perm), [x])


permute = transpose


def swapaxes(x: Any, a: int, b: int) -> Node:
    """Exchange axes `a` and `b`, as numpy."""
    x = as_node(x)
    perm = list(range(x.ndim))
    a, b = normalize_axis("swapaxes", a, x.ndim), normalize_axis("swapaxes", b, x.ndim)
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def expand_dims(x: Any, axis: int | Sequence[int]) -> Node:
    """Insert size-1 axes at `axis` (positions in the output), as numpy."""
    x = as_node(x)
    axes = normalize_axes("expand_dims", axis, x.ndim + (1 if isinstance(axis, int) else len(axis)))
    return Node.make(ExpandDims(axes), [x])


def squeeze(x: Any, axis: Optional[int | Sequence[int]] = None) -> Node:
    """Remove size-1 axes (all statically known ones when axis is None)."""
    x = as_node(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.type.shape) if d == 1)
    else:
        axes = normalize_axes("squeeze", axis, x.ndim)
    return Node.make(Squeeze(axes), [x]) if axes else x


def flatten(x: Any, start_dim: int = 0) -> Node:
    """Merge axes from `start_dim` on into one, as torch.flatten (numpy's .flatten() by default;
    `start_dim=1` keeps the batch axis, as nn.Flatten)."""
    x = as_node(x)
    start = normalize_axis("flatten", start_dim, x.ndim) if x.ndim else 0
    lead, rest = x.type.shape[:start], x.type.shape[start:]
    rest_size = _product(rest)
    if rest_size is not None:
        return reshape(x, tuple(-1 if d is None else d for d in lead) + (rest_size,))
    if None in lead:
        raise ShapeError(f"flatten: cannot flatten {format_shape(x.type.shape)} with more than one unknown dim")
    return reshape(x, tuple(lead) + (-1,))


def concatenate(xs: Sequence[Any], axis: int = 0) -> Node:
    """Join tensors along an existing `axis`, as numpy."""
    nodes = as_nodes(*xs)
    if not nodes:
        raise ShapeError("concatenate: needs at least one tensor")
    axis = normalize_axis("concatenate", axis, nodes[0].ndim)
    return Node.make(Concatenate(axis), nodes)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Node]:
    """numpy.split: `sections` equal pieces along `axis`, or the pieces between sorted
    `indices`; a list of nodes (slices of x, whose gradients add up to x's)."""
    from .indexing import slice_axis

    x = as_node(x)
    axis = normalize_axis("split", axis, x.ndim)
    size = x.type.shape[axis]
    if size is None:
        raise ShapeError(f"split: axis {axis} of {format_shape(x.shape)} must have a size known when built")
    bounds = [None, *_split_points(x, indices_or_sections, axis, size), None]
    return [slice_axis(x, axis, start, stop) for start, stop in zip(bounds, bounds[1:])]


def _split_points(x: Node, indices_or_sections: Any, axis: int, size: int) -> list[int]:
    """Where split cuts the axis: every size // n for n equal sections, else the indices."""
    where = f"axis {axis} of {format_shape(x.shape)} (size {size})"
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(indices_or_sections, bool):
        n = int(indices_or_sections)
        if n <= 0:
            raise ShapeError(f"split: the number of sections must be positive, got {n} for {where}")
        if size % n:
            raise ShapeError(f"split: {n} sections do not divide {where} equally")
        return [size // n * k for k in range(1, n)]
    try:
        points = list(indices_or_sections)
    except TypeError:
        points = [None]
    if not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in points):
        raise ShapeError(f"split: indices_or_sections must be an int or a sequence of ints, "
                         f"got {indices_or_sections!r} for {where}")
    return [int(p) for p in points]


def stack(xs: Sequence[Any], axis: int = 0) -> Node:
    """Join tensors along a new `axis`, as numpy."""
    nodes = as_nodes(*xs)
    if not nodes:
        raise ShapeError("stack: needs at least one tensor")
    shapes = [n.type.shape for n in nodes]
    if any(len(s) != len(shapes[0]) or any(a is not None and b is not None and a != b
                                            for a, b in zip(s, shapes[0])) for s in shapes):
        raise ShapeError(f"stack: tensors must have equal shapes, got {' and '.join(map(format_shape, shapes))}")
    axis = normalize_axis("stack", axis, nodes[0].ndim + 1)
    return concatenate([expand_dims(n, axis) for n in nodes], axis)


def flip(x: Any, axis: Optional[int | Sequence[int]] = None) -> Node:
    """Reverse the order of elements along `axis` (all axes when None), as numpy."""
    x = as_node(x)
    return Node.make(Flip(normalize_axes("flip", axis, x.ndim)), [x])
