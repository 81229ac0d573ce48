"""Random graphs of core ops at odd shapes: the llvm backend agrees with the reference."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc

from .graph_check import check

DIMS = st.sampled_from([1, 2, 3, 5, 7])


def _unary(x, draw):
    fn = draw(st.sampled_from(["exp", "tanh", "sigmoid", "relu", "abs", "neg", "softplus", "sqrt", "log"]))
    if fn == "exp":
        return gc.exp(gc.clip(x, -5.0, 5.0))
    if fn in ("sqrt", "log"):
        return getattr(gc, fn)(gc.abs(x) + 0.5)
    return getattr(gc, fn)(x)


def _step(nodes, draw):
    """A new node built from existing ones."""
    x = draw(st.sampled_from(nodes))
    kind = draw(st.sampled_from(["unary", "binary", "reduce", "view", "softmax", "matmul", "concat", "where",
                                 "pad", "argmax"]))
    if kind == "unary":
        return _unary(x, draw)
    if kind == "binary":
        same = [n for n in nodes if n.type.shape == x.type.shape]
        y = draw(st.sampled_from(same))
        if x.ndim and draw(st.booleans()):
            y = gc.max(y, draw(st.integers(0, x.ndim - 1)), keepdims=True)   # broadcast along one axis
        fn = draw(st.sampled_from(["add", "sub", "mul", "maximum", "minimum"]))
        return gc.ops.elementwise.apply(fn, x, y)
    if kind == "reduce" and x.ndim:
        axis = draw(st.one_of(st.none(), st.integers(0, x.ndim - 1)))
        fn = draw(st.sampled_from([gc.sum, gc.max, gc.min, gc.mean, gc.logsumexp]))
        return fn(x, axis, keepdims=draw(st.booleans()))
    if kind == "view" and x.ndim:
        view = draw(st.sampled_from(["transpose", "reshape", "expand", "flip", "slice"]))
        if view == "transpose":
            return gc.transpose(x, draw(st.permutations(range(x.ndim))))
        if view == "reshape":
            return gc.reshape(x, (-1,)) if x.ndim > 1 else gc.reshape(x, (1, -1))
        if view == "expand":
            return gc.expand_dims(x, draw(st.integers(0, x.ndim)))
        if view == "flip":
            return gc.flip(x, draw(st.integers(0, x.ndim - 1)))
        axis = draw(st.integers(0, x.ndim - 1))
        index = [slice(None)] * x.ndim
        index[axis] = slice(None, None, draw(st.sampled_from([-1, 2, -2])))
        return x[tuple(index)]
    if kind == "softmax" and x.ndim:
        return gc.nn.softmax(x, draw(st.integers(0, x.ndim - 1)))
    if kind == "matmul" and x.ndim == 2:
        return gc.tanh(x @ x.T) if draw(st.booleans()) else x.T @ x
    if kind == "concat" and x.ndim:
        return gc.concatenate([x, x * 2.0], axis=draw(st.integers(0, x.ndim - 1)))
    if kind == "where":
        return gc.where(x > 0, x, x * 0.5)
    if kind == "pad" and x.ndim:
        return gc.pad(x, [(draw(st.integers(0, 2)), draw(st.integers(0, 1))) for _ in range(x.ndim)], 0.5)
    if kind == "argmax" and x.ndim:
        return gc.cast(gc.argmax(x, draw(st.integers(0, x.ndim - 1))), x.dtype) * x.sum()
    return _unary(x, draw)


@settings(max_examples=8, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(["float32", "float64"]))
def test_random_graphs_match_the_reference(data, dtype):
    draw = data.draw
    shapes = [tuple(draw(st.lists(DIMS, min_size=0, max_size=3))) for _ in range(draw(st.integers(1, 3)))]
    inputs = [gc.tensor(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
    nodes = list(inputs)
    for _ in range(draw(st.integers(1, 8))):
        nodes.append(_step(nodes, draw))
    outputs = nodes[len(inputs):][-draw(st.integers(1, 3)):]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    values = [rng.uniform(-2, 2, s).astype(dtype) for s in shapes]
    check(inputs, outputs, values, scale=16)
