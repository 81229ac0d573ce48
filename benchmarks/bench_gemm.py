"""sgemm/dgemm: graphc's LLVM matmul against numpy (OpenBLAS) and torch, in one run.

Prints median GFLOP/s over repeats for N = 128, 256, 512, 1024 (square
products), with one thread and with all threads, and the ratio graphc/peer:

- graphc: `gc.function([a, b], a @ b)` as a user calls it (argument checks,
  output allocation, one native call); the time of its first call (a cold
  compile with an empty cache directory, plus one run) is printed.
- kernel: the same blocked gemm program called natively with ready pointers
  (no Python checks): what the kernel itself does.
- numpy: OpenBLAS as this environment configures it (OPENBLAS_CORETYPE and
  OPENBLAS_L2_SIZE as found; Haswell AVX2 kernels here).
- numpy*: OpenBLAS with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from
  that child's environment, so it picks its best kernels for this CPU.
  The kernel set each numpy child ran (threadpoolctl's 'architecture') is
  printed in the header.
- torch: when importable.

Each (library, threads) pair is measured in its own child process whose thread
counts are fixed before any library starts its pool (OPENBLAS/OMP/MKL and
GRAPHC_NUM_THREADS, threadpoolctl, torch.set_num_threads): on 2 cores an idle
pool that spins halves whoever runs next. The machine is shared: the load
average before and after is printed, and `--rounds R` repeats every child R
times, interleaved, keeping each figure's best median (each library then gets
its quietest window).

    python benchmarks/bench_gemm.py [--dtype float32|float64] [--repeats 15] [--sizes 128,256]
                                    [--threads 1,2] [--rounds 1]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBS = ("graphc", "kernel", "numpy", "numpy*", "torch")
#: Each timed sample runs the product this many seconds at least (calls batched).
SAMPLE_SECONDS = 2e-3


def median_seconds(fn, repeats: int) -> float:
    """Median seconds per call, each sample batching enough calls to last SAMPLE_SECONDS."""
    fn()
    t0 = time.perf_counter()
    fn()
    batch = max(1, int(SAMPLE_SECONDS / max(time.perf_counter() - t0, 1e-7)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


def graphc_runner(n: int, dtype: str, a, b, kernel_only: bool):
    """(call, compile seconds) for graphc's product of two n x n arrays."""
    import ctypes

    import numpy as np

    sys.path.insert(0, str(ROOT))
    import graphc as gc
    from graphc.backend.llvm import compile_program, default_threads
    from graphc.backend.llvm.emitter import scratch_stride
    from graphc.backend.llvm.kernels.gemm import gemm_program

    if kernel_only:
        threads = default_threads()
        c = np.empty((n, n), dtype)
        t0 = time.perf_counter()
        prog = compile_program(gemm_program(n, n, n, dtype, threads=threads))
        seconds = time.perf_counter() - t0
        scratch = [np.empty(scratch_stride(buf) * threads + 64, np.uint8) for buf in prog.program.params[3:]]
        table = (ctypes.c_void_p * len(prog.program.params))()
        for k, arr in enumerate([a, b, c] + scratch):
            address = arr.__array_interface__["data"][0]
            table[k] = address + (-address % 64 if k >= 3 else 0)
        keep = (table, scratch, c)                    # the table points into these
        return (lambda: prog.call_raw(ctypes.addressof(keep[0]), threads)), seconds
    x, y = gc.tensor("a", shape=(n, n), dtype=dtype), gc.tensor("b", shape=(n, n), dtype=dtype)
    t0 = time.perf_counter()
    f = gc.function([x, y], x @ y)
    f(a, b)
    return (lambda: f(a, b)), time.perf_counter() - t0


