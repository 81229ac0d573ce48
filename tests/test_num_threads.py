"""gc.num_threads: GRAPHC_NUM_THREADS when it is a positive integer, a clear error otherwise."""
import subprocess
import sys

import pytest

import graphc as gc
from graphc.backend.threads import available_cores, positive_threads


def test_environment_sets_the_count(monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "3")
    assert gc.num_threads() == 3
    monkeypatch.setenv("GRAPHC_NUM_THREADS", " 2 ")
    assert gc.num_threads() == 2


@pytest.mark.parametrize("value", ["", "  "])
def test_unset_or_empty_means_every_usable_core(monkeypatch, value):
    monkeypatch.delenv("GRAPHC_NUM_THREADS", raising=False)
    assert gc.num_threads() == available_cores() >= 1
    monkeypatch.setenv("GRAPHC_NUM_THREADS", value)
    assert gc.num_threads() == available_cores()


@pytest.mark.parametrize("value", ["abc", "0", "-1", "2.5", "1e3"])
def test_bad_values_are_refused_naming_the_variable_and_value(monkeypatch, value):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", value)
    with pytest.raises(ValueError, match=rf"GRAPHC_NUM_THREADS='{value}'.*positive integer"):
        gc.num_threads()


@pytest.mark.parametrize("value", [0, -2, True, 1.0, "x", None])
def test_positive_threads_refuses_what_is_not_a_positive_int(value):
    with pytest.raises(ValueError, match="threads=.*positive integer"):
        positive_threads(value, "threads")


def test_reading_the_count_does_not_load_llvm():
    code = "import sys, graphc as gc; gc.num_threads(); print('llvmlite' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
