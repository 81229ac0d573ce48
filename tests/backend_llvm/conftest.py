"""Every test gets its own object cache directory."""
import pytest


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(path))
    return path
