"""The elementwise functions added with the ScalarFn record, compiled on every dtype they
take, against the numpy reference: rounding and predicates on ints and bools,
logical_xor on floats, the float functions on ints (float64) and bools (float32)."""
import numpy as np
import pytest

import graphc as gc

from .graph_check import check

INTS = np.array([-7, -1, 0, 3, 12], np.int32)
BOOLS = np.array([True, False, True, True, False])
FLOATS = np.array([-2.5, -0.5, 0.0, np.nan, np.inf, 1.5, 2.5, -np.inf], np.float64)


@pytest.mark.parametrize("values", [INTS, INTS.astype(np.int64), FLOATS, FLOATS.astype(np.float32)],
                         ids=["int32", "int64", "float64", "float32"])
@pytest.mark.parametrize("fn", [gc.floor, gc.ceil, gc.round, gc.isnan, gc.isfinite], ids=lambda f: f.__name__)
def test_rounding_and_predicates(fn, values):
    x = gc.tensor("x", values.shape, values.dtype.name)
    check([x], fn(x), [values], simplify=False)


@pytest.mark.parametrize("fn", [gc.floor, gc.ceil, gc.isnan, gc.isfinite], ids=lambda f: f.__name__)
def test_bool_operands(fn):
    x = gc.tensor("x", BOOLS.shape, "bool")
    check([x], fn(x), [BOOLS], simplify=False)


@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("bool", "float32"), ("int32", "bool"),
                                    ("bool", "bool")], ids="-".join)
def test_logical_xor_of_any_dtypes(dtypes):
    a, b = gc.tensor("a", (8,), dtypes[0]), gc.tensor("b", (8,), dtypes[1])
    values = [np.resize(BOOLS, 8) if d == "bool" else np.resize(INTS, 8).astype(d) if d == "int32"
              else np.resize(FLOATS, 8).astype(d) for d in dtypes]
    check([a, b], gc.logical_xor(a, b), values, simplify=False)


@pytest.mark.parametrize("fn", [gc.sin, gc.cos, gc.tan, gc.erf, gc.log2, gc.log10, gc.rsqrt, gc.reciprocal],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("values", [np.array([1, 2, 5, 9], np.int64), np.array([True, True, False, True])],
                         ids=["int64", "bool"])
def test_float_functions_of_ints_and_bools(fn, values):
    x = gc.tensor("x", values.shape, values.dtype.name)
    with np.errstate(divide="ignore"):
        check([x], fn(x), [values], simplify=False)


def test_fused_chain_of_new_functions(rng):
    x = gc.tensor("x", (3, 33), "float32")
    out = gc.erf(gc.sin(x) * 2.0) + gc.round(gc.cos(x) * 4.0) * gc.rsqrt(gc.abs(x) + 1.0)
    check([x], out, [rng.uniform(-50, 50, (3, 33)).astype(np.float32)])
