"""allreduce_sum and synchronised batch norm in one process: the op is the identity alone, sums
through an installed communicator (a stand-in for k ranks that hold the same values: it multiplies
by k) on both backends, has itself as gradient, runs on the calling thread in compiled code, and
BatchNorm(sync=True) computes what BatchNorm computes. The runs on several processes are in
test_distributed.py."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from graphc.nn.data_parallel import check_every_rank_has_rows
from graphc.ops import allreduce_sum, set_communicator

BACKENDS = ["numpy", "llvm"]
DTYPES = ["float32", "float64"]


class Copies:
    """A communicator standing for `k` ranks that hold the same buffer: the sum is k times it.
    Records each buffer's shape and the thread it was summed on."""

    def __init__(self, k: int):
        self.k, self.shapes, self.threads = k, [], []

    def __call__(self, buffer: np.ndarray) -> None:
        self.shapes.append(buffer.shape)
        self.threads.append(threading.get_ident())
        buffer *= self.k


@pytest.fixture
def communicator():
    """Install a communicator for the test (three copies), and restore none after it."""
    copies = Copies(3)
    previous = set_communicator(copies)
    yield copies
    set_communicator(previous)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (3, 5, 2), (0, 4)])
def test_alone_the_op_is_the_identity(backend, dtype, shape, rng):
    x = gc.tensor("x", shape, dtype)
    value = rng.normal(size=shape).astype(dtype)
    (got,) = gc.function([x], [allreduce_sum(x)], backend=backend)(value)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES + ["int64"])
