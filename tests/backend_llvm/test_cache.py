"""The on-disk object cache: hits, corrupt entries, concurrent processes, clear."""
import os
import subprocess
import sys
import textwrap

import numpy as np

from graphc.backend.llvm import cache, clear_cache, compile_program
from graphc.backend.llvm.kernels.fused import elementwise_kernel
from graphc.backend.llvm.loopir import Buffer, Program, Un
from graphc.backend.llvm.runtime import kernel_cache_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from graphc.backend.llvm import compile_program
    from graphc.backend.llvm.kernels.fused import elementwise_kernel
    from graphc.backend.llvm.loopir import Buffer, Program, Un
    n = int(sys.argv[1])
    a, o = Buffer("a", "float32", (n,)), Buffer("o", "float32", (n,))
    fn = compile_program(Program("t", (a, o), (elementwise_kernel(o, [a], lambda l: Un("exp", l[0])),)))
    x = np.linspace(-1, 1, n, dtype=np.float32); y = np.empty_like(x); fn(x, y)
    assert np.allclose(y, np.exp(x), rtol=1e-6)
    print("cached" if fn.from_cache else "compiled")
""")


def _child(n, env):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(n)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _env(cache_dir):
    return {**os.environ, "GRAPHC_CACHE_DIR": str(cache_dir), "PYTHONPATH": ROOT}


def _program(n):
    a, o = Buffer("a", "float32", (n,)), Buffer("o", "float32", (n,))
    return Program("t", (a, o), (elementwise_kernel(o, [a], lambda l: Un("exp", l[0])),))


def test_second_process_loads_from_cache(cache_dir):
    outs = []
    for _ in range(2):
        p = _child(41, _env(cache_dir))
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip())
    assert outs == ["compiled", "cached"]


def test_corrupt_entry_is_detected_and_rebuilt(cache_dir):
    key = kernel_cache_key(_program(43).calls[0].key)
    p = _child(43, _env(cache_dir))
    assert p.communicate(timeout=120) and p.returncode == 0
    (entry,) = cache_dir.glob(f"{key}*")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert cache.get(key) is None and not entry.exists()
    entry.write_bytes(b"truncated")
    p = _child(43, _env(cache_dir))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert out.strip() == "compiled" and cache.get(key) is not None


def test_concurrent_processes_share_one_valid_entry(cache_dir):
    procs = [_child(47, _env(cache_dir)) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    key = kernel_cache_key(_program(47).calls[0].key)
    entries = [e for e in cache_dir.iterdir() if not e.name.startswith(".tmp")]
    assert len(entries) == 2 and f"{key}.obj" in {e.name for e in entries}   # the kernel and the runner
    assert cache.get(key) is not None
    assert not list(cache_dir.glob(".tmp*"))


def test_clear_empties_the_cache(cache_dir):
    compile_program(_program(53))
    assert any(cache_dir.iterdir())
    assert clear_cache() >= 1   # the kernel (and the runner, if this process compiled it here)
    assert not any(cache_dir.iterdir())


def test_cache_dir_follows_environment(cache_dir, monkeypatch):
    assert cache.cache_dir() == cache_dir
    monkeypatch.delenv("GRAPHC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-xdg")
    assert str(cache.cache_dir()) == "/nonexistent-xdg/graphc"


def test_inspection_gives_ir_and_assembly():
    fn = compile_program(_program(59))
    assert "define" in fn.llvm_ir(optimized=False) and "fma" in fn.llvm_ir()
    assert "vfmadd" in fn.assembly() or "vmul" in fn.assembly()
    x = np.zeros(59, np.float32)
    y = np.empty_like(x)
    fn(x, y)
    assert np.all(y == 1)


def test_entries_follow_the_umask_so_a_group_can_share_the_cache(cache_dir):
    old = os.umask(0o002)
    try:
        cache.put("a" * 64, b"payload")
    finally:
        os.umask(old)
    (entry,) = cache_dir.glob("a*")
    assert entry.stat().st_mode & 0o777 == 0o664
