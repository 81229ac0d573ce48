"""Gradients through shapes known only in part: a gradient that lacks a size its input knows
gets it (only known sizes that differ are an error), values match finite differences, and
the numpy and llvm backends compute them.

Each case is (fn, values, declared shapes); None marks a size known only when run."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import GradProblem, check_grad

N = None
R = np.random.default_rng(5)


def _a(*shape):
    return R.standard_normal(shape)


def _pos(*shape):
    return np.abs(R.standard_normal(shape)) + 0.5


CASES = {
    # matmul: the shared size known on one side only (issue 9), batches, vectors
    "matmul 2-d, a unknown": (lambda x, w: x @ w, [_a(2, 4), _a(4, 3)], [(N, N), (4, 3)]),
    "matmul 2-d, b unknown": (lambda x, w: x @ w, [_a(2, 4), _a(4, 3)], [(2, 4), (N, N)]),
    "matmul 2-d, inner known on one side each": (lambda x, w: x @ w, [_a(2, 4), _a(4, 3)], [(N, 4), (N, 3)]),
    "matmul batched @ matrix": (lambda x, w: x @ w, [_a(5, 2, 4), _a(4, 3)], [(N, N, N), (4, 3)]),
    "matmul batched @ batched": (lambda x, w: x @ w, [_a(5, 2, 4), _a(5, 4, 3)], [(N, 2, N), (5, N, 3)]),
    "matmul broadcast batch": (lambda x, w: x @ w, [_a(1, 2, 4), _a(3, 4, 3)], [(1, N, N), (N, 4, 3)]),
    "matmul vector @ matrix": (lambda v, w: v @ w, [_a(4), _a(4, 3)], [(N,), (4, 3)]),
    "matmul matrix @ vector": (lambda w, v: w @ v, [_a(4, 3), _a(3)], [(4, 3), (N,)]),
    "matmul vector @ vector": (lambda u, v: u @ v, [_a(4), _a(4)], [(N,), (4,)]),
    "matmul unknown matrix @ known vector": (lambda x, v: x @ v, [_a(2, 4), _a(4)], [(N, N), (4,)]),
    "dense layer": (lambda x, w, b: gc.relu(x @ w + b), [_a(3, 4), _a(4, 2), _a(2)], [(N, N), (4, 2), (2,)]),
    # convolution and pooling over unknown batch and image sizes
    "conv2d": (lambda x, w: gc.nn.conv2d(x, w, stride=2, padding=1), [_a(2, 3, 7, 6), _a(4, 3, 3, 3)],
               [(N, N, N, N), (4, 3, 3, 3)]),
    "conv2d, weight unknown": (lambda x, w: gc.nn.conv2d(x, w), [_a(2, 3, 5, 5), _a(4, 3, 3, 3)],
                               [(2, 3, 5, 5), (N, N, N, N)]),
    "conv1d with bias": (lambda x, w, b: gc.nn.conv1d(x, w, b), [_a(2, 3, 9), _a(4, 3, 3), _a(4)],
                         [(N, 3, N), (4, 3, 3), (N,)]),
    "max_pool2d": (lambda x: gc.nn.max_pool2d(x, 2), [_a(2, 3, 6, 5)], [(N, N, N, N)]),
    "avg_pool2d": (lambda x: gc.nn.avg_pool2d(x, 3, stride=2, padding=1), [_a(2, 3, 7, 6)], [(N, 3, N, N)]),
    "max_pool1d": (lambda x: gc.nn.max_pool1d(x, 3, stride=2), [_a(2, 3, 9)], [(N, N, N)]),
    "conv then pool then dense": (
        lambda x, w, v: gc.nn.max_pool2d(gc.relu(gc.nn.conv2d(x, w)), 2).reshape(2, 8) @ v,
        [_a(2, 1, 5, 5), _a(2, 1, 2, 2), _a(8, 3)], [(N, N, N, N), (2, 1, 2, 2), (8, 3)]),
    # broadcasting elementwise
    "add a known row": (lambda x, b: x + b, [_a(4, 3), _a(3)], [(N, N), (3,)]),
    "mul known by unknown": (lambda x, y: x * y, [_a(4, 3), _a(4, 3)], [(N, 3), (4, N)]),
    "mul a scalar": (lambda x, s: x * s, [_a(4, 3), _a()], [(N, N), ()]),
    "broadcast a column": (lambda x, c: gc.exp(x) / c, [_a(4, 3), _pos(4, 1)], [(N, N), (N, 1)]),
    "where and maximum": (lambda x, y: gc.where(x > 0, x * y, gc.maximum(x, y)), [_a(4, 3), _a(3)],
                          [(N, N), (3,)]),
    "pow": (lambda x, p: x ** p, [_pos(4, 3), _a(3)], [(N, N), (3,)]),
    # reductions
    "sum over unknown axis": (lambda x, w: gc.sum(x, axis=0) * w, [_a(5, 3), _a(3)], [(N, N), (3,)]),
    "mean keepdims": (lambda x, w: gc.mean(x, axis=1, keepdims=True) * w, [_a(5, 3), _a(5, 1)], [(N, N), (5, 1)]),
    "max": (lambda x, w: gc.max(x, axis=0) + w, [_a(5, 3), _a(3)], [(N, N), (3,)]),
    "var and std": (lambda x, w: gc.var(x, axis=0) * w + gc.std(x, axis=0), [_a(5, 3), _a(3)], [(N, N), (3,)]),
    "logsumexp": (lambda x, w: gc.logsumexp(x, axis=1) * w, [_a(5, 3), _a(5)], [(N, N), (5,)]),
    "softmax": (lambda x, w: gc.nn.softmax(x @ w), [_a(5, 4), _a(4, 3)], [(N, N), (4, 3)]),
    "log_softmax": (lambda x, w: gc.nn.log_softmax(x * w, axis=0), [_a(5, 3), _a(3)], [(N, N), (3,)]),
    # data movement
    "reshape to known": (lambda x, w: x.reshape(4, 3) * w, [_a(2, 6), _a(4, 3)], [(N, N), (4, 3)]),
    "reshape with -1": (lambda x, w: x.reshape(-1, 3) @ w, [_a(2, 6), _a(3, 2)], [(N, 6), (3, 2)]),
    "flatten": (lambda x, w: gc.flatten(x, 1) @ w, [_a(2, 3, 2), _a(6, 2)], [(N, 3, 2), (6, 2)]),
    "transpose and slice": (lambda x, w: x.T[1:, ::2] * w, [_a(4, 3), _a(2, 2)], [(N, N), (2, 2)]),
    "index with ints": (lambda x, w: x[0] * w + x[:, 1].sum(), [_a(4, 3), _a(3)], [(N, N), (3,)]),
    "expand and squeeze": (lambda x, w: gc.squeeze(gc.expand_dims(x, 1) * w, 1), [_a(4, 3), _a(1, 3)],
                           [(N, N), (1, 3)]),
    "broadcast_to a template": (lambda x, v: gc.broadcast_to(v, x) * x, [_a(4, 3), _a(3)], [(N, N), (3,)]),
    "concatenate": (lambda x, y: gc.concatenate([x, y], axis=1), [_a(4, 3), _a(4, 2)], [(N, 3), (4, 2)]),
    "stack": (lambda x, y: gc.stack([x, y]), [_a(4, 3), _a(4, 3)], [(N, 3), (4, N)]),
    "pad and flip": (lambda x, w: gc.flip(gc.pad(x, 1), 0) * w, [_a(2, 3), _a(4, 5)], [(N, N), (4, 5)]),
    # losses and normalisation
    "cross_entropy": (lambda x, w, y: gc.nn.cross_entropy(x @ w, y), [_a(5, 4), _a(4, 3), np.array([0, 2, 1, 1, 0])],
                      [(N, N), (4, 3), (N,)]),
    "mse_loss": (lambda x, t: gc.nn.mse_loss(x, t), [_a(5, 3), _a(5, 3)], [(N, 3), (5, N)]),
    "batch_norm": (lambda x, g, b: gc.nn.batch_norm(x, g, b), [_a(5, 3, 2), _pos(3), _a(3)], [(N, N, N), (3,), (3,)]),
    # second order: the gradient graphs' own vjps (adjoint ops, templates, match_shape)
    "second order matmul": (lambda x, w: gc.grad(gc.sum(gc.tanh(x @ w)), w), [_a(2, 4), _a(4, 3)], [(N, N), (4, 3)]),
    "second order broadcasting": (lambda x, b: gc.grad(gc.sum(gc.tanh(x * b)), b), [_a(4, 3), _a(3)], [(N, N), (3,)]),
    "second order conv2d": (lambda x, w: gc.grad(gc.sum(gc.tanh(gc.nn.conv2d(x, w, stride=2))), x),
                            [_a(2, 2, 5, 5), _a(3, 2, 3, 3)], [(N, N, N, N), (3, 2, 3, 3)]),
    "second order max_pool2d": (lambda x: gc.grad(gc.sum(gc.nn.max_pool2d(x, 2) ** 3), x), [_a(2, 2, 4, 5)],
                                [(N, N, N, N)]),
    "second order avg_pool2d": (lambda x: gc.grad(gc.sum(gc.tanh(gc.nn.avg_pool2d(x, 2))), x), [_a(2, 2, 4, 5)],
                                [(N, 2, N, N)]),
    "second order indexing": (lambda x: gc.grad(gc.sum(x[1:, 0] ** 3), x), [_a(4, 3)], [(N, N)]),
    "second order reshape": (lambda x, w: gc.grad(gc.sum(gc.tanh(x.reshape(-1, 3) @ w)), x), [_a(2, 6), _a(3, 2)],
                             [(N, 6), (3, 2)]),
}


def _knows_every_size_of(grad, node):
    return grad.ndim == node.ndim and all(n is None or g == n for g, n in zip(grad.shape, node.shape))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name):
    fn, values, shapes = CASES[name]
    check_grad(fn, values, shapes=shapes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_keep_every_size_their_input_knows(name):
    fn, values, shapes = CASES[name]
    problem = GradProblem(fn, values, shapes=shapes)
    for i, g in zip(problem.targets, problem.grads):
        node = problem.nodes[i]
        assert _knows_every_size_of(g, node), f"input {i} {node.type}: gradient {g.type}"
        simplified = gc.simplify(g)
        assert _knows_every_size_of(simplified, node), f"input {i} {node.type}: simplified {simplified.type}"


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_gradients_match_the_reference(name, backend):
    fn, values, shapes = CASES[name]
    problem = GradProblem(fn, values, shapes=shapes)
    want = gc.evaluate(problem.grads, problem.feed)
    got = gc.function(list(problem.feed), problem.grads, backend=backend)(*problem.feed.values())
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_issue_9_example():
    x = gc.tensor("x", (None, None))
    w = gc.shared(np.zeros((4, 3), np.float32))
    g = gc.grad(gc.sum(x @ w), w)
    assert g.shape == (4, 3)
    xv = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(gc.function([x], g)(xv), np.repeat(xv.sum(0)[:, None], 3, axis=1))


def test_known_sizes_that_differ_are_still_an_error():
    from graphc.autodiff.grad import _shaped_like

    x = gc.tensor("x", (4, 3))
    with pytest.raises(gc.ShapeError, match=r"exp: gradient shape \(5, 3\) does not fit input shape \(4, 3\)"):
        _shaped_like(gc.exp(x), x, gc.tensor("g", (5, 3)))
    with pytest.raises(gc.ShapeError, match=r"gradient shape \(\?,\) does not fit input shape \(4, 3\)"):
        _shaped_like(gc.exp(x), x, gc.tensor("g", (None,)))


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_a_size_one_at_run_time_where_unknown_is_still_refused(backend):
    x, y = gc.tensor("x", (None, None), "float64"), gc.tensor("y", (4, 3), "float64")
    f = gc.function([x, y], gc.grad(gc.sum(x * y), x), backend=backend)
    with pytest.raises(gc.ShapeError, match="declared unknown"):
        f(np.ones((1, 3)), np.ones((4, 3)))


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_matmul_refuses_an_unknown_batch_size_that_broadcasts(backend):
    # its gradient would have the other operand's batch size: (3, 2, 4) for a of (1, 2, 4)
    a, b = gc.tensor("a", (None, 2, 4), "float64"), gc.tensor("b", (None, 4, 3), "float64")
    f = gc.function([a, b], gc.grad(gc.sum(a @ b), a), backend=backend)
    with pytest.raises(gc.ShapeError, match=r"matmul: operand 0 has size 1 at run time on axis -3, declared unknown"):
        f(np.ones((1, 2, 4)), np.ones((3, 4, 3)))
    assert f(np.ones((3, 2, 4)), np.ones((3, 4, 3))).shape == (3, 2, 4)
    one = gc.tensor("one", (1, 2, 4), "float64")  # a batch declared 1 broadcasts
    g = gc.function([one, b], gc.grad(gc.sum(one @ b), one), backend=backend)
    np.testing.assert_allclose(g(np.ones((1, 2, 4)), np.ones((3, 4, 3))), np.full((1, 2, 4), 9.0))
