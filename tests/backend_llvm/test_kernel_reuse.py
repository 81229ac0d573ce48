"""Identical kernels compile once: inside a function (counted, not timed), across functions
of one process, and across processes through the per-kernel disk cache; a damaged, swapped or
foreign kernel entry is a miss that is rebuilt, never an error or a wrong kernel."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm import cache
from graphc.backend.llvm.runtime import runner_cache_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _mlp_step(layers: int, width: int = 24, batch: int = 5):
    rng = np.random.default_rng(layers)
    x = gc.tensor("x", (None, width))
    y = gc.tensor("y", (None,), "int64")
    params, h = [], x
    for k in range(layers):
        w = gc.shared((rng.standard_normal((width, width)) * 0.3).astype(np.float32), name=f"w{k}")
        b = gc.shared(np.zeros(width, np.float32), name=f"b{k}")
        params += [w, b]
        h = gc.tanh(h @ w + b)
    loss = gc.nn.cross_entropy(h, y)
    grads = gc.grad(loss, params)
    args = (rng.standard_normal((batch, width)).astype(np.float32), rng.integers(0, width, batch))
    return [x, y], [loss, *grads], args


def _counts(f):
    return f.inspect.compile_times().counts


def test_a_deep_stack_of_identical_layers_compiles_each_distinct_kernel_once():
    counts = {}
    for layers in (2, 7):
        inputs, outputs, args = _mlp_step(layers)
        f = gc.function(inputs, outputs, backend="llvm")
        got = f(*args)
        want = gc.function(inputs, outputs, backend="numpy")(*args)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
        counts[layers] = _counts(f)
    deep, shallow = counts[7], counts[2]
    assert deep["calls"] > 2 * shallow["calls"]                  # many more kernel calls ...
    assert deep["distinct"] <= shallow["distinct"] + 2           # ... of hardly more kernels
    assert deep["reused"] == deep["calls"] - deep["distinct"] >= 5 * 4
    assert deep["compiled"] + deep["in process"] + deep["loaded"] == deep["distinct"]


def test_a_second_function_reuses_the_kernels_already_loaded():
    inputs, outputs, args = _mlp_step(3, width=20)
    gc.function(inputs, outputs, backend="llvm")(*args)
    inputs, outputs, args = _mlp_step(4, width=20)                     # one layer more: the same kernels
    deeper = gc.function(inputs, outputs, backend="llvm")
    for a, b in zip(deeper(*args), gc.function(inputs, outputs, backend="numpy")(*args)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    counts = _counts(deeper)
    assert counts["in process"] >= 1 and counts["compiled"] < counts["distinct"]


# ---------------------------------------------------------------- across processes

SCRIPT = textwrap.dedent("""
    import sys, json, numpy as np, graphc as gc
    sys.path.insert(0, {tests!r})
    from backend_llvm.test_kernel_reuse import _mlp_step
    inputs, outputs, args = _mlp_step(3 if sys.argv[1] == "train" else 4, width=20)
    f = gc.function(inputs, outputs, backend="llvm")
    got = f(*args)
    want = gc.function(inputs, outputs, backend="numpy")(*args)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    print(json.dumps(f.inspect.compile_times().counts))
""").format(tests=os.path.join(ROOT, "tests"))


def _run(cache_dir, which: str) -> dict:
    import json
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(cache_dir), "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", SCRIPT, which], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _kernel_entries(cache_dir):
    """The kernels' entries (not the runner's, which any function loads)."""
    return sorted(p for p in cache_dir.glob("*.obj")
                  if not p.name.startswith(".tmp") and not p.name.startswith(runner_cache_key()))


def test_another_process_loads_shared_kernels_from_the_kernel_cache(cache_dir):
    cold = _run(cache_dir, "train")
    assert cold["compiled"] == cold["distinct"] and cold["loaded"] == 0
    other = _run(cache_dir, "deeper")            # another function (one layer more): most kernels cached
    assert other["loaded"] >= 1 and other["compiled"] < other["distinct"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "swap", "foreign"])
def test_a_damaged_kernel_entry_is_a_miss_that_is_rebuilt(cache_dir, damage):
    _run(cache_dir, "train")
    entries = _kernel_entries(cache_dir)
    victim = entries[0]
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:200])
    elif damage == "flip":
        data = bytearray(victim.read_bytes())
        data[-50] ^= 0x10
        victim.write_bytes(bytes(data))
    elif damage == "swap":                        # a valid entry of another kernel under this name
        victim.write_bytes(entries[1].read_bytes())
    else:
        victim.write_bytes(cache.MAGIC + os.urandom(32) + b"\x7fELF" + os.urandom(400))
    again = _run(cache_dir, "train")             # the function entry hits; one kernel must be rebuilt
    assert again["compiled"] == 1 and again["compiled"] + again["loaded"] == again["distinct"]
    key = victim.name.split(".")[0]
    assert cache.get(key) is not None            # a valid entry again
    assert _run(cache_dir, "train")["compiled"] == 0


def test_a_recurrence_over_slices_runs_one_kernel_for_every_step():
    counts = {}
    for steps in (2, 6):
        xs = gc.tensor("xs", (steps, 4, 12))
        w = gc.shared(np.linspace(-0.5, 0.5, 12 * 12, dtype=np.float32).reshape(12, 12), "w")
        h = gc.tanh(xs[0] @ w)
        for t in range(1, steps):
            h = gc.tanh(xs[t] @ w + h)         # reads xs[t]: another offset into xs each step
        outputs = [h]
        f = gc.function([xs], outputs, backend="llvm")
        value = np.random.default_rng(steps).standard_normal((steps, 4, 12)).astype(np.float32)
        for a, b in zip(f(value), gc.function([xs], outputs, backend="numpy")(value)):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
        counts[steps] = _counts(f)
    assert counts[6]["calls"] == counts[2]["calls"] + 4
    assert counts[6]["distinct"] <= counts[2]["distinct"] + 1     # the simplifier may order one step's add apart


def test_kernels_compile_on_helper_processes_and_a_failing_helper_costs_nothing(monkeypatch):
    from graphc.backend.llvm import helpers
    inputs, outputs, args = _mlp_step(2, width=28, batch=3)
    want = gc.function(inputs, outputs, backend="numpy")(*args)
    with_helpers = gc.function(inputs, outputs, backend="llvm", threads=2)
    for a, b in zip(with_helpers(*args), want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    counts = _counts(with_helpers)
    assert counts["compiled"] >= 4 and counts["by helpers"] >= 1

    monkeypatch.setattr(helpers.Helper, "compile", lambda self, job: None)      # every helper fails
    inputs, outputs, args = _mlp_step(2, width=29, batch=3)
    failing = gc.function(inputs, outputs, backend="llvm", threads=2)
    for a, b in zip(failing(*args), gc.function(inputs, outputs, backend="numpy")(*args)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    counts = _counts(failing)
    assert counts["compiled"] >= 4 and counts["by helpers"] == 0


def test_helpers_run_the_parents_graphc_whatever_the_working_directory_holds(tmp_path):
    """A helper started where another graphc lies (a user's checkout) must still run the
    parent's: kernels another emitter made would be cached under this code's keys."""
    impostor = tmp_path / "graphc"
    impostor.mkdir()
    (impostor / "__init__.py").write_text("raise ImportError('the graphc of the working directory')\n")
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, {tests!r})
        sys.path.insert(0, {root!r})
        from backend_llvm.test_kernel_reuse import _counts, _mlp_step
        import graphc as gc
        inputs, outputs, args = _mlp_step(2, width=31, batch=3)
        f = gc.function(inputs, outputs, backend="llvm", threads=2)
        f(*args)
        print(_counts(f)["by helpers"])
    """).format(tests=str(Path(__file__).parents[1]), root=str(Path(gc.__file__).parents[1]))
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) >= 1


