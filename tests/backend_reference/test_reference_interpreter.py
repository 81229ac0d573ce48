"""The numpy interpreter: values fed to `evaluate` must fit their nodes, and sizes known
only when run are checked by each op's own type rule, with the errors it gives at build time."""
import numpy as np
import pytest

import graphc as gc


def test_evaluate_refuses_values_that_do_not_fit_the_node():
    z = gc.tensor("z", (4,))
    with pytest.raises(gc.ShapeError, match=r"evaluate: 'z' is f32\[4\], got a value of shape \(5,\)"):
        (z * 2).eval({z: np.ones(5)})
    with pytest.raises(gc.ShapeError, match=r"evaluate: 'z' is f32\[4\], got a value of shape \(4, 1\)"):
        (z * 2).eval({z: np.ones((4, 1))})
    n = gc.tensor("n", (2,), "int64")
    with pytest.raises(gc.DTypeError, match=r"evaluate: 'n' is i64\[2\]; values of dtype float64 would change kind"):
        (n + 1).eval({n: [1.5, 2.0]})
    np.testing.assert_array_equal((z * 2).eval({z: [1, 2, 3, 4]}), [2.0, 4.0, 6.0, 8.0])  # ints to float: kept


@pytest.mark.parametrize("build, values, message", [
    (lambda a, b: a + b, [np.ones(3), np.ones(4)], r"add: shapes \(3,\) and \(4,\) do not broadcast"),
    (lambda a, b: a.reshape(2, -1) + 0 * b.sum(), [np.ones(3), np.ones(4)], r"reshape: cannot reshape \(3,\) into \(2, -1\)"),
    (lambda a, b: a[5] + b.sum(), [np.ones(3), np.ones(4)], r"getitem: index 5 is out of bounds for axis 0 of size 3"),
])
def test_run_time_sizes_meet_the_build_time_checks(build, values, message):
    a, b = gc.tensor("a", (None,), "float64"), gc.tensor("b", (None,), "float64")
    with pytest.raises(gc.ShapeError, match=message):
        build(a, b).eval({a: values[0], b: values[1]})


def test_matmul_and_conv_sizes_checked_when_run():
    a, b = gc.tensor("a", (2, None)), gc.tensor("b", (None, 4))
    with pytest.raises(gc.ShapeError, match=r"matmul: inner dimensions differ in \(2, 3\) @ \(5, 4\): 3 != 5"):
        (a @ b).eval({a: np.ones((2, 3)), b: np.ones((5, 4))})
    x, w = gc.tensor("x", (None, 3, None, None)), gc.tensor("w", (2, 3, 3, 3))
    with pytest.raises(gc.ShapeError, match=r"conv2d: the kernel \(3, 3\) is larger than the padded input \(2, 2\) "
                                            r"\(input \(1, 3, 2, 2\), weight \(2, 3, 3, 3\)\)"):
        gc.nn.conv2d(x, w).eval({x: np.ones((1, 3, 2, 2)), w: np.ones((2, 3, 3, 3))})
