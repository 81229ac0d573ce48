"""gc.cache: where compiled functions are stored, what the cache holds, clearing it,
all without loading LLVM."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import graphc as gc
from graphc.backend.diskcache import SUFFIXES, TEMP_PREFIX

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_directory_follows_the_environment(cache_dir, monkeypatch):
    assert gc.cache.directory() == cache_dir
    monkeypatch.delenv("GRAPHC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert str(gc.cache.directory()) == "/somewhere/graphc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert gc.cache.directory() == Path.home() / ".cache" / "graphc"


def test_info_counts_entries_and_clear_empties_the_cache(cache_dir):
    assert gc.cache.info() == gc.cache.CacheInfo(cache_dir, 0, 0)   # no directory yet
    assert gc.cache.clear() == 0
    x = gc.tensor("x", (3, 29), "float64")            # shapes no other test compiles in this process
    for f in (gc.exp(x) * 0.25, gc.log(x) * 0.75):
        gc.function([x], f, backend="llvm")(np.ones((3, 29)))
    stray = cache_dir / f"{TEMP_PREFIX}half-written{SUFFIXES['kernel']}"
    stray.write_bytes(b"...")
    (cache_dir / "unrelated.txt").write_text("kept")
    info = gc.cache.info()
    # one plan per function, and its kernel (the runner too, when this process compiled it here)
    assert info.functions == 2 and info.kernels >= 2 and info.entries == info.functions + info.kernels
    assert info.bytes > 0 and str(cache_dir) in str(info)
    assert gc.cache.clear() == info.entries
    assert gc.cache.info().entries == 0 and not stray.exists()
    assert (cache_dir / "unrelated.txt").exists()
    y = gc.tensor("y", (3,), "float64")                # code loaded in this process still runs
    np.testing.assert_allclose(gc.function([y], gc.exp(y), backend="llvm")(np.zeros(3)), 1.0)


def test_the_cache_module_does_not_load_llvm(tmp_path):
    code = ("import sys, graphc as gc; gc.cache.info(); gc.cache.clear(); gc.cache.directory(); "
            "print('llvmlite' in sys.modules)")
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path), "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
