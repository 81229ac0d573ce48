"""Data-parallel training on one machine: 2 ranks x 1 thread against 1 process x 2 threads.

The step is bench_compile.py's `cnn` (conv3x3 32-32-maxpool-64-64-maxpool, dense 4096-256-10,
relu, 'same' padding; float32) at a global batch of 64 of 3x32x32, with plain SGD, built with
gc.nn layers and trained by gc.nn.Trainer, as a user would:

- 1x2: one process, Trainer(distributed=False), GRAPHC_NUM_THREADS=2 (the baseline);
- 1x1: one process, one thread (how much the second thread gives);
- 2x1: `mpiexec -n 2`, Trainer(distributed=True), one thread per rank, 32 rows each.

Each configuration runs in its own child (or mpiexec job); they alternate for `--rounds`
rounds. A child compiles and warms up, then times `--repeats` steps one by one (a step is
`train_epoch` over exactly one global batch); its figure is the median step, and the reported
figures are the median of the rounds' medians and the fastest round (on a shared machine,
the least disturbed). Ratios are against 1x2 in the same run.

For 2x1 it also reports the allreduce's share of the step: the time rank 0 spends inside the
Trainer's allreduce (which includes waiting for the slower rank), and the same allreduce of the
same buffer timed alone after a barrier (the transfer itself).

`--batch-norm` puts a BatchNorm after each convolution (no conv bias) and compares 1x2, 2x1
with each rank's own statistics and 2x1 with `sync_batch_norm=True`, whose step makes 16 small
allreduces inside the compiled call (4 per layer); it reports the time rank 0 spends in them.

    python benchmarks/bench_distributed.py [--repeats 30] [--rounds 3] [--batch-norm]
    python benchmarks/bench_distributed.py --cost-model [--step-ms 120]

`--cost-model` prints the paper model of docs/distributed.md instead: bytes allreduced per step
and the expected speedup at 1, 10 and 100 Gbit/s for 2 to 64 machines (see `cost_model`), and
what synchronised batch norm adds (`sync_batch_norm_seconds`).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_compile import cpu_name  # noqa: E402 - the benchmarks' shared CPU label

GLOBAL_BATCH = 64
#: name: (processes, threads per process, sync_batch_norm)
CONFIGS = {"1x2": (1, 2, False), "1x1": (1, 1, False), "2x1": (2, 1, False)}
BATCH_NORM_CONFIGS = {"1x2": (1, 2, False), "2x1": (2, 1, False), "2x1 sync": (2, 1, True)}


def cnn_model(batch_norm: bool = False):
    """bench_compile.py's `cnn` as gc.nn layers; with `batch_norm`, a BatchNorm after each convolution."""
    import graphc as gc

    rng = np.random.default_rng(0)

    def conv(i: int, o: int) -> list:
        layer = gc.nn.Conv2d(i, o, 3, padding=1, bias=not batch_norm, rng=rng)
        return [layer, gc.nn.BatchNorm(o), gc.nn.ReLU()] if batch_norm else [layer, gc.nn.ReLU()]

    return gc.nn.Sequential(
        *conv(3, 32), *conv(32, 32), gc.nn.MaxPool2d(2), *conv(32, 64), *conv(64, 64), gc.nn.MaxPool2d(2),
        gc.nn.Flatten(), gc.nn.Dense(4096, 256, rng=rng), gc.nn.ReLU(), gc.nn.Dense(256, 10, rng=rng),
    )


def timed(fn, seconds: list):
    """fn(buffer), appending the seconds each call takes to `seconds`."""
    def call(buffer: np.ndarray) -> None:
        start = time.perf_counter()
        fn(buffer)
        seconds.append(time.perf_counter() - start)
    return call


