"""gc.einsum compiled by the llvm backend (it becomes transposes, reshapes, matmuls,
products and sums, so no lowering of its own) against the numpy reference, float32 and
float64, at odd shapes, with gradients."""
import pytest

import graphc as gc

from .graph_check import check, rand

CASES = [
    ("ij,jk->ik", [(3, 7), (7, 5)]), ("ii->i", [(5, 5)]), ("...ij,...jk->...ik", [(2, 1, 3, 7), (5, 7, 3)]),
    ("abc,cd,de->abe", [(2, 3, 7), (7, 5), (5, 3)]), ("ij,ij->ij", [(3, 1), (3, 7)]), ("iij->ji", [(3, 3, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 5, 7), (2, 3, 9, 7)]), ("i,j->ij", [(7,), (5,)]), ("ijk->", [(3, 5, 7)]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("subscripts, shapes", CASES, ids=[c[0] for c in CASES])
def test_einsum_and_its_gradients(subscripts, shapes, dtype, rng):
    xs = [gc.tensor(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
    y = gc.einsum(subscripts, *xs)
    grads = gc.grad(gc.sum(gc.sin(y)), xs)
    check(xs, [y] + grads, [rand(rng, s, dtype) for s in shapes], scale=10)
