"""`function` hands its backend the graph as built and the simplifier as a step: the numpy
backend simplifies at once, the llvm backend only when compiled code is not cached, once
per function whatever the number of signatures."""
import numpy as np
import pytest

import graphc as gc
from graphc.function import prepare


@pytest.fixture
def simplify_calls(monkeypatch):
    calls = []

    def counting(outputs):
        calls.append(len(outputs))
        return gc.simplify(outputs)

    monkeypatch.setattr(prepare, "simplify", counting)
    return calls


def test_the_numpy_backend_simplifies_when_the_function_is_made(simplify_calls):
    x = gc.tensor("x", (None,), "float64")
    f = gc.function([x], [gc.log(gc.exp(x)), x * 2], backend="numpy")
    assert simplify_calls == [2]
    np.testing.assert_array_equal(f(np.array([1000.0]))[0], [1000.0])   # the simplified, finite form


def test_the_llvm_backend_simplifies_at_the_first_build_only(simplify_calls, monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))       # nothing cached from earlier runs
    x = gc.tensor("x", (None,), "float64")
    w = gc.shared(np.array(0.5), "w")
    f = gc.function([x], gc.log(gc.exp(x)) * w, updates={w: w + 1}, backend="llvm")
    assert simplify_calls == []
    for n in (3, 5, 3):
        np.testing.assert_array_equal(f(np.full(n, 1000.0)), np.full(n, 1000.0) * (w.get_value() - 1))
    assert simplify_calls == [2]                      # the loss and the update, once for both signatures
    raw = gc.function([x], gc.log(gc.exp(x)), backend="llvm", simplify=False)
    with np.errstate(over="ignore"):
        assert np.isinf(raw(np.array([1000.0]))[0])
    assert simplify_calls == [2]


def test_the_simplifier_is_named_in_the_cache_key():
    step = prepare.Simplifier()
    assert step.key.startswith("simplify") and "sympy" in step.key
    x = gc.tensor("x", (2,), "float64")
    assert step([gc.log(gc.exp(x))]) == [x]
