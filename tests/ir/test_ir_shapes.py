"""Shape algebra and dtype promotion of the ir layer, against numpy's rules."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from graphc.ir import ShapeError, broadcast_shapes, float_of, format_shape, normalize_axes, promote
from graphc.ir.dtypes import SUPPORTED


@given(mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=4))
def test_broadcast_shapes_matches_numpy(shapes):
    assert broadcast_shapes("op", *shapes.input_shapes) == np.broadcast_shapes(*shapes.input_shapes)


def test_unknown_dims_take_the_known_size():
    assert broadcast_shapes("op", (None, 3), (4, 1)) == (4, 3)
    assert broadcast_shapes("op", (None, 1), (1, None)) == (None, None)
    assert broadcast_shapes("op", (None,), (1,)) == (None,)
    assert broadcast_shapes("op", (), (None, 2)) == (None, 2)


def test_broadcast_error_names_the_op_shapes_and_axis():
    with pytest.raises(ShapeError, match=r"mul: shapes \(2, 3\) and \(4, \?\) do not broadcast: axis -2 has sizes \[2, 4\]"):
        broadcast_shapes("mul", (2, 3), (4, None))


def test_normalize_axes():
    assert normalize_axes("s", None, 3) == (0, 1, 2)
    assert normalize_axes("s", -1, 3) == (2,)
    assert normalize_axes("s", (2, -3), 3) == (0, 2)
    with pytest.raises(ShapeError, match="s: axis 3 is out of range for a tensor of rank 3"):
        normalize_axes("s", 3, 3)
    with pytest.raises(ShapeError, match=r"s: repeated axis in \(1, -2\)"):
        normalize_axes("s", (1, -2), 3)
    with pytest.raises(ShapeError, match="s: axis must be an int"):
        normalize_axes("s", (1.0,), 3)
    with pytest.raises(ShapeError, match="s: axis must be an int, a tuple of ints or None, got 1.0"):
        normalize_axes("s", 1.0, 3)
    assert normalize_axes("s", [np.int64(1), 0], 3) == (0, 1)


@pytest.mark.parametrize("a", SUPPORTED, ids=str)
@pytest.mark.parametrize("b", SUPPORTED, ids=str)
def test_promote_is_numpy_result_type(a, b):
    assert promote(a, b) == np.result_type(a, b)


@pytest.mark.parametrize("dtype", SUPPORTED, ids=str)
def test_float_of_is_numpy_ufunc_result_except_bool(dtype):
    numpy_result = np.exp(np.ones(1, dtype)).dtype
    assert float_of(dtype) == (np.dtype("float32") if dtype == np.bool_ else numpy_result)


def test_format_shape():
    assert format_shape((2, None)) == "(2, ?)"
    assert format_shape((3,)) == "(3,)"
    assert format_shape(()) == "()"
