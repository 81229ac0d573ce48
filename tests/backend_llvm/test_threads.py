"""Thread count selection."""
from graphc.backend.llvm import default_threads


def test_environment_overrides_thread_count(monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("GRAPHC_NUM_THREADS")
    assert default_threads() >= 1
