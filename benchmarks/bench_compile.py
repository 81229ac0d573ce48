"""Compile time of a small CNN's training step with the llvm backend: cold and warm.

Cold: a fresh process with an empty object cache (GRAPHC_CACHE_DIR). Warm: a fresh
process whose cache holds the entry an earlier process wrote. Every measurement is
its own child process, so nothing (imports, loaded code, memos) carries over; the
figures are medians over --repeats children. Printed per run kind:

- imports: `import graphc`, then the llvm backend (llvmlite), not part of compiling;
- function: `gc.function(...)`; first call: the first call, whose run itself takes
  under a millisecond; compile: the two together, the figure the targets are about
  (cold < 2 s, warm < 100 ms); compile cpu: the same in CPU seconds of the process,
  a steadier figure when other work shares the machine;
- the first call's phases, from `f.inspect.compile_times()`: the cache key, the cache
  read; on a miss gc.simplify, specialising to the shapes, lowering (partition, loop
  IR, schedules), emitting LLVM IR, LLVM's optimisation (parse, verify, O3), code
  generation, the cache write; then loading the object into the JIT; other: the rest
  of the first call (checking the arguments, the run itself, and after a cold build
  Python's collection of the compiler's temporary objects, ~70 ms).

With --kernels, it also compiles each kernel of the cold build as a module of its
own (in this process) and lists where LLVM's time goes, largest first.

    python benchmarks/bench_compile.py [--model cnn|mlp] [--repeats 5] [--threads N] [--kernels]
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
PHASES = ["key", "cache read", "simplify", "specialise", "lower", "emit", "optimise", "codegen",
          "cache write", "load", "other"]
TOTALS = ["import graphc", "import llvm", "function", "first call", "compile", "compile cpu"]


def training_graph(model_name: str) -> tuple[list, object, list, tuple]:
    """The model's training step as a graph: (inputs, loss, updates, a batch)."""
    import numpy as np

    import graphc as gc
    rng = np.random.default_rng(0)
    if model_name == "cnn":
        model = gc.nn.models.digits_cnn(rng=0)
        x = gc.tensor("x", (BATCH, 1, 8, 8))
        xb = rng.random((BATCH, 1, 8, 8), dtype=np.float32)
    else:
        model = gc.nn.models.mlp(64, 128, 10, rng=0)
        x = gc.tensor("x", (BATCH, 64))
        xb = rng.random((BATCH, 64), dtype=np.float32)
    y = gc.tensor("y", (BATCH,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    updates = gc.nn.sgd(model.parameters(), loss, lr=0.1)
    return [x, y], loss, updates, (xb, np.zeros(BATCH, np.int64))


def child(model_name: str) -> dict:
    """Time one compile in this (fresh) process."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import graphc as gc
    t1 = time.perf_counter()
    import graphc.backend.llvm.executor  # llvmlite and the backend, counted as imports
    t2 = time.perf_counter()
    inputs, loss, updates, batch = training_graph(model_name)
    t3, c3 = time.perf_counter(), time.process_time()
    step = gc.function(inputs, loss, updates=updates, backend="llvm")
    t4 = time.perf_counter()
    step(*batch)
    t5, c5 = time.perf_counter(), time.process_time()
    phases = step.inspect.compile_times()
    phases["other"] = t5 - t4 - phases.total
    return {"import graphc": t1 - t0, "import llvm": t2 - t1, "function": t4 - t3, "first call": t5 - t4,
            "compile": t5 - t3, "compile cpu": c5 - c3, "phases": dict(phases),
            "kernels": len(step.inspect.kernels())}


def kernel_costs(model_name: str, top: int) -> None:
    """Compile each kernel of the step as a module of its own and print LLVM's time per kernel."""
    sys.path.insert(0, str(ROOT))
    import graphc as gc
    from graphc.backend.llvm import jit
    from graphc.backend.llvm.emitter import emit_program
    from graphc.backend.llvm.loopir import Program
    from graphc.backend.llvm.runtime import gc_paused

    with tempfile.TemporaryDirectory() as cache:
        os.environ["GRAPHC_CACHE_DIR"] = cache
        inputs, loss, updates, batch = training_graph(model_name)
        step = gc.function(inputs, loss, updates=updates, backend="llvm")
        step(*batch)
        program = step.inspect.program()
    rows = []
    with gc_paused():                          # as when the function is compiled
        for k, kernel in enumerate(program.kernels):
            t0 = time.perf_counter()
            text = str(emit_program(Program(program.name, program.params, (kernel,)), f"k{k}"))
            t1 = time.perf_counter()
            module, machine = jit.optimize(text)
            t2 = time.perf_counter()
            machine.emit_object(module)
            t3 = time.perf_counter()
            rows.append((t3 - t0, kernel.name, len(text), t1 - t0, t2 - t1, t3 - t2))
    rows.sort(reverse=True)
    print("\nper kernel, each compiled alone (ms; a module's fixed part is counted in every row)")
    print(f"{'kernel':<28}{'IR chars':>10}{'emit':>9}{'optimise':>10}{'codegen':>9}")
    for _, name, chars, emit, opt, codegen in rows[:top]:
        print(f"{name:<28}{chars:>10}{emit * 1e3:>9.1f}{opt * 1e3:>10.1f}{codegen * 1e3:>9.1f}")
    print(f"{'all ' + str(len(rows)) + ' kernels':<28}{sum(r[2] for r in rows):>10}"
          + "".join(f"{sum(r[i] for r in rows) * 1e3:>{w}.1f}" for i, w in ((3, 9), (4, 10), (5, 9))))


def run_child(model: str, cache: str, threads: int) -> dict:
    env = dict(os.environ, GRAPHC_CACHE_DIR=cache, GRAPHC_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--child", model], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r.get(key, r["phases"].get(key, 0.0)) for r in rows)


def table(runs: dict[str, list[dict]], keys: list[str]) -> str:
    lines = [f"{'':6}" + "".join(f"{k:>14}" for k in keys)]
    for name, rows in runs.items():
        lines.append(f"{name:6}" + "".join(f"{median(rows, k) * 1e3:>14.1f}" for k in keys))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn", choices=["cnn", "mlp"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--kernels", action="store_true", help="also list LLVM's time per kernel")
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
    missed = sum("lower" in r["phases"] for r in runs["warm"])
    print(f"{args.model} training step, batch {BATCH}, {runs['cold'][0]['kernels']} kernels, {args.threads} threads; "
          f"milliseconds, median of {args.repeats} fresh processes each "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(table(runs, TOTALS))
    print("\nthe first call's phases (f.inspect.compile_times())")
    print(table(runs, PHASES))
    print("\ncompile = function + first call (imports excluded)")
    if missed:
        print(f"warning: {missed} warm run(s) missed the cache (graphc's source changed between runs?)")
    if args.kernels:
        os.environ["GRAPHC_NUM_THREADS"] = str(args.threads)
        kernel_costs(args.model, top=10)


if __name__ == "__main__":
    main()
