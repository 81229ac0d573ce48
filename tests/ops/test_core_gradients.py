"""Every core op's gradient against central finite differences, in float64, on random
inputs with odd shapes (1, primes, non-square), broadcasting included; and second
derivatives (the gradient graphs differentiated again)."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad


def _real(rng, shape):
    return rng.standard_normal(shape)


def _pos(rng, shape):
    return np.abs(rng.standard_normal(shape)) + 0.5


def _gt_minus_one(rng, shape):
    return np.abs(rng.standard_normal(shape)) - 0.5


UNARY = {
    "neg": (gc.neg, _real), "exp": (gc.exp, _real), "log": (gc.log, _pos),
    "log1p": (gc.log1p, _gt_minus_one), "expm1": (gc.expm1, _real), "sqrt": (gc.sqrt, _pos),
    "abs": (gc.abs, _real), "sign": (gc.sign, _real), "relu": (gc.relu, _real),
    "sigmoid": (gc.sigmoid, _real), "tanh": (gc.tanh, _real), "softplus": (gc.softplus, _real),
    "square": (gc.square, _real), "clip": (lambda x: gc.clip(x, -0.5, 0.7), _real),
}


@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5)], ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, shape, rng):
    fn, sample = UNARY[name]
    check_grad(fn, [sample(rng, shape)])


BINARY = {
    "add": (gc.add, _real, _real), "sub": (gc.sub, _real, _real), "mul": (gc.mul, _real, _real),
    "truediv": (gc.truediv, _real, _pos), "pow": (gc.power, _pos, _real),
    "maximum": (gc.maximum, _real, _real), "minimum": (gc.minimum, _real, _real),
    "rsub-operator": (lambda a, b: 2.0 - a * b, _real, _real),
    "rdiv-operator": (lambda a, b: 3.0 / b + a, _real, _pos),
    "rpow-operator": (lambda a, b: 2.0 ** a * b, _real, _real),
}
BROADCAST_SHAPES = [((3, 1, 5), (4, 1)), ((1,), (7,)), ((2, 3), ()), ((5,), (5,)), ((1, 3), (2, 1))]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_with_broadcasting(name, shapes, rng):
    fn, sample_a, sample_b = BINARY[name]
    check_grad(fn, [sample_a(rng, shapes[0]), sample_b(rng, shapes[1])])


def test_where_gradient(rng):
    cond = rng.random((3, 1)) < 0.5
    cond[0] = True
    cond[1] = False
    check_grad(gc.where, [cond, _real(rng, (3, 4)), _real(rng, (4,))])


REDUCTIONS = {
    "sum": gc.sum, "mean": gc.mean, "max": gc.max, "min": gc.min, "var": gc.var, "std": gc.std,
    "logsumexp": gc.logsumexp,
}


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (-1, True), ((0, 2), False), ((1, 2), True)], ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_gradients(name, axis, keepdims, rng):
    check_grad(lambda x: REDUCTIONS[name](x, axis=axis, keepdims=keepdims), [_real(rng, (3, 5, 2))])


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_gradients_on_a_column(name, rng):
    check_grad(lambda x: REDUCTIONS[name](x, axis=0), [_real(rng, (7, 1))])


def test_var_ddof_gradient(rng):
    check_grad(lambda x: gc.var(x, axis=0, ddof=1) * gc.std(x, axis=1, keepdims=True, ddof=1), [_real(rng, (5, 3))])


def test_max_shares_the_gradient_among_ties():
    x = gc.tensor("x", (2, 4), "float64")
    xv = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    np.testing.assert_allclose(gc.grad(gc.max(x, axis=1).sum(), x).eval({x: xv}),
                               [[0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_allclose(gc.grad(gc.min(x).sum(), x).eval({x: xv}), [[0, 0, 0, 1.0], [0, 0, 0, 0]])
    # with two tied maxima the central difference is the one-sided average, 1/2 each
    check_grad(lambda t: gc.max(t, axis=1), [np.array([[1.0, 3.0, 3.0, 0.0], [5.0, 2.0, 5.0, 4.0]])])


SHAPE_OPS = {
    "reshape": (lambda x: x.reshape(-1, 3), (2, 3, 5)),
    "reshape-to-vector": (lambda x: gc.reshape(x, (-1,)), (7, 1)),
    "transpose": (lambda x: gc.transpose(x, (2, 0, 1)), (2, 3, 5)),
    "T": (lambda x: x.T, (3, 5)),
    "swapaxes": (lambda x: gc.swapaxes(x, 0, -1), (2, 3, 5)),
    "broadcast_to": (lambda x: gc.broadcast_to(x, (4, 3, 5)), (3, 1)),
    "broadcast_to-scalar": (lambda x: gc.broadcast_to(x, (2, 3)), ()),
    "expand_dims": (lambda x: gc.expand_dims(x, (0, 2)), (3, 5)),
    "squeeze": (lambda x: gc.squeeze(x), (1, 3, 1)),
    "flatten": (lambda x: gc.flatten(x), (2, 3, 5)),
    "pad": (lambda x: gc.pad(x, ((1, 2), (0, 3))), (3, 2)),
    "pad-value": (lambda x: gc.pad(x, 1, constant_values=2.5) * 2, (1, 7)),
    "flip": (lambda x: gc.flip(x, 1), (3, 5)),
    "flip-all": (lambda x: gc.flip(x), (2, 3, 5)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_op_gradients(name, rng):
    fn, shape = SHAPE_OPS[name]
    check_grad(fn, [_real(rng, shape)])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_gradient(axis, rng):
    shapes = [(2, 3), (5, 3), (1, 3)] if axis == 0 else [(3, 1), (3, 4), (3, 2)]
    check_grad(lambda a, b, c: gc.concatenate([a, b, c], axis=axis), [_real(rng, s) for s in shapes])


def test_concatenate_gradient_of_a_repeated_input(rng):
    check_grad(lambda a, b: gc.concatenate([a, b, a], axis=0), [_real(rng, (2, 3)), _real(rng, (1, 3))])


@pytest.mark.parametrize("axis", [0, -1])
def test_stack_gradient(axis, rng):
    check_grad(lambda a, b: gc.stack([a, b], axis=axis), [_real(rng, (3, 2)), _real(rng, (3, 2))])


INDICES = [
    1, -1, (slice(None, None, -2), slice(1, None, 3)), (None, Ellipsis, -1), (slice(1, 4, 2), slice(None, None, -3)),
    (Ellipsis, None, slice(-2, None)), (-3, slice(6, 0, -2)), (slice(None), 0),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_indexing_gradients(index, rng):
    check_grad(lambda x: x[index], [_real(rng, (5, 7))])


def test_overlapping_indexing_gradients_accumulate(rng):
    check_grad(lambda x: x[1:] * x[:-1] + x[::2].sum() * x[-1], [_real(rng, (7,))])


MATMUL_SHAPES = {
    "2d": ((3, 5), (5, 2)),
    "square": ((4, 4), (4, 4)),
    "batched": ((2, 3, 5), (2, 5, 1)),
    "batch-broadcast": ((2, 1, 3, 5), (3, 5, 2)),
    "batch-one-side": ((3, 5), (2, 5, 7)),
    "vec@mat": ((5,), (5, 3)),
    "mat@vec": ((3, 5), (5,)),
    "vec@vec": ((7,), (7,)),
    "vec@batched": ((5,), (2, 5, 3)),
    "batched@vec": ((2, 3, 5), (5,)),
    "ones": ((1, 1), (1, 1)),
}


@pytest.mark.parametrize("case", sorted(MATMUL_SHAPES))
def test_matmul_gradients(case, rng):
    sa, sb = MATMUL_SHAPES[case]
    check_grad(gc.matmul, [_real(rng, sa), _real(rng, sb)])


def test_a_composite_expression(rng):
    def net(x, w, b):
        h = gc.tanh(x @ w + b)
        return gc.logsumexp(h[:, ::2], axis=1) - gc.mean(h * h, axis=1) + gc.var(gc.flatten(h, 1))

    check_grad(net, [_real(rng, (3, 5)), _real(rng, (5, 7)), _real(rng, (7,))])


def test_gradient_dtype_is_the_input_dtype():
    x32, y64 = gc.tensor("x", (3,), "float32"), gc.tensor("y", (3,), "float64")
    gx, gy = gc.grad((x32 * y64).sum() + gc.cast(x32, "float64").sum(), [x32, y64])
    assert gx.dtype == np.float32 and gy.dtype == np.float64
    i = gc.tensor("i", (3,), "int32")
    assert gc.grad((x32 * i).sum(), x32).dtype == np.float32
    got = gx.eval({x32: np.ones(3, np.float32), y64: np.full(3, 2.0)})
    np.testing.assert_allclose(got, np.full(3, 3.0))


def test_cast_gradient_passes_through_float_casts():
    x = gc.tensor("x", (4,), "float64")
    g = gc.grad((gc.cast(x, "float32") * 3.0).sum(), x)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g.eval({x: np.arange(4.0)}), np.full(4, 3.0))


def test_gradients_through_unknown_shapes_equal_the_static_ones(rng):
    """The same expression built on inputs of unknown and of known shape (whose gradient
    is checked by finite differences below) gives the same gradient."""
    def expr(x, b):
        h = gc.exp(x * b) + x.reshape(-1, 6).sum(axis=1).reshape(-1, 1, 1)
        return gc.mean(h, axis=0).sum() + gc.var(gc.flatten(h, 0)) + gc.logsumexp(h[:, ::-1, 1:], axis=(0, 1)).sum()

    xv, bv = _real(rng, (4, 2, 3)), _real(rng, (3,))
    static = check_grad(lambda x, b: expr(x, b), [xv, bv])
    x, b = gc.tensor("x", (None, 2, None), "float64"), gc.tensor("b", (None,), "float64")
    cost = expr(x, b)
    assert cost.shape == ()
    dynamic = gc.evaluate(gc.grad(cost, [x, b]), {x: xv, b: bv})
    # check_grad's cost weights a scalar output by a random factor w: undo it
    w = np.random.default_rng(0).standard_normal(())
    for s, d in zip(static, dynamic):
        np.testing.assert_allclose(s, w * d, rtol=1e-10)


SECOND_ORDER = {
    "tanh": (lambda x: gc.tanh(x) * x, _real),
    "sigmoid": (lambda x: gc.sigmoid(x) ** 2, _real),
    "softplus": (lambda x: gc.softplus(x) * x, _real),
    "log-sqrt": (lambda x: gc.log(x) * gc.sqrt(x), _pos),
    "div-pow": (lambda x: x ** 3 / (x + 2.0), _pos),
    "exp-expm1-log1p": (lambda x: gc.exp(x) * gc.expm1(x) + gc.log1p(x * x), _real),
    "max": (lambda x: gc.max(x, axis=1) ** 3, _real),
    "logsumexp": (lambda x: gc.logsumexp(x, axis=0) ** 2, _real),
    "var": (lambda x: gc.var(x, axis=1) * gc.mean(x, axis=1), _real),
    "indexing": (lambda x: (x[::-2, 1:] ** 3).sum(axis=0), _real),
    "pad": (lambda x: gc.pad(x, 1) ** 3, _real),
    "matmul": (lambda x: (x @ x.T) ** 2, _real),
    "concatenate": (lambda x: gc.concatenate([x, x * x], axis=1) ** 2, _real),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives(name, rng):
    fn, sample = SECOND_ORDER[name]
    check_grad(lambda x: gc.grad(gc.sum(fn(x)), x), [sample(rng, (3, 4))], rtol=1e-4, atol=1e-5)
