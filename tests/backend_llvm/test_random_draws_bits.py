"""Uniform and normal draws compiled by the llvm backend are bit-identical to the numpy
reference: float32 and float64, static shapes and templates with an unknown batch, keys
above 2**32, parameters that are numbers or nodes (broadcast), draws fused with their
consumers, and the gradients to the parameters."""
import numpy as np
import pytest

import graphc as gc

KEYS = [0, 12345, (7 << 32) + 99, -3]


def _run_both(stream, key, inputs, outputs, values):
    """The outputs by the numpy reference and by llvm, each from the same key."""
    results = []
    for backend in ("numpy", "llvm"):
        stream.key.set_value(np.int64(key))
        results.append(gc.function(inputs, outputs, backend=backend)(*values))
    return results


def _same_bits(stream, key, inputs, outputs, values):
    """Every output of both backends equal to the bit."""
    results = _run_both(stream, key, inputs, outputs, values)
    for k, (want, got) in enumerate(zip(*results)):
        assert got.dtype == want.dtype and got.shape == want.shape, k
        assert np.array_equal(got.view(f"u{got.dtype.itemsize}"), want.view(f"u{want.dtype.itemsize}")), \
            f"output {k}: {np.count_nonzero(got != want)} of {got.size} differ"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("key", KEYS)
def test_standard_and_scaled_draws(dtype, key):
    stream = gc.RandomStream(0)
    x = gc.tensor("x", (None, 17), dtype)
    mean, std = gc.tensor("mean", (17,), dtype), gc.tensor("std", (None, 1), dtype)
    outs = [stream.normal((1, 1), dtype=dtype), stream.normal((2, 1000), dtype=dtype), stream.uniform(x),
            stream.uniform((3, 5), -2.5, 7.0, dtype=dtype), stream.normal(x, 1.5, 0.3),
            stream.normal(x, mean, std), stream.uniform(x, mean, gc.abs(mean) + 1.0),
            stream.normal(x, 0.0, 0.0)]
    rng = np.random.default_rng(abs(key))
    values = [np.zeros((3, 17), dtype), rng.standard_normal(17).astype(dtype), rng.uniform(0.1, 3, (3, 1)).astype(dtype)]
    _same_bits(stream, key, [x, mean, std], outs, values)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_draws_fused_with_consumers_and_gradients(dtype):
    stream = gc.RandomStream(2)
    x = gc.tensor("x", (4, 9), dtype)
    mean = gc.tensor("mean", (9,), dtype)
    noisy = x + stream.normal(x, mean, 2.0)
    cost = gc.sum(noisy * noisy) + gc.sum(stream.uniform((4, 9), mean, 3.0) * x)
    outs = [noisy, gc.relu(stream.uniform(x, -1.0, 1.0)) * 2.0] + gc.grad(cost, [mean])
    rng = np.random.default_rng(3)
    values = [rng.standard_normal((4, 9)).astype(dtype), rng.standard_normal(9).astype(dtype)]
    want, compiled = _run_both(stream, 41, [x, mean], outs, values)
    np.testing.assert_array_equal(compiled[0], want[0])      # the draw and one addition: exact
    np.testing.assert_array_equal(compiled[1], want[1])
    np.testing.assert_allclose(compiled[2], want[2], rtol=1e-5 if dtype == "float32" else 1e-12)   # sums