def test_the_installed_communicator_sums_each_value_once(backend, dtype, communicator, rng):
    x = gc.tensor("x", (3, 4), dtype)
    value = rng.integers(-5, 5, size=(3, 4)).astype(dtype)
    fn = gc.function([x], [allreduce_sum(x * 2)[1:] + 1], backend=backend)
    np.testing.assert_array_equal(fn(value)[0], value[1:] * 6 + 1)
    assert communicator.shapes == [(12,) if backend == "llvm" else (3, 4)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_communicator_is_read_when_the_function_runs_not_when_it_is_compiled(backend, communicator):
    x = gc.tensor("x", (2,))
    fn = gc.function([x], [allreduce_sum(x)], backend=backend)
    assert fn(np.ones(2, np.float32))[0].tolist() == [3, 3]
    set_communicator(Copies(5))
    assert fn(np.ones(2, np.float32))[0].tolist() == [5, 5]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sum_over_processes_of_constants_is_not_folded_when_compiled(backend, communicator):
    fn = gc.function([], [allreduce_sum(gc.constant(np.float32(2.5)))], backend=backend)
    assert float(fn()[0]) == 7.5
    set_communicator(Copies(5))
    assert float(fn()[0]) == 12.5


def test_compiled_code_sums_on_the_calling_thread_after_its_parallel_copy(communicator):
    x = gc.tensor("x", (1 << 22,))
    fn = gc.function([x], [allreduce_sum(x * 2)], threads=2)
    value = np.ones(1 << 22, np.float32)
    assert fn(value)[0][[0, -1]].tolist() == [6, 6]
    listing = fn.inspect.loop_ir()
    assert "[parallel]" in listing and "allreduce_sum(out0[0:4194304])  # a call back into the process" in listing
    assert communicator.threads == [threading.get_ident()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_communicator_that_raises_fails_the_call_with_its_exception(backend):
    def broken(buffer: np.ndarray) -> None:
        raise ConnectionError("rank 3 is gone")

    x = gc.tensor("x", (2,))
    fn = gc.function([x], [allreduce_sum(x) * 2], backend=backend)
    previous = set_communicator(broken)
    try:
        with pytest.raises(ConnectionError, match="rank 3 is gone"):
            fn(np.ones(2, np.float32))
    finally:
        set_communicator(previous)
    assert fn(np.ones(2, np.float32))[0].tolist() == [2, 2]  # and the function still works


def test_a_boolean_input_is_refused_when_built():
    with pytest.raises(gc.DTypeError, match="allreduce_sum: needs a numeric input, got bool"):
        allreduce_sum(gc.tensor("mask", (3,), "bool"))


@pytest.mark.parametrize("copies", [1, 3])
def test_the_gradient_is_the_sum_of_the_gradients(copies, rng):
    """With k identical ranks, d/dx of sum(allreduce(f(x)) * R) is f'(x) * k R: the vjp sums too."""
    previous = set_communicator(Copies(copies))
    try:
        check_grad(lambda x: allreduce_sum(gc.sin(x) * x), [rng.normal(size=(1, 3, 2))])
        x = gc.tensor("x", (2,), "float64")
        (g,) = gc.grad(gc.sum(allreduce_sum(x)), [x])
        assert gc.function([x], [g], backend="numpy")(np.zeros(2))[0].tolist() == [copies, copies]
    finally:
        set_communicator(previous)


# -- synchronised batch norm in one process -----------------------------------------------------
def bn_graph(sync: bool, shape: tuple, axis: int, dtype: str):
    layer = gc.nn.BatchNorm(shape[axis], axis=axis, sync=sync, dtype=dtype)
    layer.gamma.set_value(np.linspace(0.5, 2, shape[axis]).astype(dtype))
    layer.beta.set_value(np.linspace(-1, 1, shape[axis]).astype(dtype))
    x = gc.tensor("x", (None,) + shape[1:], dtype)
    y = layer(x, training=True)
    weights = gc.constant(np.random.default_rng(5).normal(size=shape[1:]).astype(dtype))
    loss = gc.sum(y * weights)
    return x, [y, *gc.grad(loss, [x, layer.gamma, layer.beta]), *(v for _, v in layer.state_updates(y))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((5, 3, 4, 2), 1), ((2, 7), 1), ((3, 2, 4), -1)])
def test_synchronised_batch_norm_alone_is_batch_norm(backend, dtype, shape, axis, rng):
    """Output, gradients and running statistics, with statistics far from 0 and 1."""
    value = (rng.normal(size=shape) * 3 + 10).astype(dtype)
    results = []
    for sync in (False, True):
        x, outputs = bn_graph(sync, shape, axis, dtype)
        results.append(gc.function([x], outputs, backend=backend)(value))
    tolerance = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for name, local, synced in zip(["y", "dx", "dgamma", "dbeta", "running mean", "running var"], *results):
        np.testing.assert_allclose(synced, local, **tolerance, err_msg=name)


@pytest.mark.parametrize("shape", [(1, 2, 3, 3), (4, 3)])
def test_synchronised_batch_norm_gradients_match_finite_differences(shape, rng):
    layer = gc.nn.BatchNorm(shape[1], sync=True, dtype="float64")
    check_grad(lambda x: layer(x, training=True), [rng.normal(size=shape) * 2 + 3])


def test_synchronised_batch_norm_over_identical_ranks_is_batch_norm_of_their_batch(rng):
    """k ranks holding the same rows normalise as one process does: the k-fold sums and count cancel;
    but the running variance's unbiased correction sees k times the rows."""
    value = rng.normal(size=(4, 3)) + 2
    x, local = bn_graph(False, (4, 3), 1, "float64")
    expected = gc.function([x], local[:1], backend="numpy")(value)[0]
    previous = set_communicator(Copies(3))
    try:
        x, synced = bn_graph(True, (4, 3), 1, "float64")
        y, *_, running_var = gc.function([x], synced, backend="numpy")(value)
    finally:
        set_communicator(previous)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_allclose(running_var, 0.9 + 0.1 * value.var(axis=0) * 12 / 11, rtol=1e-12)


def test_sync_batch_norm_needs_a_distributed_trainer():
    with pytest.raises(ValueError, match="sync_batch_norm=True .* needs distributed=True"):
        gc.nn.Trainer(gc.nn.BatchNorm(3), sync_batch_norm=True)


def test_a_distributed_trainer_with_sync_batch_norm_makes_its_batch_norms_synchronised():
    model = gc.nn.Sequential(gc.nn.Dense(4, 3), gc.nn.BatchNorm(3), gc.nn.Sequential(gc.nn.BatchNorm(3)))
    gc.nn.Trainer(model, distributed=True, sync_batch_norm=True)
    assert [layer.sync for layer in model.walk() if isinstance(layer, gc.nn.BatchNorm)] == [True, True]
    assert "BatchNorm(3, sync)" in repr(model)


@pytest.mark.parametrize("rows, batch_size, size, refused", [
    (130, 64, 2, False), (130, 64, 3, True), (134, 64, 3, False), (129, 64, 2, True), (128, 64, 64, False),
    (10, 2, 3, True),
])
def test_sync_batch_norm_refuses_batches_that_leave_a_rank_without_rows(rows, batch_size, size, refused):
    if not refused:
        check_every_rank_has_rows(rows, batch_size, size)
        return
    with pytest.raises(ValueError, match=r"a batch of \d+ rows leaves some of the \d+ ranks without a row"):
        check_every_rank_has_rows(rows, batch_size, size)
