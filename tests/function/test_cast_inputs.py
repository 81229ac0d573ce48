"""gc.function(cast_inputs=...): strict by default; "safe" and "same_kind" convert numpy
arguments exactly when numpy.can_cast allows it, and refuse the rest with a clear error."""
import numpy as np
import pytest

import graphc as gc


def _double(dtype, cast_inputs, backend="llvm"):
    x = gc.tensor("x", (None,), dtype)
    return gc.function([x], x * 2, backend=backend, cast_inputs=cast_inputs)


@pytest.mark.parametrize("cast_inputs", [None, "no"])
def test_strict_is_the_default_and_refuses_another_dtype(cast_inputs):
    f = _double("float32", cast_inputs)
    with pytest.raises(gc.DTypeError, match=r"expected dtype float32, got float64 \(convert with"):
        f(np.ones(3))
    assert _double("float32", cast_inputs)(np.ones(3, np.float32)).dtype == np.float32


@pytest.mark.parametrize("backend", ["llvm", "numpy"])
def test_same_kind_feeds_float64_to_a_float32_input(backend):
    f = _double("float32", "same_kind", backend)
    values = np.array([0.1, 1e-3, -2.5])
    out = f(values)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, values.astype(np.float32) * 2)


@pytest.mark.parametrize("given, expected, rule", [
    ("float64", "float32", "same_kind"), ("int64", "float32", "same_kind"), ("bool", "float64", "same_kind"),
    ("int64", "int32", "same_kind"), ("float32", "float64", "safe"), ("int32", "float64", "safe"),
])
def test_what_numpy_can_cast_is_converted(given, expected, rule):
    assert np.can_cast(np.dtype(given), np.dtype(expected), rule)  # the rule followed
    out = _double(expected, rule)(np.array([1, 0, 1], given))
    assert out.dtype == np.dtype(expected)
    np.testing.assert_array_equal(out, np.array([2, 0, 2], expected))


@pytest.mark.parametrize("given, expected, rule", [
    ("float32", "int32", "same_kind"), ("float64", "int64", "same_kind"), ("float64", "float32", "safe"),
    ("int64", "float32", "safe"), ("int32", "bool", "same_kind"),
])
def test_what_numpy_refuses_is_refused(given, expected, rule):
    assert not np.can_cast(np.dtype(given), np.dtype(expected), rule)
    f = _double(expected, rule)
    with pytest.raises(gc.DTypeError, match=f"argument 'x': expected dtype {expected}, got {given}, which the "
                                            f"function's cast_inputs='{rule}' rule does not convert"):
        f(np.array([1, 0, 1], given))


def test_an_unknown_rule_is_refused_when_compiling():
    x = gc.tensor("x", (None,))
    with pytest.raises(ValueError, match=r"cast_inputs must be None or one of 'no', 'safe', 'same_kind', "
                                         r"got 'unsafe'"):
        gc.function([x], x, cast_inputs="unsafe")


def test_cast_arguments_are_not_written_by_updates_or_returned_as_views():
    x = gc.tensor("x", (2,))
    kept = gc.shared(np.zeros(2, np.float32), name="kept")
    f = gc.function([x], x, updates=[(kept, x)], cast_inputs="same_kind")
    values = np.array([1.5, 2.5])
    out = f(values)
    out[:] = 7
    np.testing.assert_array_equal(kept.get_value(), [1.5, 2.5])
    np.testing.assert_array_equal(values, [1.5, 2.5])
