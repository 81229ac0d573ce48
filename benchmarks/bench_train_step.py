"""One SGD training step of the demo CNN at batch 64: graphc (compiled) against PyTorch eager.

Same model (conv3x3(1->16)-relu-maxpool, conv3x3(16->32)-relu-maxpool, dense 128->10,
cross-entropy), same data (the first 64 training digits), same initial weights. First
checks that one step from that start gives the same loss and updated parameters on both
sides; then times steps with one thread per side and with all threads, and prints the
medians and their ratio against the target (graphc at least 2x faster than torch eager).

Each measurement runs in its own child process with its thread pools sized before they
start (on 2 cores, one library's idle spinning pool slows whoever runs next); the sides
alternate for `--rounds` rounds, and each figure is the median of the rounds' medians.
`--profile` also prints the compiled step's per-kernel profile (f.inspect.profile).

Run: python benchmarks/bench_train_step.py [--backend llvm] [--repeats 200] [--rounds 3]
     [--threads 1,N] [--profile]
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64
LR = 0.1
TARGET = 2.0  # torch eager time / graphc time


def setup(backend: str, threads: int):
    """The graphc model, its compiled step (loss and SGD updates) and the batch."""
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing
    import graphc as gc

    data = gc.nn.datasets.load_digits(seed=0)
    xb, yb = data.x_train[:BATCH].copy(), data.y_train[:BATCH].copy()
    model = gc.nn.models.digits_cnn(rng=0)
    x = gc.tensor("x", (BATCH, 1, 8, 8))
    y = gc.tensor("y", (BATCH,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    options = {"threads": threads} if backend == "llvm" else {}
    step = gc.function([x, y], loss, updates=gc.nn.sgd(model.parameters(), loss, lr=LR), backend=backend,
                       **options)
    return model, step, xb, yb


def torch_setup(model, xb: np.ndarray, yb: np.ndarray):
    """The same network in PyTorch with graphc's current weights (Dense weights transposed),
    and its training step."""
    import torch

    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10),
    )
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), net.parameters()):
            value = ours.get_value()
            theirs.copy_(torch.from_numpy(value.T.copy() if theirs.ndim == 2 else value))
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    tx, ty = torch.from_numpy(xb), torch.from_numpy(yb)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(net(tx), ty)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return net, step


def check(backend: str) -> bool:
    """One step on each side from the same start: the same loss and updated parameters
    (float32 tolerance), and the same steps (new - old, i.e. lr times the gradients)?"""
    model, step, xb, yb = setup(backend, threads=1)
    net, torch_step = torch_setup(model, xb, yb)
    before = [p.get_value() for p in model.parameters()]
    ours, theirs = float(step(xb, yb)), torch_step()
    updated = [p.detach().numpy().T if p.ndim == 2 else p.detach().numpy() for p in net.parameters()]
    worst_value, worst_step = 0.0, 0.0
    for p, old, new in zip(model.parameters(), before, updated):
        value = p.get_value()
        worst_value = max(worst_value, float(np.max(np.abs(value - new)) / np.max(np.abs(new))))
        worst_step = max(worst_step, float(np.max(np.abs((value - old) - (new - old))) / np.max(np.abs(new - old))))
    same = abs(ours - theirs) <= 1e-5 * abs(theirs) and worst_value < 1e-5 and worst_step < 1e-3
    print(f"check: loss graphc {ours:.7f}, torch {theirs:.7f}; largest relative difference of the updated "
          f"parameters {worst_value:.1e}, of the steps (lr * gradient) {worst_step:.1e} "
          f"-> {'same' if same else 'DIFFERENT'}")
    return same


def measure(side: str, backend: str, repeats: int, threads: int, profile: bool) -> float:
    """Median milliseconds per step of one side (run in a child process)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    model, step, xb, yb = setup(backend, threads)
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
        _, run = torch_setup(model, xb, yb)
    else:
        def run():
            return step(xb, yb)
    for _ in range(20):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    if profile and side == "graphc" and step.inspect is not None:
        print(step.inspect.profile(xb, yb, repeat=20))
    return 1e3 * statistics.median(times)


def in_child(side: str, args: argparse.Namespace, threads: int, profile: bool = False) -> float:
    env = {**os.environ, "GRAPHC_NUM_THREADS": str(threads),
           **{k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    command = [sys.executable, __file__, "--measure", side, "--backend", args.backend,
               "--repeats", str(args.repeats), "--threads", str(threads)] + (["--profile"] if profile else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the {side} child failed:\n{done.stderr}")
    *shown, result = done.stdout.strip().splitlines()
    if profile:
        print(f"\nper-kernel profile of the graphc step, {threads} thread(s) (fastest of 20 runs per kernel):")
        print("\n".join(shown))
    return json.loads(result)["ms"]


def compare(args: argparse.Namespace, threads: int, has_torch: bool) -> bool:
    """Time both sides with `threads` threads each; print the medians and the ratio."""
    sides = ["graphc", "torch"] if has_torch else ["graphc"]
    rounds: dict[str, list[float]] = {side: [] for side in sides}
    for r in range(args.rounds):
        for side in sides if r % 2 == 0 else sides[::-1]:
            show_profile = args.profile and side == "graphc" and r == 0
            rounds[side].append(in_child(side, args, threads, profile=show_profile))
    median = {side: statistics.median(times) for side, times in rounds.items()}
    for side, label in (("graphc", f"graphc ({args.backend})"), ("torch", "torch eager")):
        if side in rounds:
            print(f"{threads} thread(s): {label:<14} {median[side]:.3f} ms median "
                  f"(rounds: {', '.join(f'{t:.3f}' for t in rounds[side])})")
    if not has_torch:
        return True
    speedup = median["torch"] / median["graphc"]
    met = speedup >= TARGET
    verdict = f"{speedup:.2f}x faster" if speedup >= 1 else f"{1 / speedup:.2f}x slower"
    print(f"{threads} thread(s): graphc is {verdict} than torch eager (ratio graphc / torch "
          f"{1 / speedup:.2f}); target {TARGET:.0f}x faster: {'met' if met else 'NOT met'}")
    return met


def main() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="llvm", help="graphc backend (default llvm)")
    parser.add_argument("--repeats", type=int, default=200, help="timed steps per child (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="children per side and thread count (default 3)")
    parser.add_argument("--threads", default=f"1,{cores}" if cores > 1 else "1",
                        help=f"comma-separated thread counts per side (default 1,{cores})")
    parser.add_argument("--profile", action="store_true", help="print the graphc step's per-kernel profile")
    parser.add_argument("--measure", choices=("graphc", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        ms = measure(args.measure, args.backend, args.repeats, int(args.threads), args.profile)
        print(json.dumps({"ms": ms}))
        return 0

    print(f"one SGD step (lr {LR}) of the demo CNN at batch {BATCH}; graphc backend {args.backend!r}; "
          f"medians of {args.rounds} rounds of {args.repeats} steps; load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        print("torch is not installed: no comparison")
        has_torch = False
    same = check(args.backend) if has_torch else True
    met = [compare(args, int(t), has_torch) for t in args.threads.split(",")]
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if same and all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
