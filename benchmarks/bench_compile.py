"""Compile time of a small CNN's training step with the llvm backend: cold and warm.

Cold: a fresh process with an empty object cache. Warm: a fresh process whose
cache holds the objects of an earlier run. Each measurement is its own child
process, so nothing (imports, the JIT's loaded code, the simplifier's memo)
carries over; the figure is the median over --repeats children. Printed per
phase: building the graph, gc.function (the simplifier), the first call
(specialising, partitioning, lowering, LLVM or the cache, loading), and the
sum of the last two (what compiling costs the user).

    python benchmarks/bench_compile.py [--model cnn|mlp] [--repeats 3] [--threads N]
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
BATCH = 64


def child(model_name: str) -> dict:
    """Time one compile in this (fresh) process."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import graphc as gc
    import llvmlite.binding  # noqa: F401 - counted with the imports, not the compile
    t1 = time.perf_counter()
    if model_name == "cnn":
        model = gc.nn.models.digits_cnn(rng=0)
        x = gc.tensor("x", (BATCH, 1, 8, 8))
        xb = np.random.default_rng(0).random((BATCH, 1, 8, 8), dtype=np.float32)
    else:
        model = gc.nn.models.mlp(64, 128, 10, rng=0)
        x = gc.tensor("x", (BATCH, 64))
        xb = np.random.default_rng(0).random((BATCH, 64), dtype=np.float32)
    y = gc.tensor("y", (BATCH,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    updates = gc.nn.sgd(model.parameters(), loss, lr=0.1)
    t2 = time.perf_counter()
    step = gc.function([x, y], loss, updates=updates, backend="llvm")
    t3 = time.perf_counter()
    step(xb, np.zeros(BATCH, np.int64))
    t4 = time.perf_counter()
    return {"import": t1 - t0, "graph": t2 - t1, "function": t3 - t2, "first_call": t4 - t3,
            "compile": t4 - t2, "kernels": len(step.inspect.kernels())}


def run_child(model: str, cache: str, threads: int) -> dict:
    env = dict(os.environ, GRAPHC_CACHE_DIR=cache, GRAPHC_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--child", model], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn", choices=["cnn", "mlp"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            runs["cold"].append(run_child(args.model, cache, args.threads))
            runs["warm"].append(run_child(args.model, cache, args.threads))
    keys = ["import", "graph", "function", "first_call", "compile"]
    print(f"{args.model} training step, batch {BATCH}, {runs['cold'][0]['kernels']} kernels, "
          f"median of {args.repeats} fresh processes each (seconds)")
    print(f"{'':6}" + "".join(f"{k:>12}" for k in keys))
    for name, rows in runs.items():
        print(f"{name:6}" + "".join(f"{statistics.median(r[k] for r in rows):>12.3f}" for k in keys))
    print("function = gc.function (runs the simplifier); first_call = specialise, partition, lower, "
          "LLVM or cache, load; compile = function + first_call")


if __name__ == "__main__":
    main()
