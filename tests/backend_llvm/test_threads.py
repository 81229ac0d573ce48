"""Thread count selection."""
import pytest

import graphc as gc

from graphc.backend.llvm import default_threads


def test_environment_overrides_thread_count(monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("GRAPHC_NUM_THREADS")
    assert default_threads() >= 1


def test_bad_environment_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "abc")
    with pytest.raises(ValueError, match="GRAPHC_NUM_THREADS='abc'.*positive integer"):
        default_threads()


@pytest.mark.parametrize("count", [0, -1])
def test_a_thread_count_below_one_is_refused_not_read_as_one(count):
    x = gc.tensor("x", (3,))
    with pytest.raises(ValueError, match="threads=.*positive integer"):
        gc.function([x], x * 2.0, backend="llvm", threads=count)
