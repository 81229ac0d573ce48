"""var and std over equal values (the fuzzer's seed-9100 finding: std over a broadcast
logsumexp): exactly 0 in both backends whatever their summation order, with the gradient
0 there (torch's) instead of 0 / 0 in one backend and a residue in the other; NaN stays
NaN, and a mean far from 0 costs no precision."""
import numpy as np
import pytest

import graphc as gc


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ddof", [0, 1])
def test_equal_values_after_a_logsumexp(dtype, ddof, rng):
    x, ones = gc.tensor("x", (4, None), dtype), gc.tensor("ones", (None, 7), dtype)
    equal = gc.logsumexp(x, 1, keepdims=True) * ones                 # 7 equal values per row
    outs = [gc.std(equal, 1, ddof=ddof), gc.var(equal, 1, ddof=ddof)]
    outs += gc.grad(gc.sum(outs[0] * np.arange(1.0, 5.0, dtype=dtype)), [x, ones])
    values = [rng.normal(0, 2, (4, 7)).astype(dtype), np.ones((4, 7), dtype)]
    for backend in ("numpy", "llvm"):
        got = gc.function([x, ones], outs, backend=backend)(*values)
        for k, value in enumerate(got):
            np.testing.assert_array_equal(value, np.zeros_like(value), err_msg=f"{backend}: output {k}")


def test_the_gradient_at_zero_variance_is_torchs():
    torch = pytest.importorskip("torch", reason="torch is the optional oracle for std's gradient at zero variance")
    value = np.full((2, 5), 0.3)
    t = torch.tensor(value, requires_grad=True)
    torch.std(t, 1).sum().backward()
    x = gc.tensor("x", (2, 5), "float64")
    np.testing.assert_array_equal(gc.grad(gc.sum(gc.std(x, 1, ddof=1)), [x])[0].eval({x: value}), t.grad.numpy())


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_nan_stays_nan_and_a_large_mean_keeps_precision(backend, rng):
    x = gc.tensor("x", (3, 6), "float64")
    value = rng.normal(1e8, 1.0, (3, 6))
    value[2, 4] = np.nan
    std, var = gc.function([x], [gc.std(x, 1), gc.var(x, 1)], backend=backend)(value)
    assert np.isnan(std[2]) and np.isnan(var[2])
    np.testing.assert_allclose(var[:2], np.var(value[:2], 1), rtol=1e-12)
    np.testing.assert_allclose(std[:2], np.std(value[:2], 1), rtol=1e-12)
