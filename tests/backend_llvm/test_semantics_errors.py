"""Where numpy raises, the compiled function raises too: kernels record a failed
run-time check (loop IR `Check`) and the call ends in a ValueError naming the op."""
import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.kernels.fused import elementwise_kernel
from graphc.backend.llvm.loopir import Buffer, Program, check, const
from graphc.backend.llvm.runtime import compile_program

NEGATIVE_POWER = "pow: integers to negative integer powers are not allowed"


def _both_raise(inputs, outputs, values, match, numpy_match=None):
    """The numpy reference and the llvm backend both raise ValueError."""
    for backend, pattern in (("numpy", numpy_match), ("llvm", match)):
        f = gc.function(inputs, outputs, backend=backend, simplify=False)
        with pytest.raises(ValueError, match=pattern):
            f(*values)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("bad", [0, 20, 36])   # a vector lane near either end, and the scalar tail
def test_integer_power_with_a_negative_exponent_raises(dtype, bad):
    a, b = gc.tensor("a", (37,), dtype), gc.tensor("b", (37,), dtype)
    av, bv = np.arange(37, dtype=dtype) - 3, np.full(37, 2, dtype)
    bv[bad] = -1
    bv[bad + 1:bad + 3] = -7                      # the first failing element is reported
    _both_raise([a, b], [a ** b], [av, bv], NEGATIVE_POWER + rf" \({dtype} exponent -1\)")
    _both_raise([a], [a ** -2], [av], NEGATIVE_POWER + r".*exponent -2")
    np.testing.assert_array_equal(gc.function([a, b], a ** b)(av, bv * 0 + 3), av ** 3)


@pytest.mark.parametrize("label_dtype", ["int32", "int64"])
@pytest.mark.parametrize("bad", [-1, 5, 2**31 - 1])
def test_one_hot_label_out_of_range_raises(label_dtype, bad):
    x, y = gc.tensor("x", (7, 5), "float32"), gc.tensor("y", (7,), label_dtype)
    xv, yv = np.zeros((7, 5), np.float32), np.array([0, 1, 2, 3, 4, 0, 1], label_dtype)
    good = gc.function([x, y], [gc.nn.one_hot(y, 5), gc.nn.cross_entropy(x, y)])(xv, yv)
    np.testing.assert_array_equal(good[0], np.eye(5, dtype=np.float32)[yv])
    yv[3] = bad
    match = rf"one_hot: label {bad} is outside \[0, 5\)"
    _both_raise([y], [gc.nn.one_hot(y, 5)], [yv], match, match)              # numpy's message
    _both_raise([x, y], [gc.nn.cross_entropy(x, y)], [xv, yv], match, match)  # fused into the loss


def test_a_failed_call_applies_no_update_and_the_next_call_starts_clean():
    w = gc.shared(np.zeros(3), name="w")
    a, b = gc.tensor("a", (3,), "int64"), gc.tensor("b", (3,), "int64")
    step = gc.function([a, b], a ** b, updates={w: w + 1})
    good, bad = np.array([2, 3, 4]), np.array([1, -1, 2])
    with pytest.raises(ValueError, match=NEGATIVE_POWER):
        step(good, bad)
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))
    np.testing.assert_array_equal(step(good, good), good ** good)
    np.testing.assert_array_equal(w.get_value(), np.ones(3))
    with pytest.raises(ValueError, match=NEGATIVE_POWER):
        step(good, bad)


def test_a_check_failing_in_another_thread_is_reported():
    """A large one_hot runs its loop over threads; the bad label is in the last chunk."""
    n = 1 << 18
    y = gc.tensor("y", (n,), "int64")
    f = gc.function([y], gc.nn.one_hot(y, 7), threads=2)
    yv = np.arange(n) % 7
    assert f(yv).sum() == n
    yv[-2] = 7
    with pytest.raises(ValueError, match=r"one_hot: label 7 is outside \[0, 7\)"):
        f(yv)


def test_compiled_programs_raise_the_message_of_the_failed_check():
    x, out = Buffer("x", "float64", (19,)), Buffer("out", "float64", (19,))
    kernel = elementwise_kernel(out, [x], lambda loads: check(loads[0].lt(const(0.0)), "demo: x = {} < 0",
                                                              loads[0], loads[0]))
    f = compile_program(Program("checked", (x, out), (kernel,)))
    xv, got = np.arange(19.0), np.empty(19)
    f(xv, got)
    np.testing.assert_array_equal(got, xv)
    xv[11:13] = [-4.5, -3]
    with pytest.raises(ValueError, match="demo: x = -4 < 0"):
        f(xv, got)


@pytest.mark.parametrize("op", [lambda x: gc.argmax(x, 0), gc.argmax, lambda x: gc.logsumexp(x, 0),
                                lambda x: gc.nn.softmax(x, 0), lambda x: gc.nn.log_softmax(x, 0)])
def test_a_maximum_over_an_empty_axis_raises(op):
    x = gc.tensor("x", (None, 3), "float32")
    _both_raise([x], [op(x)], [np.zeros((0, 3), np.float32)], "zero-size axis 0 has no maximum")
    assert gc.function([x], op(x))(np.ones((2, 3), np.float32)).size
