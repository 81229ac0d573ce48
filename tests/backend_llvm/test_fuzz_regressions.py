"""Bugs the differential fuzzer (tests/fuzz) found in the llvm backend, each as the smallest
graph that showed it."""
import numpy as np
import pytest

import graphc as gc

from .graph_check import check


@pytest.mark.parametrize("fn", [
    lambda z: gc.nn.softmax(z, axis=1),
    lambda z: gc.nn.log_softmax(z, axis=1),
    lambda z: gc.logsumexp(z, axis=1),
])
def test_softmax_family_of_a_product_sees_one_value_of_it(fn):
    """x = a * b was rounded in the max pass but contracted into a multiply-add in x - max,
    so x - max was the product's rounding error, not 0: exp of it overflowed or vanished
    (nan, inf or -inf for a * b ~ 1e10 in float32), and the probabilities of near-equal
    large logits differed from numpy's by 1%."""
    a, b = gc.tensor("a", (2, 4)), gc.tensor("b", (2, 4))
    big = np.array([[1e10, 1.0, 2.0, 3.0], [2.2706808e18, 1.0, 2.0, 3.0]], "f4")
    factor = np.array([[0.4524, 1.0, 1.0, 1.0], [0.632266, 0.5659279, 0.3332774, 0.49216914]], "f4")
    close = np.array([[1000.0017700195312, 1000.0001220703125, 1000.0006713867188, 1000.0003051757812]] * 2, "f4")
    for av, bv in ((big, factor), (close, np.full((2, 4), 1000.7, "f4"))):
        (got,) = check([a, b], [fn(a * b)], [av, bv])
        assert np.isfinite(got).all()


def test_log_softmax_of_one_element_is_zero():
    v = gc.tensor("v", (1, 1))
    f = gc.function([v], gc.nn.log_softmax(v / 3.0, axis=1))
    for x in (9.011696, 3.0, 0.1):
        assert f(np.array([[x]], "f4"))[0, 0] == 0.0