def measure(lib: str, threads: int, dtype: str, sizes: list[int], repeats: int) -> dict:
    """GFLOP/s per size for one library at one thread count (runs in a child)."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(0)
    out: dict = {"gflops": {}, "compile": {}}
    for n in sizes:
        a, b = rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)
        if lib in ("graphc", "kernel"):
            run, out["compile"][n] = graphc_runner(n, dtype, a, b, lib == "kernel")
        elif lib.startswith("numpy"):
            run = lambda: a @ b  # noqa: E731
        else:
            import torch
            torch.set_num_threads(threads)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            run = lambda: ta @ tb  # noqa: E731
        with threadpool_limits(threads):
            out["gflops"][n] = 2 * n ** 3 / 1e9 / median_seconds(run, repeats)
    out["blas"] = sorted({str(p.get("architecture")) for p in threadpool_info() if p.get("user_api") == "blas"})
    return out


def child_env(lib: str, threads: int, cache: str) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GRAPHC_CACHE_DIR": cache,
           **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                        "GRAPHC_NUM_THREADS")}}
    if lib == "numpy*":
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def child(lib: str, threads: int, args) -> dict | None:
    """One library at one thread count, in a fresh process (graphc compiles cold)."""
    cmd = [sys.executable, __file__, "--worker", lib, str(threads), "--dtype", args.dtype,
           "--sizes", args.sizes, "--repeats", str(args.repeats)]
    with tempfile.TemporaryDirectory(prefix="graphc-bench-") as cache:
        res = subprocess.run(cmd, env=child_env(lib, threads, cache), capture_output=True, text=True)
    if res.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in res.stderr:
            return None
        raise RuntimeError(f"{lib} x{threads} failed:\n{res.stderr}")
    return json.loads(res.stdout)


def best(runs: list[dict]) -> dict:
    """Each size's best median over rounds (compile: the first, cold, round's)."""
    out = dict(runs[0])
    out["gflops"] = {n: max(r["gflops"][n] for r in runs) for n in runs[0]["gflops"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--sizes", default="128,256,512,1024")
    ap.add_argument("--threads", default=None, help="thread counts to run (default: 1 and all cores)")
    ap.add_argument("--rounds", type=int, default=1, help="measure every child this many times, keep the best")
    ap.add_argument("--worker", nargs=2, metavar=("LIB", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), args.dtype, sizes, args.repeats)))
        return
    cores = len(os.sched_getaffinity(0))
    counts = sorted({int(t) for t in args.threads.split(",")} if args.threads else {1, cores})
    print(f"# {args.dtype} gemm (N x N x N), GFLOP/s, median of {args.repeats}, best of {args.rounds} round(s); "
          f"{cores} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    print(f"# numpy: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; numpy*: both unset")
    header = (f"{'N':>5} {'thr':>3} {'compile s':>9} " + " ".join(f"{lib:>7}" for lib in LIBS)
              + f" {'g/np':>6} {'g/np*':>6} {'k/np*':>6} {'g/torch':>7}")
    for threads in counts:
        runs: dict[str, list] = {lib: [] for lib in LIBS}
        for _ in range(max(1, args.rounds)):
            for lib in LIBS:
                runs[lib].append(child(lib, threads, args))
        res = {lib: best(r) if r[0] is not None else None for lib, r in runs.items()}
        if threads == counts[0]:
            print(f"# BLAS kernels: numpy {res['numpy']['blas']}, numpy* {res['numpy*']['blas']}")
            print(header)
        for n in sizes:
            g = {lib: res[lib]["gflops"][str(n)] if res[lib] else float("nan") for lib in LIBS}
            line = (f"{n:>5} {threads:>3} {res['graphc']['compile'][str(n)]:>9.3f} "
                    + " ".join(f"{g[lib]:>7.1f}" for lib in LIBS)
                    + f" {g['graphc'] / g['numpy']:>6.2f} {g['graphc'] / g['numpy*']:>6.2f}"
                    f" {g['kernel'] / g['numpy*']:>6.2f} {g['graphc'] / g['torch']:>7.2f}")
            print(line, flush=True)
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")


if __name__ == "__main__":
    main()
