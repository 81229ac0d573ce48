"""gc.einsum against numpy.einsum (explicit and implicit outputs, '...', diagonals,
broadcasting size-1 labels, chains), its gradients by finite differences and against
torch, and clear errors for subscripts that do not fit the operands."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("ii", [(4, 4)]), ("ii->i", [(4, 4)]),
    ("ij->ji", [(3, 5)]), ("ij->", [(3, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,i", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("...i,...i", [(2, 1, 3), (4, 3)]),
    ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]), ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 3)]),
    ("iij->ji", [(3, 3, 2)]), ("ij,ij->ij", [(2, 1), (2, 3)]), ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 6, 4)]),
    ("Ba", [(2, 3)]), ("i...->...", [(3, 2, 4)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("iji->j", [(3, 2, 3)]), ("ab,ab,ab->", [(2, 3)] * 3), (" i j , j k -> k i ", [(3, 4), (4, 5)]),
    ("ij,kj->ikj", [(3, 7), (5, 7)]), ("i->i", [(0,)]), ("ij,j->i", [(3, 0), (0,)]),
]


def _values(shapes, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("subscripts, shapes", CASES, ids=[c[0] for c in CASES])
def test_matches_numpy(subscripts, shapes, dtype):
    values = _values(shapes, dtype=dtype)
    xs = [gc.tensor(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
    got = gc.einsum(subscripts, *xs).eval(dict(zip(xs, values)))
    want = np.einsum(subscripts, *values)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)


def test_integer_operands_match_numpy():
    a, b = np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2)
    got = gc.einsum("ij,jk->ik", gc.constant(a), gc.constant(b)).eval()
    assert got.dtype == np.einsum("ij,jk->ik", a, b).dtype
    np.testing.assert_array_equal(got, a @ b)


def test_builds_from_existing_ops_only():
    x, y = gc.tensor("x", (3, 4), "float64"), gc.tensor("y", (4, 5), "float64")
    names = {type(n.op).__name__ for n in gc.ir.toposort([gc.einsum("ij,jk->ki", x, y)])}
    assert names <= {"Input", "MatMul", "Reshape", "Transpose", "Reduce", "Elemwise", "BroadcastTo", "Constant"}


GRAD_CASES = ["ij,jk->ik", "ii->i", "...ij,...jk->...ik", "abc,cd,de->abe", "ij,ij->ij", "iij->ji", "bhqd,bhkd->bhqk"]


@pytest.mark.parametrize("subscripts", GRAD_CASES)
def test_gradients_by_finite_differences(subscripts):
    shapes = dict(CASES)[subscripts]
    check_grad(lambda *xs: gc.einsum(subscripts, *xs), _values(shapes, seed=1))


@pytest.mark.parametrize("subscripts", [s for s in GRAD_CASES if s != "ij,ij->ij"])
def test_values_and_gradients_match_torch(subscripts):
    torch = pytest.importorskip("torch", reason="torch is not installed: no cross-check against it")
    shapes = dict(CASES)[subscripts]
    match_torch(lambda *xs: gc.einsum(subscripts, *xs), lambda *ts: torch.einsum(subscripts, *ts),
                _values(shapes, seed=2))


@pytest.mark.parametrize("subscripts, shapes, error, message", [
    ("ij,jk->ik", [(3, 4), (5, 6)], gc.ShapeError,
     r"einsum: 'ij,jk->ik': label 'j' has size 4 in operand 0 \(3, 4\) and 5 in operand 1 \(5, 6\); sizes must be equal or 1"),
    ("ij,jk", [(3, 4)], ValueError, r"einsum: 'ij,jk' names 2 operands, got 1"),
    ("ijk", [(3, 4)], gc.ShapeError, r"einsum: operand 0 has shape \(3, 4\) \(rank 2\) but 'ijk' names 3 axes"),
    ("i", [(3, 4)], gc.ShapeError, r"einsum: operand 0 has shape \(3, 4\) \(rank 2\) but 'i' names 1 axes and has no \.\.\."),
    ("ij->iq", [(3, 4)], ValueError, r"einsum: 'ij->iq': output label 'q' is in no operand"),
    ("ij->ii", [(3, 4)], ValueError, r"einsum: 'ij->ii': output label 'i' appears more than once"),
    ("i1", [(3, 4)], ValueError, r"einsum: 'i1': '1' is not a label"),
    ("...i->i", [(2, 3)], ValueError, r"the operands have '\.\.\.' axes but the output has no '\.\.\.'"),
    ("ii", [(3, 4)], gc.ShapeError, r"label 'i' repeats in operand 0 \(3, 4\) with sizes 3 and 4"),
    ("ij->i->j", [(3, 4)], ValueError, r"has more than one '->'"),
])
def test_bad_subscripts_are_build_time_errors(subscripts, shapes, error, message):
    with pytest.raises(error, match=message):
        gc.einsum(subscripts, *[gc.tensor(f"x{k}", s, "float32") for k, s in enumerate(shapes)])


def test_sizes_must_be_known_when_built():
    with pytest.raises(gc.ShapeError, match=r"einsum: operand 1 has shape \(\?, 4\); einsum needs every size known"):
        gc.einsum("ij,jk", gc.tensor("a", (3, 4), "float32"), gc.tensor("b", (None, 4), "float32"))