def child(distributed: bool, repeats: int, batch_norm: bool = False, sync: bool = False) -> None:
    """Time the step in this process (a rank of mpiexec when distributed); rank 0 prints JSON."""
    import graphc as gc
    import graphc.distributed as dist

    rng = np.random.default_rng(1)
    x = rng.normal(size=(GLOBAL_BATCH, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, GLOBAL_BATCH)
    trainer = gc.nn.Trainer(cnn_model(batch_norm), optimizer="sgd", lr=0.01, distributed=distributed,
                            sync_batch_norm=sync)
    trainer.fit(x, y, epochs=3, batch_size=GLOBAL_BATCH, progress=False, verbose=False)  # compile, warm up
    group = trainer.group or dist.SingleProcess()
    in_allreduce, in_batch_norm = [], []
    if distributed:
        allreduce = group.allreduce_sum
        group.allreduce_sum = timed(allreduce, in_allreduce)
        gc.ops.set_communicator(timed(allreduce, in_batch_norm))  # synchronised batch norm's, in the step
    steps = []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.train_epoch(x, y, batch_size=GLOBAL_BATCH, rng=0)
        steps.append(time.perf_counter() - start)
    result = {"step_ms": 1e3 * statistics.median(steps)}
    if distributed:
        group.allreduce_sum = allreduce
        buffer = trainer._flat.buffer
        result["in_allreduce_ms"] = 1e3 * statistics.median(in_allreduce[0::2])  # [0::2]: the gradients'
        result["allreduce_alone_ms"] = 1e3 * alone(group, buffer, repeats)
        result["buffer_bytes"] = buffer.nbytes
        result["threads"] = gc.num_threads()
        result["batch_norm_allreduces"] = len(in_batch_norm) / repeats
        result["in_batch_norm_ms"] = 1e3 * sum(in_batch_norm) / repeats
        result["small_allreduce_alone_ms"] = 1e3 * alone(group, np.zeros(65, np.float32), repeats)
    if group.rank == 0:
        print(json.dumps(result))


def alone(group, buffer: np.ndarray, repeats: int) -> float:
    """Median seconds of one allreduce of `buffer`, the ranks lined up by a small one before each."""
    times = []
    for _ in range(repeats):
        group.allreduce_sum(np.zeros(1))
        start = time.perf_counter()
        group.allreduce_sum(buffer)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_config(name: str, repeats: int, batch_norm: bool) -> dict:
    processes, threads, sync = (BATCH_NORM_CONFIGS if batch_norm else CONFIGS)[name]
    env = {**os.environ, "GRAPHC_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--child", "--repeats", str(repeats)]
    command += ["--batch-norm"] * batch_norm + ["--sync"] * sync
    if processes > 1:
        command = ["mpiexec", "-n", str(processes)] + command + ["--distributed"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace) -> None:
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical cores)")
    configs = BATCH_NORM_CONFIGS if args.batch_norm else CONFIGS
    model = "bench_compile's cnn" + (" with a BatchNorm after each convolution" if args.batch_norm else "")
    print(f"step: {model}, SGD, global batch {GLOBAL_BATCH}; {args.repeats} steps per run, "
          f"{args.rounds} rounds, medians")
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    for round_ in range(args.rounds):
        for name in configs:
            runs[name].append(run_config(name, args.repeats, args.batch_norm))
            print(f"  round {round_ + 1} {name}: {runs[name][-1]['step_ms']:.1f} ms/step", flush=True)
    median = {name: statistics.median(r["step_ms"] for r in results) for name, results in runs.items()}
    fastest = {name: min(r["step_ms"] for r in results) for name, results in runs.items()}
    print(f"\n{'configuration':<36} ms/step (median, fastest round)  speed vs 1x2 (median, fastest)")
    for name, (processes, threads, sync) in configs.items():
        label = f"{name} ({processes} process(es) x {threads} thread(s){', sync BN' if sync else ''})"
        print(f"{label:<36} {median[name]:7.1f} {fastest[name]:7.1f}"
              f"{median['1x2'] / median[name]:23.2f}x {fastest['1x2'] / fastest[name]:6.2f}x")
    distributed = runs["2x1"]
    inside = statistics.median(r["in_allreduce_ms"] for r in distributed)
    transfer = statistics.median(r["allreduce_alone_ms"] for r in distributed)
    size = distributed[0]["buffer_bytes"]
    print(f"\nallreduce of {size / 1e6:.2f} MB per step (2x1): {inside:.2f} ms inside the step "
          f"({100 * inside / median['2x1']:.1f}% of it, waiting for the other rank included); "
          f"{transfer:.2f} ms alone ({100 * transfer / median['2x1']:.1f}%, {size / transfer / 1e6:.2f} GB/s)")
    if "2x1 sync" in runs:
        synced = runs["2x1 sync"]
        inside = statistics.median(r["in_batch_norm_ms"] for r in synced)
        print(f"synchronised batch norm (2x1 sync): {synced[0]['batch_norm_allreduces']:.0f} allreduces per step, "
              f"{inside:.2f} ms in them ({100 * inside / median['2x1 sync']:.1f}% of its step, waiting for the other "
              f"rank included); its step takes {median['2x1 sync'] / median['2x1']:.2f}x that of 2x1 with each "
              f"rank's own statistics")
        small = statistics.median(r["small_allreduce_alone_ms"] for r in synced)
        print(f"an allreduce of 65 float32 alone, after a barrier: {1e3 * small:.1f} us (x 16 = {16 * small:.2f} ms)")


