"""The ONNX form of each graphc op, for gc.onnx.save: one small function per op (class, or
scalar function for elementwise ops) that appends ONNX nodes and returns the output's name."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..ir import Node
from ..ir.dtypes import promote
from ..ops import Cast, Concatenate, Elemwise, ExpandDims, Flip, GetItem, MatMul, Pad, Reshape, Squeeze, Transpose
from ..ops.nn.activations import LogSoftmax, Softmax
from ..ops.nn.conv import Conv, ConvInputGrad
from ..ops.nn.encoding import OneHot
from ..ops.nn.pool import AvgPool, MaxPool
from ..ops.reduce import Argmax, LogSumExp, Reduce
from ..ops.scan import Scan
from ..ops.shape import BroadcastTo, MatchShape
from .dtypes import to_onnx
from .export import Emitter
from .registry import OnnxError

Emit = Callable[[Emitter, Node, list[str]], str]
INT64_MIN, INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)

#: graphc scalar function -> ONNX operator taking the same operands.
SAME_OPERATOR = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "truediv": "Div", "pow": "Pow", "maximum": "Max",
    "minimum": "Min", "neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "erf": "Erf",
    "sin": "Sin", "cos": "Cos", "tan": "Tan", "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu",
    "floor": "Floor", "ceil": "Ceil", "round": "Round", "sign": "Sign", "reciprocal": "Reciprocal",
    "softplus": "Softplus", "isnan": "IsNaN", "eq": "Equal", "lt": "Less", "gt": "Greater", "le": "LessOrEqual",
    "ge": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor",
    "logical_not": "Not", "where": "Where",
}
#: graphc scalar function -> its form in several ONNX operators.
COMPOSED: dict[str, Callable[[Emitter, Node, list[str]], str]] = {
    "ne": lambda e, n, xs: e.add("Not", [e.add("Equal", xs)]),
    "rsqrt": lambda e, n, xs: e.add("Reciprocal", [e.add("Sqrt", xs)]),
    "log1p": lambda e, n, xs: e.add("Log", [e.add("Add", [xs[0], e.scalar(1, n.dtype)])]),
    "expm1": lambda e, n, xs: e.add("Sub", [e.add("Exp", xs), e.scalar(1, n.dtype)]),
    "log2": lambda e, n, xs: e.add("Div", [e.add("Log", xs), e.scalar(np.log(2), n.dtype)]),
    "log10": lambda e, n, xs: e.add("Div", [e.add("Log", xs), e.scalar(np.log(10), n.dtype)]),
    "isfinite": lambda e, n, xs: e.add("Not", [e.add("Or", [e.add("IsNaN", xs), e.add("IsInf", xs)])]),
}


def emit(e: Emitter, node: Node, names: list[str]) -> str:
    """Append `node`'s ONNX form; an OnnxError names ops that have none."""
    op = node.op
    if isinstance(op, Elemwise):
        return _elementwise(e, node, names)
    fn = EMITTERS.get(type(op))
    if fn is None:
        ops = ", ".join(sorted(t.__name__ for t in EMITTERS))
        functions = ", ".join(sorted({*SAME_OPERATOR, *COMPOSED}))
        raise OnnxError(f"onnx.save: the op {op} has no ONNX form here (supported: {ops}; "
                        f"elementwise: {functions})")
    return fn(e, node, names)


def _elementwise(e: Emitter, node: Node, names: list[str]) -> str:
    """ONNX wants equal operand dtypes where graphc promotes as numpy: operands are cast to
    the result's dtype (comparisons: to their common dtype; where: its branches)."""
    fn = node.op.fn
    dtypes = [x.dtype for x in node.inputs]
    if fn == "where":
        operands = [names[0]] + [e.cast(n, d, node.dtype) for n, d in zip(names[1:], dtypes[1:])]
    else:
        common = node.dtype if node.dtype.kind != "b" else promote(*dtypes)
        operands = [e.cast(n, d, common) for n, d in zip(names, dtypes)]
    if fn in SAME_OPERATOR:
        return e.add(SAME_OPERATOR[fn], operands)
    if fn in COMPOSED:
        return COMPOSED[fn](e, node, operands)
    raise OnnxError(f"onnx.save: the elementwise function {fn} has no ONNX form here")


