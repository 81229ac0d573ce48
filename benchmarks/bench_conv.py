"""conv2d and pooling: graphc's native kernels against numpy (im2col + BLAS) and torch, in one run.

Prints median milliseconds over repeats and speedups (peer time / graphc time,
> 1 means graphc is faster) for conv2d forward, forward+backward (the input and
weight gradients too) and max/avg pooling on LeNet-size and AlexNet-size layers,
with one thread and with all threads. graphc runs each case as one compiled
program of the kernels kernels/conv.py and kernels/pool.py build (as the llvm
backend lowers those ops; compile time is printed, it is not in the medians).

Each (library, threads) pair is measured in its own child process whose thread
counts are fixed before any library starts its pool: an idle OpenBLAS or torch
pool that spins would slow whoever runs next on this 2-core machine.

    python benchmarks/bench_conv.py [--repeats 15] [--cases lenet1,alex2] [--dtype float32]
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

#: name -> (input shape, weight shape, stride, padding)
CONVS = {
    "lenet1": ((64, 1, 28, 28), (6, 1, 5, 5), 1, 0),
    "lenet2": ((64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    "alex1": ((8, 3, 127, 127), (64, 3, 11, 11), 4, 2),
    "alex2": ((8, 64, 15, 15), (192, 64, 5, 5), 1, 2),
    "alex3": ((8, 192, 7, 7), (384, 192, 3, 3), 1, 1),
}
#: name -> (input shape, kernel, stride)
POOLS = {
    "lenet_pool": ((64, 6, 24, 24), 2, 2),
    "alex_pool": ((8, 64, 31, 31), 3, 2),
}
PASSES = {"conv": ("fwd", "fwd+bwd"), "pool": ("max", "max+bwd", "avg")}


def median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------- the three libraries

def numpy_conv(x, w, stride, pad):
    """Forward and forward+backward of conv2d by im2col and matmul (BLAS)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    (n, c, h, wd), (co, _, kh, kw) = x.shape, w.shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    wmat = w.reshape(co, -1)

    def forward():
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :oh, :ow]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)
        y = (cols @ wmat.T).reshape(n, oh, ow, co).transpose(0, 3, 1, 2)
        return np.ascontiguousarray(y), cols

    def both():
        y, cols = forward()
        gy = y                                   # any array of y's shape
        g = gy.transpose(0, 2, 3, 1).reshape(-1, co)
        gw = (g.T @ cols).reshape(w.shape)
        dcols = (g @ wmat).reshape(n, oh, ow, c, kh, kw)
        gxp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), x.dtype)
        for i in range(kh):
            for j in range(kw):
                gxp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += dcols[..., i, j].transpose(0, 3, 1, 2)
        return gxp[:, :, pad:pad + h, pad:pad + wd], gw

    return (lambda: forward()[0]), both


def numpy_pool(x, k, s):
    from numpy.lib.stride_tricks import sliding_window_view

    from graphc.ops.nn.pool import MaxPoolGrad
    win = lambda: sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]  # noqa: E731
    grad = MaxPoolGrad((k, k), (s, s), ((0, 0), (0, 0)))

    def max_bwd():
        y = win().max(axis=(-2, -1))
        return grad.reference(x, y)

    return {"max": lambda: win().max(axis=(-2, -1)), "max+bwd": max_bwd,
            "avg": lambda: win().mean(axis=(-2, -1), dtype=x.dtype)}


def torch_conv(x, w, stride, pad):
    import torch
    tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    f = lambda: torch.nn.functional.conv2d(tx, tw, stride=stride, padding=pad)  # noqa: E731

    def both():
        y = f()
        return torch.autograd.grad(y, (tx, tw), y.detach())

    def forward():
        with torch.no_grad():
            return f()

    return forward, both


def torch_pool(x, k, s):
    import torch
    F = torch.nn.functional
    tx = torch.from_numpy(x).requires_grad_()

    def max_bwd():
        y = F.max_pool2d(tx, k, s)
        return torch.autograd.grad(y, tx, y.detach())

    def no_grad(fn):
        def run():
            with torch.no_grad():
                return fn()
        return run

    return {"max": no_grad(lambda: F.max_pool2d(tx, k, s)), "max+bwd": max_bwd,
            "avg": no_grad(lambda: F.avg_pool2d(tx, k, s))}


def graphc_conv(x, w, stride, pad, threads):
    """Compiled programs: forward; forward + input gradient + weight gradient."""
    import numpy as np

    from graphc.backend.llvm.kernels.conv import conv_forward, conv_input_grad, conv_weight_grad
    from graphc.backend.llvm.kernels.harness import KernelRunner, StandaloneSpace
    from graphc.backend.llvm.loopir import Buffer

    dtype = x.dtype.name
    st, pd = (stride, stride), ((pad, pad), (pad, pad))
    n, _, h, wd = x.shape
    oh, ow = (h + 2 * pad - w.shape[2]) // stride + 1, (wd + 2 * pad - w.shape[3]) // stride + 1
    X, W = Buffer("x", dtype, x.shape), Buffer("w", dtype, w.shape)
    Y, GX, GW = Buffer("y", dtype, (n, w.shape[0], oh, ow)), Buffer("gx", dtype, x.shape), Buffer("gw", dtype, w.shape)
    y, gx, gw = np.empty(Y.shape, dtype), np.empty(x.shape, dtype), np.empty(w.shape, dtype)
    t0 = time.perf_counter()
    space = StandaloneSpace("f")
    fwd = KernelRunner("fwd", conv_forward(X, W, Y, st, pd, space, threads=threads), [X, W, Y], space)
    space = StandaloneSpace("b")
    kernels = (conv_forward(X, W, Y, st, pd, space, threads=threads)
               + conv_input_grad(Y, W, GX, st, pd, space, threads=threads)      # y stands in for gy
               + conv_weight_grad(X, Y, GW, st, pd, space, threads=threads))
    both = KernelRunner("both", kernels, [X, W, Y, GX, GW], space)
    compile_s = time.perf_counter() - t0
    return (lambda: fwd(x, w, y, nthreads=threads)), (lambda: both(x, w, y, gx, gw, nthreads=threads)), compile_s


