"""Gathers and scatter-adds (x[idx], take, take_along_axis, index_add, embedding) and their
gradients compiled by the llvm backend, float32, float64, integer and bool x with int64 and
int32 indices, at odd shapes, against the numpy reference; the parallel scatter; and
what the kernels look like (no numpy fallback, a serial scatter over repeated indices)."""
import numpy as np
import pytest

import graphc as gc

from .graph_check import check, rand

FLOATS = ["float32", "float64"]


def _indices(rng, n, shape, dtype="int64"):
    return rng.integers(-n, n, shape).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS + ["int64", "int32", "bool"])
@pytest.mark.parametrize("index_dtype", ["int64", "int32"])
def test_gathers_match_the_reference(dtype, index_dtype, rng):
    x = gc.tensor("x", (3, 7, 5), dtype)
    i = gc.tensor("i", (2, 3), index_dtype)
    j = gc.tensor("j", (3, 1, 4), index_dtype)
    outputs = [gc.take(x, i, 1), gc.take(x, i), gc.take_along_axis(x, j, 2), x[1:, i, ::-2], x[i, :, [0, 4, 1]],
               x[:, 1, i] * 2 + 1, gc.take(x * x, i, -1)]
    check([x, i, j], outputs, [rand(rng, (3, 7, 5), dtype), _indices(rng, 3, (2, 3), index_dtype),
                               _indices(rng, 5, (3, 1, 4), index_dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_gradients_match_the_reference(dtype, rng):
    x = gc.tensor("x", (1, 6, 5), dtype)                    # batch of 1, non-square
    i = gc.tensor("i", (4,), "int64")
    j = gc.tensor("j", (1, 6, 3), "int32")
    loss = (gc.sum(gc.tanh(gc.take(x, i, 1)) * 3.0) + gc.sum(gc.take_along_axis(x, j, 2) ** 2)
            + gc.sum(gc.exp(x[:, i[:2], 1:]) * x[0, 0, 0]))
    values = [rand(rng, (1, 6, 5), dtype), np.array([5, 0, 5, -1]), _indices(rng, 5, (1, 6, 3), "int32")]
    check([x, i, j], gc.grad(loss, [x]), values)


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_index_add_and_its_gradients(dtype, rng):
    x = gc.tensor("x", (4, 9, 3), dtype)
    v = gc.tensor("v", (4, 5, 3), dtype)
    i = gc.tensor("i", (5,), "int64")
    y = gc.index_add(x, 1, i, v)
    values = [rand(rng, (4, 9, 3), dtype), rand(rng, (4, 5, 3), dtype), np.array([8, 0, 8, -1, 3])]
    outputs = [y, gc.index_add(x, 1, i, v * 2, alpha=3) - x]
    if dtype != "int64":
        outputs += gc.grad(gc.sum(gc.sin(y) * y), [x, v])
    check([x, v, i], outputs, values)


@pytest.mark.parametrize("dtype", FLOATS)
def test_embedding_and_its_gradient_with_a_batch_known_when_run(dtype, rng):
    w = gc.tensor("w", (11, 6), dtype)
    ids = gc.tensor("ids", (None, 4), "int64")
    y = gc.nn.embedding(ids, w)
    check([w, ids], [y, gc.grad(gc.sum(y * y), [w])[0]],
          [rand(rng, (11, 6), dtype), rng.integers(0, 11, (3, 4))])


def test_scatter_over_a_large_pass_through_axis_runs_on_threads(rng):
    x = gc.tensor("x", (1024, 33, 40), "float32")
    i = gc.tensor("i", (50,), "int64")
    g = gc.grad(gc.sum(gc.take(x, i, 1) * 2.0), [x])[0]
    f = gc.function([x, i], g, threads=2)
    iv = np.concatenate([np.full(25, 7), rng.integers(-33, 33, 25)])
    want = np.zeros((1024, 33, 40), np.float32)
    np.add.at(want, (slice(None), np.where(iv < 0, iv + 33, iv)), 2.0)
    np.testing.assert_array_equal(f(rand(rng, (1024, 33, 40), "float32"), iv), want)
    scatter = [k.name for k in f.inspect.kernels() if "scatter_add" in k.name]
    assert scatter and "for sa0 in range(1024) [parallel]" in f.inspect.loop_ir(scatter[0])


def test_scatter_over_repeated_indices_stays_serial():
    """Values landing on one place of the result are added in one loop, in order."""
    w = gc.tensor("w", (11, 6), "float32")
    ids = gc.tensor("ids", (300, 40), "int64")
    f = gc.function([w, ids], gc.grad(gc.sum(gc.nn.embedding(ids, w)), [w])[0], threads=2)
    f(np.ones((11, 6), "float32"), np.zeros((300, 40), "int64"))
    text = f.inspect.loop_ir()
    assert "scatter_add" in text and "[parallel]" not in text
    assert "for sa2 in range(6) [vectorize" in text and "for sa0 in range(300):" in text