def _axes_operator(e: Emitter, op_type: str, inputs: list[str], axes: list[int], since: int, **attrs) -> str:
    """An operator whose axes are an attribute before opset `since` and an input from it on."""
    if e.opset >= since:
        return e.add(op_type, inputs + [e.ints(axes)], **attrs)
    return e.add(op_type, inputs, axes=list(axes), **attrs)


def _reshape(e: Emitter, node: Node, xs: list[str]) -> str:
    target = e.add("Shape", [xs[1]]) if node.op.shape is None else e.ints(node.op.shape)
    return e.add("Reshape", [xs[0], target])


def _broadcast(e: Emitter, node: Node, xs: list[str]) -> str:
    """Expand broadcasts both ways, so 1 keeps the input's size where graphc's shape has None."""
    shape = e.add("Shape", [xs[1]]) if node.op.shape is None else e.ints([1 if d is None else d for d in node.op.shape])
    return e.add("Expand", [xs[0], shape])


def _getitem(e: Emitter, node: Node, xs: list[str]) -> str:
    """Slices (ints as one-wide slices, squeezed after), then the new axes."""
    starts, ends, axes, steps, dropped, new = [], [], [], [], [], []
    axis = 0
    for position, item in enumerate(node.op.items):
        if item[0] == "new":
            new.append(position - len(dropped))
            continue
        if item[0] == "int":
            i = item[1]
            bounds = (i, i + 1 if i != -1 else INT64_MAX, 1)
            dropped.append(axis)
        else:
            start, stop, step = item[1:]
            step = 1 if step is None else step
            bounds = (start if start is not None else (0 if step > 0 else -1),
                      stop if stop is not None else (INT64_MAX if step > 0 else INT64_MIN), step)
        if item[0] == "int" or item[1:] != (None, None, None):
            for values, value in zip((starts, ends, steps), bounds):
                values.append(value)
            axes.append(axis)
        axis += 1
    out = xs[0]
    if axes:
        out = e.add("Slice", [out, e.ints(starts), e.ints(ends), e.ints(axes), e.ints(steps)])
    if dropped:
        out = _axes_operator(e, "Squeeze", [out], dropped, 13)
    if new:
        out = _axes_operator(e, "Unsqueeze", [out], new, 13)
    return out


def _reduce(e: Emitter, node: Node, xs: list[str]) -> str:
    op = node.op
    x = e.cast(xs[0], node.inputs[0].dtype, node.dtype)
    op_type = {"sum": "ReduceSum", "prod": "ReduceProd", "max": "ReduceMax", "min": "ReduceMin"}[op.kind]
    return _axes_operator(e, op_type, [x], list(op.axes), 13 if op.kind == "sum" else 18, keepdims=int(op.keepdims))


def _argmax(e: Emitter, node: Node, xs: list[str]) -> str:
    op, x = node.op, xs[0]
    if op.axis is None:  # of the flattened tensor
        x = e.add("Reshape", [x, e.ints([-1])])
        out = e.add("ArgMax", [x], axis=0, keepdims=0)
        return e.add("Reshape", [out, e.ints([1] * node.inputs[0].ndim)]) if op.keepdims else \
            e.add("Reshape", [out, e.ints([])])
    return e.add("ArgMax", [x], axis=op.axis, keepdims=int(op.keepdims))


def _window_attributes(op) -> dict:
    pads = [lo for lo, _ in op.padding] + [hi for _, hi in op.padding]
    return dict(strides=list(op.stride), pads=pads)


def _conv_transpose(e: Emitter, node: Node, xs: list[str]) -> str:
    """A convolution's input gradient (conv_transpose) is ConvTranspose; the template input's
    spatial sizes give the output padding."""
    op, (gy, w, template) = node.op, node.inputs
    kernel, sizes = w.shape[2:], template.shape[2:]
    if None in sizes or None in gy.shape[2:]:
        raise OnnxError(f"onnx.save: {op} needs its spatial sizes known, got {gy.shape} -> {template.shape}")
    extra = [size - ((n - 1) * s - lo - hi + (k - 1) * d + 1)
             for size, n, k, s, d, (lo, hi) in zip(sizes, gy.shape[2:], kernel, op.stride, op.dilations, op.padding)]
    return e.add("ConvTranspose", xs[:2], kernel_shape=list(kernel), dilations=list(op.dilations), group=op.groups,
                 output_padding=extra, **_window_attributes(op))


