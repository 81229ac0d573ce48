"""Compiled functions are safe to compile and call from many Python threads at once: first
calls racing (one function, many shapes), different functions compiling together, and one
compiled function called concurrently many times. Each scenario runs in a subprocess, so a
crash fails the test instead of killing the run."""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PRELUDE = textwrap.dedent("""
    import threading, numpy as np, graphc as gc
    errors = []

    def run_all(targets):
        def guarded(fn):
            def body():
                try:
                    fn()
                except BaseException as exc:          # reported below, so the test sees it
                    errors.append(repr(exc))
            return body
        threads = [threading.Thread(target=guarded(t)) for t in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
""")

SCENARIOS = {
    # the reproducer: first calls of one function with eight shapes at once
    "first calls": """
        x = gc.tensor("x", (None, 16))
        f = gc.function([x], gc.tanh(x * 2.0).sum(axis=1))
        def call(n):
            got = f(np.ones((n, 16), np.float32))
            np.testing.assert_allclose(got, np.full(n, 16 * np.tanh(2.0)), rtol=1e-5)
        run_all([lambda n=n: call(n) for n in range(1, 9)])
    """,
    # eight different functions (different kernels) compiling together
    "different functions": """
        def build_and_call(k):
            x = gc.tensor("x", (3, 5 + k))
            w = gc.shared(np.full((5 + k, 4), 0.5, np.float32))
            f = gc.function([x], gc.nn.softmax(gc.sigmoid(x @ w + float(k)), axis=1))
            got = f(np.ones((3, 5 + k), np.float32))
            np.testing.assert_allclose(got, np.full((3, 4), 0.25), rtol=1e-5)
        run_all([lambda k=k: build_and_call(k) for k in range(8)])
    """,
    # one compiled function called from eight threads, many times, each checking its answer
    "one function, many calls": """
        x = gc.tensor("x", (None, 33))
        f = gc.function([x], [gc.exp(x).sum(axis=1), x * 3.0])
        f(np.zeros((2, 33), np.float32))
        def hammer(seed):
            rng = np.random.default_rng(seed)
            for _ in range(300):
                xv = rng.standard_normal((int(rng.integers(1, 9)), 33)).astype(np.float32)
                total, tripled = f(xv)
                np.testing.assert_allclose(total, np.exp(xv).sum(axis=1), rtol=1e-5)
                np.testing.assert_array_equal(tripled, xv * 3.0)
        run_all([lambda s=s: hammer(s) for s in range(8)])
    """,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("threads", ["1", "2"])
def test_threads_compile_and_call_safely(scenario, threads, cache_dir):
    code = PRELUDE + textwrap.dedent(SCENARIOS[scenario]) + "\nprint('ok')\n"
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(cache_dir), "PYTHONPATH": ROOT, "GRAPHC_NUM_THREADS": threads}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() == "ok"
