"""One SGD training step of the demo CNN at batch 64: graphc against PyTorch eager.

Same model (conv3x3(1->16)-relu-maxpool, conv3x3(16->32)-relu-maxpool, dense 128->10,
cross-entropy), same data (the first 64 training digits), same initial weights. First
checks that one step from that start gives the same loss and updated parameters on both;
then times steps and prints the medians and their ratio.

Each side is timed in its own child process with its thread pools sized before they
start: on 2 cores, one library's idle spinning pool slows whoever runs next.

Run: python benchmarks/bench_train_step.py [--backend numpy] [--repeats 50] [--threads N]
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


def setup(backend: str):
    """The graphc model, its compiled step and the batch."""
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing
    import graphc as gc

    data = gc.nn.datasets.load_digits(seed=0)
    xb, yb = data.x_train[:BATCH].copy(), data.y_train[:BATCH].copy()
    model = gc.nn.models.digits_cnn(rng=0)
    x = gc.tensor("x", (BATCH, 1, 8, 8))
    y = gc.tensor("y", (BATCH,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    step = gc.function([x, y], loss, updates=gc.nn.sgd(model.parameters(), loss, lr=LR), backend=backend)
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
    """One step on each side from the same start: same loss and updated parameters?"""
    model, step, xb, yb = setup(backend)
    net, torch_step = torch_setup(model, xb, yb)
    ours, theirs = float(step(xb, yb)), torch_step()
    updated = [p.detach().numpy().T if p.ndim == 2 else p.detach().numpy() for p in net.parameters()]
    worst = max(float(np.max(np.abs(a.get_value() - b)) / np.max(np.abs(b)))
                for a, b in zip(model.parameters(), updated))
    same = abs(ours - theirs) <= 1e-5 * abs(theirs) and worst < 1e-4
    print(f"check: loss graphc {ours:.6f}, torch {theirs:.6f}; largest relative difference of the "
          f"updated parameters {worst:.1e} -> {'same' if same else 'DIFFERENT'}")
    return same


def measure(side: str, backend: str, repeats: int, threads: int) -> float:
    """Median milliseconds per step of one side (run in a child process)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    model, step, xb, yb = setup(backend)
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
        _, run = torch_setup(model, xb, yb)
    else:
        def run():
            return step(xb, yb)
    for _ in range(5):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def in_child(side: str, args: argparse.Namespace) -> float:
    limits = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    command = [sys.executable, __file__, "--measure", side, "--backend", args.backend,
               "--repeats", str(args.repeats), "--threads", str(args.threads)]
    done = subprocess.run(command, env={**os.environ, **limits}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="graphc backend (default numpy)")
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per side (default 50)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads per side (default: all cores)")
    parser.add_argument("--measure", choices=("graphc", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps({"ms": measure(args.measure, args.backend, args.repeats, args.threads)}))
        return 0

    print(f"one SGD step (lr {LR}) of the demo CNN at batch {BATCH}; graphc backend {args.backend!r}, "
          f"{args.threads} thread(s) per side")
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"graphc: {in_child('graphc', args):.3f} ms median; torch is not installed, no comparison")
        return 0
    same = check(args.backend)
    ours, theirs = in_child("graphc", args), in_child("torch", args)
    print(f"graphc ({args.backend}): {ours:.3f} ms median over {args.repeats} steps")
    print(f"torch eager:   {theirs:.3f} ms median over {args.repeats} steps")
    ratio = ours / theirs
    verdict = f"graphc is {ratio:.2f}x slower" if ratio > 1 else f"graphc is {1 / ratio:.2f}x faster"
    print(f"ratio graphc / torch: {ratio:.2f} ({verdict})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
