"""gc.broadcast_to with None entries: keep the input's size on that axis (known when built
or only when run); the gradient sums back; clear errors where there is no size to keep."""
import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad


@pytest.mark.parametrize("declared", [(4, 1, 3), (None, 1, 3), (None, 1, None)], ids=str)
def test_none_keeps_the_input_size(declared):
    x = gc.tensor("x", declared, "float32")
    y = gc.broadcast_to(x, (2, None, 5, None))
    assert y.type.shape == (2, declared[0], 5, declared[2])
    value = np.random.default_rng(0).standard_normal((4, 1, 3)).astype("float32")
    np.testing.assert_array_equal(y.eval({x: value}), np.broadcast_to(value, (2, 4, 5, 3)))


def test_all_none_keeps_the_input():
    x = gc.tensor("x", (2, 3), "float32")
    assert gc.broadcast_to(x, (None, None)) is x
    assert gc.broadcast_to(x, (None, 3)) is x


def test_gradient_sums_over_the_broadcast_axes():
    check_grad(lambda x: gc.broadcast_to(x, (3, None, 4, None)), [np.random.default_rng(1).standard_normal((2, 1, 5))])
    check_grad(lambda x: gc.broadcast_to(x, (3, None, 4, None)), [np.random.default_rng(2).standard_normal((2, 1, 5))],
               shapes=[(None, 1, None)])


def test_none_where_the_input_has_no_axis_is_an_error():
    x = gc.tensor("x", (2, 3), "float32")
    with pytest.raises(gc.ShapeError, match=r"broadcast_to: target \(\?, 2, 3\) keeps \(None\) axis 0, "
                                            r"which the input \(2, 3\) does not have"):
        gc.broadcast_to(x, (None, 2, 3))
    with pytest.raises(gc.ShapeError, match=r"broadcast_to: cannot broadcast \(2, 3\) to \(4, 3\)"):
        gc.broadcast_to(x, (4, None))
