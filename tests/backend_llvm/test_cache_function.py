"""The disk cache of whole compiled functions, across fresh processes: a hit neither
simplifies nor builds, a corrupt entry is detected and rebuilt, concurrent processes
compiling one function leave one valid entry, an unwritable cache is no error."""
import os
import subprocess
import sys
import textwrap

from graphc.backend.llvm import cache

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Prints the phases the first call went through (see Inspector.compile_times).
SCRIPT = textwrap.dedent("""
    import sys, numpy as np, graphc as gc
    x = gc.tensor("x", (None, 5), "float64")
    w = gc.shared(np.linspace(-1.0, 1.0, 5), "w")
    f = gc.function([x], [gc.tanh(x * w).sum(axis=1), gc.log(gc.exp(x))], updates={w: w * 0.5},
                    simplify=sys.argv[1] == "simplify")
    xv = np.arange(15.0).reshape(3, 5) / 7
    total, same = f(xv)
    np.testing.assert_allclose(total, np.tanh(xv * np.linspace(-1.0, 1.0, 5)).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(same, xv, rtol=1e-12)
    np.testing.assert_allclose(w.get_value(), np.linspace(-0.5, 0.5, 5))
    print(",".join(f.inspect.compile_times()))
""")

HIT = ["key", "cache read", "load"]


def _start(cache_dir, mode="raw"):
    """A child compiling the function with gc.simplify (mode "simplify") or without (faster: no sympy)."""
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(cache_dir), "PYTHONPATH": ROOT}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, mode], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _phases(proc) -> list[str]:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    return out.strip().split(",")


def _entries(cache_dir):
    """The function entries (each kernel's object code is an entry of its own, *.obj)."""
    return sorted(p for p in cache_dir.glob("*.fn") if not p.name.startswith(".tmp"))


def test_a_fresh_process_loads_the_function_without_simplifying_or_building(cache_dir):
    cold = _phases(_start(cache_dir, "simplify"))
    assert {"simplify", "specialise", "lower", "emit", "optimise", "codegen"} <= set(cold)
    assert _phases(_start(cache_dir, "simplify")) == HIT
    assert "lower" in _phases(_start(cache_dir, "raw"))   # simplify=False is another entry
    assert len(_entries(cache_dir)) == 2


def test_a_corrupt_or_truncated_entry_is_detected_and_rebuilt(cache_dir):
    _phases(_start(cache_dir))
    (entry,) = _entries(cache_dir)
    key = entry.name.split(".")[0]
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    assert "lower" in _phases(_start(cache_dir))  # rebuilt, and the results checked
    assert cache.get(key, "function") is not None  # a valid entry again
    entry.write_bytes(entry.read_bytes()[:100])
    assert "lower" in _phases(_start(cache_dir))
    assert cache.get(key, "function") is not None


def test_concurrent_processes_compiling_one_function_leave_one_valid_entry(cache_dir):
    procs = [_start(cache_dir) for _ in range(3)]
    for p in procs:
        _phases(p)
    (entry,) = _entries(cache_dir)
    assert cache.get(entry.name.split(".")[0], "function") is not None
    assert not list(cache_dir.glob(".tmp*"))


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert "lower" in _phases(_start(blocker / "cache"))


def test_another_functions_entry_copied_over_this_ones_name_is_a_miss(cache_dir):
    _phases(_start(cache_dir, "raw"))
    _phases(_start(cache_dir, "simplify"))                     # a second function entry
    first, second = _entries(cache_dir)
    first.write_bytes(second.read_bytes())                     # valid bytes, under the wrong name
    for mode in ("raw", "simplify"):                           # whichever was overwritten is rebuilt
        _phases(_start(cache_dir, mode))
    assert all(cache.get(e.name.split(".")[0], "function") is not None for e in _entries(cache_dir))
