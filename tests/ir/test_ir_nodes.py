"""Nodes: hash-consing, ops as values, static types, and the errors of misuse."""
import copy
import pickle

import numpy as np
import pytest

import graphc as gc
from graphc.ir import Node, TensorType
from graphc.ops import Cast, Concatenate, Elemwise, GetItem, Pad, Reduce, Reshape


def test_same_expression_twice_is_the_same_node():
    x, y = gc.tensor("x", (2, 3)), gc.tensor("y", (3,))
    assert (x * y + 1).sum(axis=0) is (x * y + 1).sum(axis=0)
    assert gc.exp(x)[0, ::2] is gc.exp(x)[0, ::2]
    assert x @ gc.transpose(x) is x @ x.T


def test_different_expressions_are_different_nodes():
    x = gc.tensor("x", (2, 3))
    assert x.sum(axis=0) is not x.sum(axis=1)
    assert x.sum(axis=0) is not x.sum(axis=0, keepdims=True)
    assert x + 1 is not x + 2
    assert x - 1 is not 1 - x


def test_inputs_with_the_same_name_are_distinct():
    a, b = gc.tensor("x", (3,)), gc.tensor("x", (3,))
    assert a is not b
    assert a.op != b.op
    assert a + 1 is not b + 1
    np.testing.assert_array_equal((a - b).eval({a: [1, 2, 3], b: [1, 1, 1]}), [0, 1, 2])


def test_shared_variables_are_distinct_even_with_equal_values():
    a, b = gc.shared(np.zeros(3), "w"), gc.shared(np.zeros(3), "w")
    assert a is not b and a.op != b.op


def test_constants_with_equal_values_are_one_node():
    assert gc.constant(np.arange(3.0)) is gc.constant(np.arange(3.0))
    assert gc.constant(np.arange(3.0)) is not gc.constant(np.arange(3))  # dtype differs
    assert gc.constant(np.float64(0.0)) is not gc.constant(np.float64(-0.0))
    assert gc.constant(np.arange(4).reshape(2, 2)) is not gc.constant(np.arange(4))


@pytest.mark.parametrize("make", [
    lambda: Elemwise("add"),
    lambda: Reduce("sum", (0, 2), True),
    lambda: Cast(np.dtype("float64")),
    lambda: Reshape((2, -1)),
    lambda: Concatenate(1),
    lambda: Pad(((1, 0), (2, 3)), 0.5),
    lambda: GetItem((("int", 0), ("slice", None, None, -2))),
])
def test_ops_are_values(make):
    a, b = make(), make()
    assert a is not b and a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1


def test_ops_with_different_parameters_differ():
    assert Reduce("sum", (0,), False) != Reduce("sum", (0,), True)
    assert Reduce("sum", (0,), False) != Reduce("max", (0,), False)
    assert Elemwise("add") != Elemwise("sub")
    assert Cast(np.dtype("float32")) != Cast(np.dtype("float64"))


def test_node_type_dtype_shape_ndim():
    x = gc.tensor("x", (None, 3, 1), "int32")
    assert x.type == TensorType(np.dtype("int32"), (None, 3, 1))
    assert x.dtype == np.int32 and x.ndim == 3 and x.shape == (None, 3, 1)
    assert x.type.shape == (None, 3, 1) and x.name == "x"
    assert gc.scalar("s").type == TensorType("float32", ())
    assert gc.tensor("d", 4).shape == (4,)


def test_default_dtype_is_float32():
    assert gc.tensor("x", (2,)).dtype == np.float32
    assert gc.scalar("s").dtype == np.float32


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_supported_dtypes(dtype):
    assert gc.tensor("x", (1,), dtype).dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float16", "complex64", "uint8", "int8"])
def test_unsupported_dtypes_raise(dtype):
    with pytest.raises(gc.DTypeError, match=f"dtype {dtype} is not supported; use one of"):
        gc.tensor("x", (1,), dtype)


def test_unknown_dtype_name_raises():
    with pytest.raises(gc.DTypeError, match="unknown dtype 'not-a-dtype'"):
        gc.tensor("x", (1,), "not-a-dtype")


@pytest.mark.parametrize("shape", [(2, -1), (1.5,), (True,), ("3",)])
def test_bad_shapes_raise(shape):
    with pytest.raises(gc.ShapeError, match="shape entries must be ints >= 0 or None"):
        gc.tensor("x", shape)


def test_tensor_type_properties():
    t = TensorType("float64", (2, None, 3))
    assert t.ndim == 3 and not t.is_static and t.size is None
    assert t.accepts((2, 7, 3)) and not t.accepts((2, 7, 4)) and not t.accepts((2, 3))
    s = TensorType("int32", (2, 3))
    assert s.is_static and s.size == 6 and TensorType("bool", ()).size == 1
    assert str(t) == "f64[2,?,3]" and str(TensorType("bool", ())) == "bool[]"


def test_bool_of_a_node_raises():
    x = gc.tensor("x", (2,))
    with pytest.raises(TypeError, match="truth value of a symbolic tensor"):
        bool(x)
    with pytest.raises(TypeError, match="truth value of a symbolic tensor"):
        if x > 0:
            pass


def test_nodes_are_built_by_ops_only():
    with pytest.raises(TypeError, match="nodes are built by ops"):
        Node(Elemwise("add"), ())


def test_make_rejects_non_node_inputs():
    with pytest.raises(TypeError, match="add: inputs must be nodes, got ndarray"):
        Node.make(Elemwise("add"), [np.zeros(2), gc.tensor("x", (2,))])


def test_nodes_are_not_picklable():
    x = gc.tensor("x", (2,))
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(x)
    with pytest.raises(TypeError, match="not picklable"):
        copy.deepcopy(x)


def test_equality_is_identity_and_nodes_are_dict_keys():
    x, y = gc.tensor("x", (2,)), gc.tensor("y", (2,))
    assert x == x and not (x == y) and x != y
    assert {x: 1, y: 2}[y] == 2
    assert isinstance(gc.eq(x, y), Node) and gc.eq(x, y).dtype == np.bool_


def test_repr_names_the_input_and_type():
    x = gc.tensor("inp", (None, 2), "int64")
    assert repr(x).startswith("<inp: i64[?,2] #")
    assert "add" in repr(x + 1)


def test_type_errors_are_raised_when_the_node_is_built():
    x = gc.tensor("x", (2, 3))
    with pytest.raises(gc.ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        x + gc.tensor("y", (4,))
    with pytest.raises(gc.DTypeError, match="where: the condition must be bool, got float32"):
        gc.where(x, x, x)


def test_error_classes():
    assert issubclass(gc.ShapeError, ValueError) and issubclass(gc.ShapeError, gc.GraphcError)
    assert issubclass(gc.DTypeError, TypeError) and issubclass(gc.DTypeError, gc.GraphcError)
    assert issubclass(gc.DisconnectedGradientError, gc.GraphcError)
