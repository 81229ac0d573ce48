"""sgemm/dgemm: graphc's LLVM kernel against numpy (OpenBLAS) and torch, in one run.

Prints median GFLOP/s over repeats and the ratio graphc/peer for N = 128, 256,
512, 1024, with one thread and with all threads. Each (library, threads) pair
is measured in its own child process whose thread counts are fixed before any
library starts its pool (OPENBLAS/OMP/MKL_NUM_THREADS, threadpoolctl,
torch.set_num_threads): on 2 cores an idle pool that spins halves whoever runs
next, which made in-process comparisons meaningless. OpenBLAS picks its kernels
by CPU (Haswell ones on this Zen3); OPENBLAS_CORETYPE is printed as found.

    python benchmarks/bench_gemm.py [--dtype float32] [--repeats 15] [--sizes 128,256]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(lib: str, threads: int, dtype: str, sizes: list[int], repeats: int) -> dict:
    """GFLOP/s per size for one library at one thread count (runs in a child)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    out: dict = {"gflops": {}, "compile": {}}
    for n in sizes:
        a, b = rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)
        if lib == "graphc":
            sys.path.insert(0, str(ROOT))
            from graphc.backend.llvm import compile_program
            from graphc.backend.llvm.kernels.gemm import gemm_program
            c = np.empty((n, n), dtype)
            t0 = time.perf_counter()
            kernel = compile_program(gemm_program(n, n, n, dtype, threads=threads))
            out["compile"][n] = time.perf_counter() - t0
            run = lambda: kernel(a, b, c, nthreads=threads)  # noqa: E731
        elif lib == "numpy":
            run = lambda: a @ b  # noqa: E731
        else:
            import torch
            torch.set_num_threads(threads)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            run = lambda: ta @ tb  # noqa: E731
        with threadpool_limits(threads):
            out["gflops"][n] = 2 * n ** 3 / 1e9 / median_seconds(run, repeats)
    return out


def child(lib: str, threads: int, args) -> dict | None:
    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
           "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, __file__, "--worker", lib, str(threads), "--dtype", args.dtype,
           "--sizes", args.sizes, "--repeats", str(args.repeats)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in res.stderr:
            return None
        raise RuntimeError(f"{lib} x{threads} failed:\n{res.stderr}")
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--sizes", default="128,256,512,1024")
    ap.add_argument("--worker", nargs=2, metavar=("LIB", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), args.dtype, sizes, args.repeats)))
        return
    all_threads = len(os.sched_getaffinity(0))
    print(f"# {args.dtype} gemm, GFLOP/s, medians of {args.repeats}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}; "
          f"load average {os.getloadavg()[0]:.2f} (other work on the cores skews 2-thread figures)")
    print(f"{'N':>5} {'thr':>3} {'compile s':>9} {'graphc':>8} {'numpy':>8} {'torch':>8} {'g/np':>6} {'g/torch':>7}")
    for threads in sorted({1, all_threads}):
        res = {lib: child(lib, threads, args) for lib in ("graphc", "numpy", "torch")}
        for n in sizes:
            key = str(n)
            ours, theirs = res["graphc"]["gflops"][key], res["numpy"]["gflops"][key]
            tor = res["torch"]["gflops"][key] if res["torch"] else float("nan")
            print(f"{n:>5} {threads:>3} {res['graphc']['compile'][key]:>9.3f} {ours:>8.1f} {theirs:>8.1f} "
                  f"{tor:>8.1f} {ours / theirs:>6.2f} {ours / tor:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
