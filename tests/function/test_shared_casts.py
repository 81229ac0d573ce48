"""One cast rule for values stored in shared variables (set_value and updates): numpy's
same_kind; arguments of compiled functions stay strict."""
import numpy as np
import pytest

import graphc as gc

BACKENDS = ["numpy", "llvm"]


def _store_by_update(var, value, backend):
    gc.function([], [], updates={var: gc.constant(value)}, backend=backend)()


def _store_by_set_value(var, value, backend):
    var.set_value(value)


STORES = [_store_by_set_value, _store_by_update]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("var_dtype, value", [
    ("float32", np.ones(3) * 0.1),                    # float64 -> float32: within a kind, rounds
    ("float64", np.arange(3, dtype=np.int64)),        # int -> float: up a kind
    ("float32", np.array([True, False, True])),       # bool -> float
    ("int32", np.arange(3, dtype=np.int64)),          # int64 -> int32: within a kind
])
def test_same_kind_casts_are_stored_in_the_variables_dtype(store, backend, var_dtype, value):
    w = gc.shared(np.zeros(3, var_dtype), "w")
    store(w, value, backend)
    got = w.get_value()
    assert got.dtype == var_dtype
    np.testing.assert_array_equal(got, value.astype(var_dtype))


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("var_dtype, value", [
    ("int32", np.array([0.5, 1.5, 2.5])),
    ("int64", np.array([0.5, 1.5, 2.5], np.float32)),
    ("bool", np.array([0, 1, 2], np.int64)),
])
def test_casts_that_change_kind_are_refused_naming_variable_and_dtypes(store, var_dtype, value):
    n = gc.shared(np.zeros(3, var_dtype), "n")
    with pytest.raises(gc.DTypeError, match=rf"'n' has dtype {var_dtype}; values of dtype {value.dtype} "
                                            rf"would change kind .*same_kind"):
        store(n, value, "numpy")
    assert n.get_value().dtype == var_dtype and not n.get_value().any()


def test_a_symbolic_float64_update_of_a_float32_variable_is_cast():
    w = gc.shared(np.ones(2, np.float32), "w")
    step = gc.tensor("step", (), "float64")
    gc.function([step], [], updates={w: w * step}, backend="numpy")(np.float64(0.1))
    assert w.get_value().dtype == np.float32
    np.testing.assert_allclose(w.get_value(), np.float32(0.1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_arguments_of_compiled_functions_stay_strict(backend):
    x = gc.tensor("x", (3,), "float32")
    f = gc.function([x], x * 2, backend=backend)
    with pytest.raises(gc.DTypeError, match="argument 'x': expected dtype float32, got float64"):
        f(np.ones(3))
