"""Integer semantics as numpy's: arithmetic wraps, powers multiply exactly, floor division
and modulo round toward -inf (0 for a zero divisor), float-to-int casts of NaN and
out-of-range values give numpy's (x86) answer."""
import platform
import re

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.kernels.fused import elementwise_kernel
from graphc.backend.llvm.loopir import Buffer, Program, binop
from graphc.backend.llvm.runtime import compile_program

from .graph_check import check
from .helpers import run

INTS = ["int32", "int64"]


def _extremes(dtype: str, n: int, rng) -> np.ndarray:
    info = np.iinfo(dtype)
    edge = [info.max, info.min, info.max - 1, info.min + 1, -1, 0, 1, info.max // 2 + 1]
    return np.concatenate([edge, rng.integers(info.min, info.max, n - len(edge), endpoint=True)]).astype(dtype)


@pytest.mark.parametrize("dtype", INTS)
def test_overflow_wraps_as_numpy(dtype, rng):
    """With no-signed-wrap flags LLVM may fold (a + 1) > a to True; numpy wraps at the maximum."""
    a, b = gc.tensor("a", (37,), dtype), gc.tensor("b", (37,), dtype)
    outs = [(a + 1) > a, a * b, a - b, a + b, -a, gc.abs(a), a * 3 + b, gc.sum(a), gc.sum(a * b),
            gc.maximum(a * 2, b)]
    with np.errstate(all="ignore"):
        check([a, b], outs, [_extremes(dtype, 37, rng), _extremes(dtype, 37, rng)[::-1].copy()], simplify=False)


def test_user_integer_arithmetic_has_no_wrap_flags_but_indices_do():
    a, b = Buffer("a", "int64", (4, 37)), Buffer("b", "int64", (4, 37))
    out = Buffer("out", "int64", (4, 37))
    kernel = elementwise_kernel(out, [a, b], lambda loads: loads[0] * loads[1] + loads[0])
    text = compile_program(Program("wraps", (a, b, out), (kernel,))).llvm_ir(optimized=False)
    values = re.findall(r"= (?:add|mul|sub) (nsw )?<\d+ x i64>", text)
    assert values and not any(values), "vector (value) integer arithmetic must wrap"
    assert re.search(r"= add nsw i64", text), "loop counters and indices keep nsw"


@pytest.mark.parametrize("dtype", INTS)
def test_integer_powers_match_numpy(dtype, rng):
    a, b = gc.tensor("a", (41,), dtype), gc.tensor("b", (41,), dtype)
    av = np.concatenate([np.arange(-5, 6), rng.integers(-1000, 1000, 30)]).astype(dtype)
    bv = rng.integers(0, 70, 41).astype(dtype)
    bv[:3] = [0, 63, 64]
    outs = [a ** b] + [a ** k for k in (0, 1, 2, 3, 7, 13, 31, 64)]
    with np.errstate(all="ignore"):
        check([a, b], outs, [av, bv], simplify=False)


def test_floor_division_and_modulo_follow_numpy():
    """Loop IR's floordiv/mod (index arithmetic, and any integer division): floor
    rounding, x // 0 == x % 0 == 0, MIN // -1 wraps, in vector lanes and the scalar tail."""
    for dtype in INTS:
        info = np.iinfo(dtype)
        av = np.array([7, -7, 7, -7, 0, 5, -5, info.min, info.min, info.max, 3, -9, 12] * 3, dtype)
        bv = np.array([2, 2, -2, -2, 3, 0, 0, -1, 1, -1, 7, 4, -5] * 3, dtype)
        bufs = [Buffer("a", dtype, av.shape), Buffer("b", dtype, bv.shape)]
        for op, ref in (("floordiv", np.floor_divide), ("mod", np.remainder)):
            out = Buffer("out", dtype, av.shape)
            got = np.empty_like(av)
            run(elementwise_kernel(out, bufs, lambda loads, op=op: binop(op, *loads)), bufs + [out], [av, bv, got])
            with np.errstate(all="ignore"):
                np.testing.assert_array_equal(got, ref(av, bv), err_msg=f"{op} {dtype}")


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="numpy's conversion of NaN and out-of-range floats is the platform's")
@pytest.mark.parametrize("src", ["float32", "float64"])
def test_float_to_int_casts_of_nan_and_out_of_range_values(src):
    x = gc.tensor("x", (13,), src)
    xv = np.array([np.nan, np.inf, -np.inf, 1e10, -1e10, 3e9, -3e9, 2.5, -2.5, 1e19, 9.3e18, -0.0,
                   2.0 ** 31], src)
    with np.errstate(all="ignore"):
        check([x], [gc.cast(x, "int32"), gc.cast(x, "int64"), gc.cast(x * 2, "int32") + 1], [xv], simplify=False)


def test_bool_arithmetic_as_numpy():
    """numpy's bool add is a logical or (True + True is True), mul a logical and."""
    a, b = gc.tensor("a", (4,), "bool"), gc.tensor("b", (4,), "bool")
    values = [np.array([True, True, False, False]), np.array([True, False, True, False])]
    check([a, b], [a + b, a * b, gc.maximum(a, b), gc.minimum(a, b), gc.sum(a + b), a + b > a], values,
          simplify=False)