def graphc_pool(x, k, s, threads):
    import numpy as np

    from graphc.backend.llvm.kernels.harness import KernelRunner, StandaloneSpace
    from graphc.backend.llvm.kernels.pool import max_pool_grad, pool_forward
    from graphc.backend.llvm.loopir import Buffer

    dtype = x.dtype.name
    geo = dict(kernel=(k, k), stride=(s, s), padding=((0, 0), (0, 0)), threads=threads)
    n, c, h, w = x.shape
    X, Y, GX = Buffer("x", dtype, x.shape), Buffer("y", dtype, (n, c, (h - k) // s + 1, (w - k) // s + 1)), \
        Buffer("gx", dtype, x.shape)
    y, gx = np.empty(Y.shape, dtype), np.empty(x.shape, dtype)
    t0 = time.perf_counter()
    runs = {}
    for name, build in (("max", lambda sp: pool_forward("max", X, Y, space=sp, **geo)),
                        ("max+bwd", lambda sp: pool_forward("max", X, Y, space=sp, **geo)
                         + max_pool_grad(X, Y, GX, space=sp, **geo)),
                        ("avg", lambda sp: pool_forward("avg", X, Y, space=sp, **geo))):
        space = StandaloneSpace(name.replace("+", "_"))
        args = [X, Y, GX] if name == "max+bwd" else [X, Y]
        runner = KernelRunner(name, build(space), args, space)
        arrays = (x, y, gx) if name == "max+bwd" else (x, y)
        runs[name] = (lambda r=runner, a=arrays: r(*a, nthreads=threads))
    return runs, time.perf_counter() - t0


def measure(lib: str, threads: int, cases: list[str], dtype: str, repeats: int) -> dict:
    """Median seconds per (case, pass) for one library at one thread count (in a child)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(ROOT))
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    out: dict = {"seconds": {}, "compile": {}}
    with threadpool_limits(threads):
        for case in cases:
            if case in CONVS:
                xs, ws, stride, pad = CONVS[case]
                x, w = rng.normal(size=xs).astype(dtype), rng.normal(size=ws).astype(dtype)
                if lib == "graphc":
                    fwd, both, out["compile"][case] = graphc_conv(x, w, stride, pad, threads)
                else:
                    fwd, both = (numpy_conv if lib == "numpy" else torch_conv)(x, w, stride, pad)
                runs = {"fwd": fwd, "fwd+bwd": both}
            else:
                xs, k, s = POOLS[case]
                x = rng.normal(size=xs).astype(dtype)
                if lib == "graphc":
                    runs, out["compile"][case] = graphc_pool(x, k, s, threads)
                else:
                    runs = (numpy_pool if lib == "numpy" else torch_pool)(x, k, s)
            for name, fn in runs.items():
                out["seconds"][f"{case} {name}"] = median_seconds(fn, repeats)
    return out


def child(lib: str, threads: int, args) -> dict | None:
    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
           "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, __file__, "--worker", lib, str(threads), "--dtype", args.dtype,
           "--cases", args.cases, "--repeats", str(args.repeats)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in res.stderr:
            return None
        raise RuntimeError(f"{lib} x{threads} failed:\n{res.stderr}")
    return json.loads(res.stdout)


def flops(case: str, name: str) -> float:
    """Multiply-adds x 2 of a conv pass (fwd+bwd: three convolutions' worth)."""
    if case not in CONVS:
        return 0.0
    (n, c, h, w), (co, _, kh, kw), s, p = CONVS[case]
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    return 2.0 * n * co * oh * ow * c * kh * kw * (1 if name == "fwd" else 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--cases", default=",".join(list(CONVS) + list(POOLS)))
    ap.add_argument("--worker", nargs=2, metavar=("LIB", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    cases = args.cases.split(",")
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), cases, args.dtype, args.repeats)))
        return
    all_threads = len(os.sched_getaffinity(0))
    print(f"# {args.dtype} conv2d and pooling, median ms of {args.repeats}; speedup = peer ms / graphc ms; "
          f"load average {os.getloadavg()[0]:.2f} (other work on the cores skews 2-thread figures)")
    print(f"{'case':<18} {'pass':<8} {'thr':>3} {'compile s':>9} {'graphc':>8} {'GF/s':>6} {'numpy':>8} "
          f"{'torch':>8} {'vs np':>6} {'vs torch':>8}")
    for threads in sorted({1, all_threads}):
        res = {lib: child(lib, threads, args) for lib in ("graphc", "numpy", "torch")}
        for case in cases:
            for name in PASSES["conv" if case in CONVS else "pool"]:
                key = f"{case} {name}"
                ours, theirs = res["graphc"]["seconds"][key], res["numpy"]["seconds"][key]
                tor = res["torch"]["seconds"][key] if res["torch"] else float("nan")
                rate = flops(case, name) / ours / 1e9
                print(f"{case:<18} {name:<8} {threads:>3} {res['graphc']['compile'][case]:>9.2f} "
                      f"{ours * 1e3:>8.3f} {rate:>6.0f} {theirs * 1e3:>8.3f} {tor * 1e3:>8.3f} "
                      f"{theirs / ours:>6.2f} {tor / ours:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
