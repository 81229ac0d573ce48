"""Grouped, depthwise, dilated and transposed convolutions: graphc's compiled functions
against torch (oneDNN) at MobileNetV2, ResNeXt and U-Net sizes, in one run.

Prints median milliseconds over repeats of the forward pass and of forward + both
gradients, and torch ms / graphc ms (> 1: graphc is faster). Each library runs in its
own child process with its thread count fixed before it starts (see bench_conv.py); the
two alternate for --rounds rounds and each side keeps its fastest round's median, since
these layers take 0.2-30 ms and one round's medians swung 1.5-2x with the machine's state.

    python benchmarks/bench_conv_variants.py [--repeats 15] [--rounds 3] [--threads 1] [--cases dw_s1,up2x2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_conv import median_seconds  # noqa: E402 (this folder is on sys.path when run)

ROOT = Path(__file__).resolve().parents[1]

#: name -> (kind, input shape, weight shape, keyword arguments); weights in torch's layouts
CASES = {
    "dw_s1_56": ("conv", (4, 144, 56, 56), (144, 1, 3, 3), dict(padding=1, groups=144)),      # MobileNetV2
    "dw_s2_56": ("conv", (4, 144, 56, 56), (144, 1, 3, 3), dict(stride=2, padding=1, groups=144)),
    "dw_s1_14": ("conv", (4, 384, 14, 14), (384, 1, 3, 3), dict(padding=1, groups=384)),
    "group32_28": ("conv", (4, 128, 28, 28), (128, 4, 3, 3), dict(padding=1, groups=32)),      # ResNeXt
    "dilated_28": ("conv", (4, 64, 28, 28), (64, 64, 3, 3), dict(padding=2, dilation=2)),     # DeepLab
    "up2x2_32": ("transpose", (4, 128, 32, 32), (128, 64, 2, 2), dict(stride=2)),             # U-Net
    "up4x4_32": ("transpose", (4, 128, 32, 32), (128, 64, 4, 4), dict(stride=2, padding=1)),  # DCGAN
}


def graphc_runs(kind, x, w, kwargs):
    import graphc as gc
    X, W = gc.tensor("x", x.shape, x.dtype.name), gc.shared(w, name="w")
    fn = gc.nn.conv2d if kind == "conv" else gc.nn.conv_transpose2d
    y = fn(X, W, **kwargs)
    gy = gc.tensor("gy", y.shape, x.dtype.name)
    fwd = gc.function([X], y)
    both = gc.function([X, gy], [y] + gc.grad(gc.sum(y * gy), [X, W]))
    g = fwd(x)
    return (lambda: fwd(x)), (lambda: both(x, g))


def torch_runs(kind, x, w, kwargs):
    import torch
    tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    F = torch.nn.functional
    f = (lambda: F.conv2d(tx, tw, **kwargs)) if kind == "conv" else (lambda: F.conv_transpose2d(tx, tw, **kwargs))

    def forward():
        with torch.no_grad():
            return f()

    def both():
        y = f()
        return torch.autograd.grad(y, (tx, tw), y.detach())

    return forward, both


def measure(lib: str, threads: int, cases: list[str], repeats: int) -> dict:
    import numpy as np
    sys.path.insert(0, str(ROOT))
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
    else:
        os.environ["GRAPHC_NUM_THREADS"] = str(threads)
    rng = np.random.default_rng(0)
    out = {}
    for case in cases:
        kind, xs, ws, kwargs = CASES[case]
        x, w = rng.normal(size=xs).astype("float32"), rng.normal(size=ws).astype("float32")
        fwd, both = (graphc_runs if lib == "graphc" else torch_runs)(kind, x, w, kwargs)
        out[f"{case} fwd"] = median_seconds(fwd, repeats)
        out[f"{case} fwd+bwd"] = median_seconds(both, repeats)
    return out


def child(lib: str, threads: int, args) -> dict | None:
    env = {**os.environ, "GRAPHC_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, __file__, "--worker", lib, str(threads), "--cases", args.cases,
           "--repeats", str(args.repeats)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in res.stderr:
            return None
        raise RuntimeError(f"{lib} x{threads} failed:\n{res.stderr}")
    return json.loads(res.stdout.splitlines()[-1])


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per side; the fastest counts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--worker", nargs=2, metavar=("LIB", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    cases = args.cases.split(",")
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), cases, args.repeats)))
        return
    print(f"# float32, {args.threads} thread(s), median ms of {args.repeats}, fastest of {args.rounds} "
          f"alternating rounds, {cpu_name()}, load average {os.getloadavg()[0]:.2f}; ratio = torch ms / graphc ms")
    ours, theirs = {}, {}
    for _ in range(args.rounds):
        for lib, best in (("graphc", ours), ("torch", theirs)):
            for key, seconds in (child(lib, args.threads, args) or {}).items():
                best[key] = min(seconds, best.get(key, seconds))
    print(f"{'case':<12} {'pass':<8} {'graphc':>8} {'torch':>8} {'ratio':>6}")
    for key, seconds in ours.items():
        tor = theirs[key] if theirs else float("nan")
        case, name = key.split()
        print(f"{case:<12} {name:<8} {seconds * 1e3:>8.2f} {tor * 1e3:>8.2f} {tor / seconds:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