# -- the cost model on paper ------------------------------------------------------------------
#: name: (parameters, batch-norm channels, training GFLOP per sample: 3 x 2 x forward MACs)
MODELS = {
    "digits CNN": (6_090, 0, 3 * 2 * 0.000_084),
    "CIFAR CNN (bench cnn)": (1_116_970, 0, 3 * 2 * 0.025_5),
    "AlexNet-224": (61_100_840, 0, 3 * 2 * 0.714),
    "ResNet-18": (11_689_512, 4_800, 3 * 2 * 1.82),
    "ResNet-50": (25_557_032, 26_560, 3 * 2 * 4.11),
    "MobileNetV2": (3_504_872, 17_056, 3 * 2 * 0.30),
}
#: Batch-norm layers of the models that have them (torchvision's), for synchronised batch norm.
BATCH_NORM_LAYERS = {"ResNet-18": 20, "ResNet-50": 53, "MobileNetV2": 52}
#: Allreduces a synchronised batch-norm layer makes per step: in the forward pass the per-channel
#: sums with the count (C + 1 values), then the sums of squared deviations (C); the backward pass
#: sends each one's gradient back (C, then C + 1).
SYNC_BN_ALLREDUCES = 4
MACHINES = (2, 4, 8, 16, 32, 64)
LINKS_GBIT = (1, 10, 100)
LATENCY_S = 30e-6  # per message hop on a commodity Ethernet/TCP path


def allreduce_seconds(nbytes: float, machines: int, gbit: float) -> float:
    """A ring allreduce: every machine sends and receives 2 (P - 1) / P of the buffer, in
    2 (P - 1) messages (reduce-scatter, then allgather)."""
    if machines == 1:
        return 0.0
    return 2 * (machines - 1) / machines * nbytes / (gbit * 1e9 / 8) + 2 * (machines - 1) * LATENCY_S


def small_allreduce_seconds(nbytes: float, machines: int, gbit: float) -> float:
    """An allreduce of a small buffer (MPICH: recursive doubling): ceil(log2 P) exchanges of the
    whole buffer, each a message's latency plus its transfer."""
    return math.ceil(math.log2(machines)) * (LATENCY_S + nbytes / (gbit * 1e9 / 8)) if machines > 1 else 0.0


def sync_batch_norm_seconds(name: str, machines: int, gbit: float) -> float:
    """The allreduces synchronised batch norm adds to a step of model `name`: SYNC_BN_ALLREDUCES per
    layer, of about one float32 per channel each, one after another inside the step (each waits
    for the layer before it, and the compute waits for them)."""
    layers = BATCH_NORM_LAYERS.get(name, 0)
    if not layers:
        return 0.0
    mean_bytes = 4 * (MODELS[name][1] / layers + 0.5)
    return SYNC_BN_ALLREDUCES * layers * small_allreduce_seconds(mean_bytes, machines, gbit)


