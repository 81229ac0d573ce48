"""matmul against numpy: 2-D, batched with broadcasting, and the vector cases."""
import numpy as np
import pytest

import graphc as gc

SHAPES = {
    "2d": ((3, 5), (5, 2)),
    "square": ((4, 4), (4, 4)),
    "batched": ((2, 3, 5), (2, 5, 4)),
    "batch-broadcast": ((2, 1, 3, 5), (4, 5, 2)),
    "batch-one-side": ((3, 5), (6, 5, 2)),
    "vec@mat": ((5,), (5, 3)),
    "mat@vec": ((3, 5), (5,)),
    "vec@vec": ((5,), (5,)),
    "vec@batched": ((5,), (2, 5, 3)),
    "batched@vec": ((2, 3, 5), (5,)),
    "ones": ((1, 1), (1, 1)),
}


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("float64", "float64"), ("int32", "int32"), ("int32", "float32"), ("float32", "float64")], ids="-".join)
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_matmul_matches_numpy(case, dtypes, rng, like_numpy):
    sa, sb = SHAPES[case]
    a, b = gc.tensor("a", sa, dtypes[0]), gc.tensor("b", sb, dtypes[1])
    av = (rng.integers(-3, 4, sa) if dtypes[0].startswith("int") else rng.standard_normal(sa)).astype(dtypes[0])
    bv = (rng.integers(-3, 4, sb) if dtypes[1].startswith("int") else rng.standard_normal(sb)).astype(dtypes[1])
    like_numpy(a @ b, {a: av, b: bv}, av @ bv)
    like_numpy(gc.matmul(a, b), {a: av, b: bv}, np.matmul(av, bv))


def test_dot_and_reflected_matmul(rng, like_numpy):
    a = gc.tensor("a", (3, 4), "float64")
    av, m = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    like_numpy(m @ a, {a: av}, m @ av)
    like_numpy(gc.dot(a, av.T), {a: av}, av @ av.T)


def test_matmul_with_unknown_dims(rng, like_numpy):
    a, b = gc.tensor("a", (None, 3), "float64"), gc.tensor("b", (3, None), "float64")
    assert (a @ b).shape == (None, None)
    av, bv = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    like_numpy(a @ b, {a: av, b: bv}, av @ bv)


def test_inner_dimension_mismatch_message():
    with pytest.raises(gc.ShapeError, match=r"matmul: inner dimensions differ in \(2, 3\) @ \(4, 5\): 3 != 4"):
        gc.tensor("a", (2, 3)) @ gc.tensor("b", (4, 5))
    with pytest.raises(gc.ShapeError, match=r"matmul: inner dimensions differ in \(3,\) @ \(4,\): 3 != 4 "
                       r"\(the last axis of a must match the length of b\)"):
        gc.tensor("a", (3,)) @ gc.tensor("b", (4,))


def test_batch_mismatch_message_names_the_operands():
    with pytest.raises(gc.ShapeError, match=r"matmul: batch axes of \(7, 2, 3\) @ \(4, 3, 5\): shapes \(7,\) and \(4,\) do not broadcast"):
        gc.tensor("a", (7, 2, 3)) @ gc.tensor("b", (4, 3, 5))


def test_scalar_and_bool_operands_are_refused():
    with pytest.raises(gc.ShapeError, match=r"matmul: scalar operands are not allowed \(\(\) @ \(3,\)\); use \*"):
        gc.scalar("s") @ gc.tensor("v", (3,))
    with pytest.raises(gc.DTypeError, match="matmul: bool operands are not supported"):
        gc.tensor("a", (2, 2), "bool") @ gc.tensor("b", (2, 2), "bool")
