"""Polynomial exp/log/tanh/sigmoid against numpy, vectorised and scalar (tail)."""
import numpy as np
import pytest

from graphc.backend.llvm import schedule as S
from graphc.backend.llvm.loopir import Buffer, Kernel, Un, Var, loop

from .helpers import run

SPECIAL = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 80.0, -80.0, 700.0, -700.0, 1e-310]


def _apply(fn, x):
    n = x.size
    src, dst = Buffer("x", x.dtype.name, (n,)), Buffer("y", x.dtype.name, (n,))
    i = Var("i")
    body = S.vectorize(loop(i, n, dst.store((i,), Un(fn, src[i]))), "i", 8 if x.dtype == np.float32 else 4)
    y = np.empty_like(x)
    run(Kernel(fn, body), [src, dst], [x, y])
    return y


def _reference(fn, x):
    x64 = x.astype(np.float64) if x.dtype == np.float32 else x
    with np.errstate(all="ignore"):
        r = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[fn](x64)
        return r.astype(x.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", ["exp", "log", "tanh", "sigmoid"])
def test_close_to_numpy_in_ulps(fn, dtype):
    rng = np.random.default_rng(1)
    hi = 85.0 if dtype == "float32" else 700.0
    x = np.concatenate([rng.uniform(-hi, hi, 2001), rng.uniform(-3, 3, 2001), rng.lognormal(0, 8, 1001),
                        np.array(SPECIAL)]).astype(dtype)
    if fn == "log":
        x = np.abs(x)
    got, want = _apply(fn, x), _reference(fn, x)
    finite = np.isfinite(want) & (np.abs(want) > np.finfo(dtype).tiny)
    ulp = np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]))
    assert ulp.max() <= 4, f"{fn} {dtype}: {ulp.max()} ulp at x={x[finite][ulp.argmax()]}"
    assert np.array_equal(np.isnan(got), np.isnan(want))
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_of_special_values(dtype):
    x = np.array([0.0, -1.0, np.inf, np.nan, 1.0, np.finfo(dtype).tiny / 4], dtype)
    got = _apply("log", x)
    assert got[0] == -np.inf and np.isnan(got[1]) and got[2] == np.inf and np.isnan(got[3]) and got[4] == 0
    assert np.isclose(got[5], np.log(x[5].astype(np.float64)), rtol=1e-6)
