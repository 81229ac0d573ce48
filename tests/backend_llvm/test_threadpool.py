"""The native worker pool (threadpool.py): parallel loops give the 1-thread results, the pool
survives many short calls, concurrent callers and fork, and a process starts its workers once.

Each scenario that could crash runs in a subprocess, so that a crash fails the test instead
of the run."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphc as gc

SCRIPT_PRELUDE = """
import os, sys
import numpy as np
import graphc as gc

def step(width, batch=64):
    rng = np.random.default_rng(width)
    x = gc.tensor("x", (batch, 3, width, width))
    w = gc.constant(rng.standard_normal((8, 3, 3, 3)).astype(np.float32))
    y = gc.nn.max_pool2d(gc.relu(gc.nn.conv2d(x, w, padding=1)), 2, 2)
    value = rng.standard_normal((batch, 3, width, width)).astype(np.float32)
    return gc.function([x], y, backend="llvm", threads=2), gc.function([x], y, backend="numpy"), value
"""


def _run(body: str) -> str:
    code = SCRIPT_PRELUDE + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.mark.parametrize("width", [5, 13, 32])
def test_two_threads_agree_with_one_thread_and_the_reference(width):
    rng = np.random.default_rng(width)
    x = gc.tensor("x", (None, 3, width, width + 1))
    w = gc.constant(rng.standard_normal((7, 3, 3, 2)).astype(np.float32))
    y = gc.nn.conv2d(x, w, padding="same").sum(axis=1)
    value = rng.standard_normal((9, 3, width, width + 1)).astype(np.float32)
    one = gc.function([x], y, backend="llvm", threads=1)(value)
    two = gc.function([x], y, backend="llvm", threads=2)(value)
    np.testing.assert_array_equal(one, two)          # the same iterations, whoever runs them
    np.testing.assert_allclose(two, gc.function([x], y, backend="numpy")(value), rtol=1e-4, atol=1e-4)


def test_many_short_calls_on_the_pool():
    out = _run("""
        f, ref, value = step(32)
        want = ref(value)
        f(value)
        assert "parallel" in f.inspect.loop_ir()
        for _ in range(500):
            got = f(value)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        print("ok")
    """)
    assert out.split()[-1] == "ok"


def test_a_forked_child_starts_its_own_workers():
    out = _run("""
        f, ref, value = step(32)
        want = ref(value)
        np.testing.assert_allclose(f(value), want, rtol=1e-5, atol=1e-5)   # the parent's pool starts
        pid = os.fork()
        if pid == 0:                                                         # its workers are not here
            ok = all(np.allclose(f(value), want, rtol=1e-5, atol=1e-5) for _ in range(20))
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        np.testing.assert_allclose(f(value), want, rtol=1e-5, atol=1e-5)   # and the parent's still work
        print("ok")
    """)
    assert out.split()[-1] == "ok"


def test_concurrent_callers_share_the_pool_and_get_their_own_results():
    out = _run("""
        import threading
        cases = [step(w) for w in (24, 28, 32, 36)]
        wants = [ref(value) for _, ref, value in cases]
        errors = []

        def hammer(k):
            f, _, value = cases[k]
            for _ in range(40):
                if not np.allclose(f(value), wants[k], rtol=1e-5, atol=1e-5):
                    errors.append(k)

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("errors", len(errors))
    """)
    assert out.split()[-1] == "0"


def test_workers_are_started_once_per_process():
    out = _run("""
        threads = lambda: len(os.listdir("/proc/self/task"))    # this process's threads (Linux)
        f, ref, value = step(32)                                  # big enough to run in parallel
        start = threads()
        f(value)
        parked = threads()
        for _ in range(50):
            f(value)
        print(parked - start, threads() - parked)
    """)
    assert out.split()[-2:] == ["1", "0"]        # one worker beside the caller, kept between calls



def test_idle_workers_stop_spinning_and_sleep():
    """Workers spin briefly after a loop (SPIN_TICKS), then sleep: a second later every
    thread but the caller is blocked, not running (Linux thread states)."""
    out = _run("""
        import time
        def running():
            states = []
            for tid in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{tid}/stat") as stat:
                    states.append(stat.read().rsplit(")", 1)[1].split()[0])
            return states.count("R")
        f, ref, value = step(32)
        for _ in range(20):
            f(value)
        time.sleep(1.0)
        print(running())
    """)
    assert out.split()[-1] == "1"                # only the thread that reads the states