def cost_model(gflops: float, per_machine_batch: int) -> None:
    """Weak scaling (each machine keeps `per_machine_batch` rows): a step is the compute at that
    batch, then the allreduce, not overlapped (graphc reduces once, after the backward pass).
    Speedup over one machine = P * compute / (compute + allreduce). Prints markdown tables."""
    print(f"Assumed: {gflops:g} GFLOP/s sustained per machine, {per_machine_batch} rows per machine, "
          f"{LATENCY_S * 1e6:g} us per message, ring allreduce of float32.\n")
    links = " | ".join(f"{g} Gbit/s: allreduce ms at 64" for g in LINKS_GBIT)
    print(f"| model | MB per step | compute ms | {links} |")
    print("|---|---:|---:|" + "---:|" * len(LINKS_GBIT))
    for name, (nbytes, compute) in _model_costs(gflops, per_machine_batch).items():
        reduce_ms = [f"{1e3 * allreduce_seconds(nbytes, MACHINES[-1], g):.1f}" for g in LINKS_GBIT]
        print(f"| {name} | {nbytes / 1e6:.3f} | {1e3 * compute:.1f} | " + " | ".join(reduce_ms) + " |")
    for gbit in LINKS_GBIT:
        print(f"\nSpeedup over one machine at {gbit} Gbit/s:\n")
        print("| model | " + " | ".join(f"{p} machines" for p in MACHINES) + " |")
        print("|---|" + "---:|" * len(MACHINES))
        for name, (nbytes, compute) in _model_costs(gflops, per_machine_batch).items():
            speedups = [p * compute / (compute + allreduce_seconds(nbytes, p, gbit)) for p in MACHINES]
            print(f"| {name} | " + " | ".join(f"{s:.1f}" for s in speedups) + " |")
    print(f"\nSynchronised batch norm: {SYNC_BN_ALLREDUCES} small allreduces per batch-norm layer per step, "
          f"ms added at 64 machines and speedup at 2-64 machines with them:\n")
    print("| model | allreduces per step | " + " | ".join(f"{g} Gbit/s: ms, speedup" for g in LINKS_GBIT) + " |")
    print("|---|---:|" + "---|" * len(LINKS_GBIT))
    costs = _model_costs(gflops, per_machine_batch)
    for name, layers in BATCH_NORM_LAYERS.items():
        nbytes, compute = costs[name]
        cells = []
        for gbit in LINKS_GBIT:
            extra_ms = 1e3 * sync_batch_norm_seconds(name, MACHINES[-1], gbit)
            speedups = [p * compute / (compute + allreduce_seconds(nbytes, p, gbit)
                                       + sync_batch_norm_seconds(name, p, gbit)) for p in MACHINES]
            cells.append(f"{extra_ms:.1f}; " + ", ".join(f"{s:.1f}" for s in speedups))
        print(f"| {name} | {SYNC_BN_ALLREDUCES * layers} | " + " | ".join(cells) + " |")


def _model_costs(gflops: float, per_machine_batch: int) -> dict[str, tuple[float, float]]:
    """Per model: (bytes allreduced per step: gradients, then running means and variances;
    seconds of compute per step on one machine)."""
    return {name: (4 * (params + 2 * bn_channels), gflop_per_sample * per_machine_batch / gflops)
            for name, (params, bn_channels, gflop_per_sample) in MODELS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per run (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the configurations (default 3)")
    parser.add_argument("--cost-model", action="store_true", help="print the paper cost model instead of measuring")
    parser.add_argument("--gflops", type=float, default=80.0,
                        help="--cost-model: sustained training GFLOP/s of one machine (default 80: this 2-core "
                             "machine on the CIFAR CNN step)")
    parser.add_argument("--batch", type=int, default=32, help="--cost-model: rows per machine (default 32)")
    parser.add_argument("--batch-norm", action="store_true",
                        help="the cnn with batch norm: 1x2, 2x1 and 2x1 with sync_batch_norm=True")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sync", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.distributed, args.repeats, args.batch_norm, args.sync)
    elif args.cost_model:
        cost_model(args.gflops, args.batch)
    else:
        measure(args)


if __name__ == "__main__":
    main()
