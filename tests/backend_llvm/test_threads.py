"""Thread count selection."""
import pytest

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