def test_a_helper_of_other_code_exits_and_the_parent_compiles_alone():
    from graphc.backend.llvm import helpers
    pool = helpers.Pool()
    try:
        (helper,) = pool.start(1, b"not this build")
        assert helper.proc.wait(timeout=60) == 0         # it read the identity and left
        assert helper.compile(("any", "job")) is None
    finally:
        pool.close()


def test_a_function_compiles_to_the_same_kernels_in_every_process(tmp_path):
    """Kernel keys must not depend on hash seeds (set order) or the machine's load: the disk
    cache shares kernels between processes by them."""
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, {tests!r})
        from backend_llvm.test_kernel_reuse import _mlp_step
        import graphc as gc
        inputs, outputs, args = _mlp_step(3, width=20)
        f = gc.function(inputs, outputs, backend="llvm")
        f(*args)
        print(" ".join(c.key for c in f.inspect.program().calls))
    """).format(tests=os.path.join(ROOT, "tests"))
    keys = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path / seed), "PYTHONPATH": ROOT, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        keys.add(out.stdout.strip())
    assert len(keys) == 1


def test_a_fresh_cache_gets_the_runner_from_the_build_that_needed_it(tmp_path):
    """With no runner on the host, a build compiles it among its kernels (a helper's first
    job when there are helpers) and stores it, so linking only loads it."""
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, {tests!r})
        from backend_llvm.test_kernel_reuse import _mlp_step
        from graphc.backend.llvm import cache, runtime
        import graphc as gc
        seen = []
        original = runtime.Linked.__init__
        def linked(self, *args):
            seen.append(cache.exists(runtime.runner_cache_key()))
            original(self, *args)
        runtime.Linked.__init__ = linked
        inputs, outputs, args = _mlp_step(2, width=27, batch=3)
        f = gc.function(inputs, outputs, backend="llvm", threads={threads})
        f(*args)
        print(seen, f.inspect.compile_times().counts["compiled"])
    """)
    for threads in (1, 2):
        env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path / str(threads)), "PYTHONPATH": ROOT}
        out = subprocess.run([sys.executable, "-c", code.format(tests=os.path.join(ROOT, "tests"), threads=threads)],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        seen, compiled = out.stdout.rsplit(" ", 1)
        assert seen == "[True]" and int(compiled) >= 4     # the runner is no kernel: not counted


def test_a_warm_start_loads_no_compiler(tmp_path):
    """A function found in the disk cache is loaded and run without importing the lowering,
    the loop IR or the emitter: a warm start costs the key, file reads and loading."""
    code = textwrap.dedent("""
        import sys, numpy as np
        sys.path.insert(0, {tests!r})
        from backend_llvm.test_kernel_reuse import _mlp_step
        import graphc as gc
        inputs, outputs, args = _mlp_step(2, width=23, batch=3)
        f = gc.function(inputs, outputs, backend="llvm")
        f(*args)
        compiler = ("build", "loopir", "emitter", "partition", "inspect", "lower.table")
        print(sorted(m for m in compiler if "graphc.backend.llvm." + m in sys.modules))
    """).format(tests=os.path.join(ROOT, "tests"))
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path), "PYTHONPATH": ROOT}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=300) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    cold, warm = (r.stdout.strip().splitlines()[-1] for r in runs)
    assert "build" in cold and warm == "[]"