def _scan(e: Emitter, node: Node, xs: list[str]) -> str:
    """cumsum (forward or reversed) is CumSum; cumprod has no ONNX operator."""
    op = node.op
    if op.kind != "sum":
        raise OnnxError(f"onnx.save: the op {op} has no ONNX form (ONNX has CumSum but no cumulative product)")
    x = e.cast(xs[0], node.inputs[0].dtype, node.dtype)
    return e.add("CumSum", [x, e.initializer(np.asarray(op.axis, np.int64), "axis")], reverse=int(op.reverse))


def _one_hot(e: Emitter, node: Node, xs: list[str]) -> str:
    values = e.initializer(np.array([0, 1], dtype=node.dtype), "off_on")
    return e.add("OneHot", [xs[0], e.initializer(np.asarray(node.op.num_classes, np.int64), "depth"), values], axis=-1)


def _max_pool(e: Emitter, node: Node, xs: list[str]) -> str:
    op = node.op
    return e.add("MaxPool", xs, kernel_shape=list(op.kernel), dilations=list(op.dilations), **_window_attributes(op))


def _avg_pool(e: Emitter, node: Node, xs: list[str]) -> str:
    """graphc's AvgPool divides by the kernel size everywhere (zeros in the padding)."""
    op = node.op
    return e.add("AveragePool", xs, kernel_shape=list(op.kernel), count_include_pad=1, **_window_attributes(op))


EMITTERS: dict[type, Emit] = {
    Cast: lambda e, n, xs: e.add("Cast", xs, to=to_onnx(n.dtype, "Cast")),
    MatMul: lambda e, n, xs: e.add("MatMul", [e.cast(x, i.dtype, n.dtype) for x, i in zip(xs, n.inputs)]),
    Reshape: _reshape,
    BroadcastTo: _broadcast,
    MatchShape: lambda e, n, xs: e.add("Identity", xs[:1]),
    Transpose: lambda e, n, xs: e.add("Transpose", xs, perm=list(n.op.perm)),
    ExpandDims: lambda e, n, xs: _axes_operator(e, "Unsqueeze", xs, list(n.op.axes), 13),
    Squeeze: lambda e, n, xs: _axes_operator(e, "Squeeze", xs, list(n.op.axes), 13),
    Concatenate: lambda e, n, xs: e.add("Concat", xs, axis=n.op.axis),
    Pad: lambda e, n, xs: e.add("Pad", [xs[0], e.ints([b for b, _ in n.op.widths] + [a for _, a in n.op.widths]),
                                        e.scalar(n.op.value, n.dtype)]),
    Flip: lambda e, n, xs: e.add("Slice", [xs[0], e.ints([-1] * len(n.op.axes)), e.ints([INT64_MIN] * len(n.op.axes)),
                                           e.ints(list(n.op.axes)), e.ints([-1] * len(n.op.axes))]),
    GetItem: _getitem,
    Reduce: _reduce,
    Argmax: _argmax,
    LogSumExp: lambda e, n, xs: _axes_operator(e, "ReduceLogSumExp", xs, list(n.op.axes), 18,
                                               keepdims=int(n.op.keepdims)),
    Softmax: lambda e, n, xs: e.add("Softmax", xs, axis=n.op.axis),
    LogSoftmax: lambda e, n, xs: e.add("LogSoftmax", xs, axis=n.op.axis),
    Conv: lambda e, n, xs: e.add("Conv", xs, kernel_shape=list(n.inputs[1].shape[2:]), dilations=list(n.op.dilations),
                                 group=n.op.groups, **_window_attributes(n.op)),
    ConvInputGrad: _conv_transpose,
    Scan: _scan,
    OneHot: _one_hot,
    MaxPool: _max_pool,
    AvgPool: _avg_pool,
}
