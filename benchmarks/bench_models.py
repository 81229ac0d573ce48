"""Training and inference steps of whole CNNs: graphc against torch (eager and compiled) and JAX,
at 1 and 2 threads,
idle and with a spinning process on the other core.

Models (float32, plain SGD, the same weights and data on both sides; the definitions are
bench_compile.py's, so both benchmarks time the same graphs):

- digits: the demo's CNN (conv3x3 16-32 with max-pools, dense 10), batch 64 of 1x8x8;
- cnn: the CIFAR-size CNN, conv3x3 32-32-pool-64-64-pool, dense 4096-256-10, batch 64;
- alexnet: torchvision's AlexNet at 3x224x224 without dropout, batch 8;
- resnet18: gc.nn.models.resnet18(cifar=True) (the 3x3 stem without max-pool), 10 classes, batch 32
  of 3x32x32, BatchNorm in training mode (its running statistics updated by the step); torch
  runs torchvision's resnet18 with the same stem and weights (from gc.nn.models.to_torchvision);
- mobilenet_v2: gc.nn.models.mobilenet_v2 against torchvision's, 10 classes, batch 32 of 3x32x32,
  dropout off (p = 0) so both sides compute the same step.

Peers (--peers, default all that are installed): torch eager; torch.compile of the same
model (inductor, whose C++ needs a compiler on PATH; the backward through AOTAutograd, the
SGD update eager); JAX's jit of the whole step (the update included, parameters donated) for
the models written in bench_compile's vocabulary (not the zoo's: "-" there). The zoo models
(resnet18, mobilenet_v2) need torchvision for the torch sides. JAX's one-thread runs turn
off its Eigen thread pool (XLA_FLAGS); its two-thread runs use its default pool.

Each figure is measured in a child process of its own, with its library's threads set
before it starts (GRAPHC_NUM_THREADS; torch.set_num_threads), as the median of --repeats
steps after warm-up; the sides alternate for --rounds rounds and the table shows the
median of the rounds' medians. Before the first comparison the script checks that one
training step from the same start gives the same loss on both sides.

The table prints ms per step, GFLOP/s (the flops graphc's kernels count for the step:
multiply-adds of convolutions and products as 2 each, plus the elementwise work), and that
rate as a share of the sgemm peak graphc reaches on this machine in the same run (a 1024^3
product through gc.function, per thread count), then each peer's ms and its time over
graphc's (above 1: graphc is faster). `--load` runs every
measurement again beside a process spinning on one core.

    python benchmarks/bench_models.py                      # all models, 1 and 2 threads, idle
    python benchmarks/bench_models.py --only cnn --load --rounds 3
    python benchmarks/bench_models.py --only cnn,alexnet --peers torch,jax
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_compile as shared  # noqa: E402 - the models' definitions

MODELS = {"digits": "demo", "cnn": "cnn", "alexnet": "alexnet", "resnet18": "zoo", "mobilenet_v2": "zoo"}
ZOO_BATCH, ZOO_LR = (32, 3, 32, 32), 0.01


def model(name: str) -> shared.Model:
    """bench_compile's model, renamed: a plain SGD step for every one (the demo's own is Adam's)."""
    return dataclasses.replace(shared.MODELS[MODELS[name]](), name=name, optimizer="sgd", eval_batch=0)


# -- children ---------------------------------------------------------------------------------

def zoo_model(gc: Any, name: str) -> Any:
    """The graphc zoo model of a row (seeded weights)."""
    if name == "resnet18":
        return gc.nn.models.resnet18(num_classes=10, cifar=True, rng=0)
    return gc.nn.models.mobilenet_v2(num_classes=10, dropout=0.0, rng=0)


def zoo_batch() -> tuple:
    import numpy as np

    rng = np.random.default_rng(1)
    return rng.standard_normal(ZOO_BATCH).astype(np.float32), rng.integers(0, 10, ZOO_BATCH[0]).astype(np.int64)


def graphc_zoo(gc: Any, name: str, train: bool) -> tuple:
    """The compiled step (SGD and BatchNorm's running statistics) or inference of a zoo row."""
    net, (xb, yb) = zoo_model(gc, name), zoo_batch()
    x, y = gc.tensor("x", xb.shape), gc.tensor("y", yb.shape, "int64")
    if not train:
        return gc.function([x], net(x), backend="llvm"), (xb,)
    logits = net(x, training=True)
    loss = gc.nn.cross_entropy(logits, y)
    updates = gc.nn.sgd(net.parameters(), loss, lr=ZOO_LR) + net.state_updates(logits)
    return gc.function([x, y], loss, updates=updates, backend="llvm"), (xb, yb)


def torch_zoo(name: str, train: bool, compiled: bool = False) -> tuple:
    """torchvision's twin of a zoo row with graphc's weights: the step or the inference."""
    import torch

    sys.path.insert(0, str(ROOT))
    import graphc as gc

    tv = gc.nn.models.torchvision_models()

    if name == "resnet18":
        net = tv.resnet18(num_classes=10)
        net.conv1, net.maxpool = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False), torch.nn.Identity()
    else:
        net = tv.mobilenet_v2(num_classes=10, dropout=0.0)
    state = gc.nn.models.to_torchvision(zoo_model(gc, name))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    x, y = (torch.from_numpy(a) for a in zoo_batch())
    optimizer = torch.optim.SGD(net.parameters(), lr=ZOO_LR)
    run = torch.compile(net) if compiled else net

    def train_step() -> float:
        loss = torch.nn.functional.cross_entropy(run(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()      # the gradients freed within the step, as graphc's and the CNN's
        return float(loss)

    def infer() -> Any:
        with torch.no_grad():
            return run(x)

    net.train(train)
    return (train_step, None) if train else (infer, None)


def graphc_function(gc: Any, name: str, train: bool) -> tuple:
    """A row's compiled training step (or inference) and the arguments of its calls."""
    if MODELS[name] == "zoo":
        return graphc_zoo(gc, name, train)
    m = model(name)
    values, data = shared.initial_values(m), shared.batch(m)
    if train:
        (fn, args), = shared.graphc_calls(gc, m, values, data)
        return fn, args
    params = {k: gc.shared(v, name=k) for k, v in values.items()}
    x = gc.tensor("x", data[0].shape, data[0].dtype)
    return gc.function([x], m.forward(shared.graphc_ops(gc), params, x), backend="llvm"), (data[0],)


def graphc_child(name: str, train: bool, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import graphc as gc

    fn, args = graphc_function(gc, name, train)
    first = fn(*args)
    loss = float(first[0] if isinstance(first, list) else first.reshape(-1)[0])
    flops = sum(k.flops for k in fn.inspect.kernels())
    return {"seconds": _median_time(lambda: fn(*args), repeats), "first": loss, "flops": flops}


def torch_child(name: str, train: bool, repeats: int, compiled: bool = False) -> dict:
    """torch eager, or torch.compile of the same forward and loss if `compiled`."""
    import torch

    if MODELS[name] == "zoo":
        step, _ = torch_zoo(name, train, compiled)
        first = step()
        first = first if train else float(first.reshape(-1)[0])
        return {"seconds": _median_time(step, repeats), "first": first}
    m = model(name)
    values, (xb, yb) = shared.initial_values(m), shared.batch(m)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
    ops = SimpleNamespace(
        relu=torch.relu, tanh=torch.tanh,
        conv2d=lambda x, w, b, stride, pad: torch.nn.functional.conv2d(x, w, b, stride, pad),
        max_pool2d=lambda x, k, s: torch.nn.functional.max_pool2d(x, k, s),
        flatten=lambda x: torch.flatten(x, 1),
        cross_entropy=torch.nn.functional.cross_entropy,
    )
    x, y = torch.tensor(xb), torch.tensor(yb)
    loss_of = lambda x, y: m.loss(ops, params, x, y)       # noqa: E731
    forward = lambda x: m.forward(ops, params, x)           # noqa: E731
    if compiled:
        loss_of, forward = torch.compile(loss_of), torch.compile(forward)

    def train_step() -> float:
        loss = loss_of(x, y)
        grads = torch.autograd.grad(loss, list(params.values()))
        with torch.no_grad():
            for p, g in zip(params.values(), grads):
                p -= m.lr * g
        return float(loss)

    def infer() -> Any:
        with torch.no_grad():
            return forward(x)

    if train:
        first = train_step()
        for k, v in values.items():                      # time from the same start as graphc
            with torch.no_grad():
                params[k].copy_(torch.tensor(v))
    else:
        first = float(infer().reshape(-1)[0])
    return {"seconds": _median_time(train_step if train else infer, repeats), "first": first}


def jax_child(name: str, train: bool, repeats: int) -> dict:
    """JAX's jit of the step (parameters donated and fed back, as a JAX user writes it) or of
    the forward pass; for the models written in bench_compile's vocabulary (not the zoo's)."""
    import jax
    import jax.numpy as jnp

    m = model(name)
    values, data = shared.initial_values(m), shared.batch(m)
    x = jnp.asarray(data[0])
    if not train:
        forward = jax.jit(lambda p, x: m.forward(shared.jax_ops(), p, x))
        params = {k: jnp.asarray(v) for k, v in values.items()}
        first = float(forward(params, x).reshape(-1)[0])
        return {"seconds": _median_time(lambda: forward(params, x).block_until_ready(), repeats), "first": first}
    (step, (params, x, y)), = shared.jax_calls(m, values, data)
    step = jax.jit(step.__wrapped__, donate_argnums=0)
    state = {"params": params}

    def train_step() -> float:
        loss, state["params"] = step(state["params"], x, y)
        return float(loss)                 # waits for the step, as the other sides' float(loss)

    first = train_step()
    return {"seconds": _median_time(train_step, repeats), "first": first}


def sgemm_child(repeats: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import graphc as gc

    n = 1024
    a, b = gc.tensor("a", (n, n)), gc.tensor("b", (n, n))
    f = gc.function([a, b], a @ b, backend="llvm")
    rng = np.random.default_rng(0)
    av, bv = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    f(av, bv)
    return {"gflops": 2 * n ** 3 / _median_time(lambda: f(av, bv), repeats) / 1e9}


def _median_time(step: Any, repeats: int) -> float:
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- parent -----------------------------------------------------------------------------------

def run(kind: str, args: list[str], threads: int) -> dict:
    env = {**os.environ, "GRAPHC_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "TORCH_NUM_THREADS": str(threads)}
    if kind == "jax" and threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(threads), *args], env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        return {"error": (out.stderr.strip() or out.stdout.strip() or "no output").splitlines()[-1][:160]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def spin() -> None:
    """Keep one core busy (the --load measurements)."""
    while True:
        pass


#: The sides besides graphc, and what each needs to run.
PEERS = ("torch", "torch.compile", "jax")


def installed(peer: str) -> bool:
    """Whether `peer` can run here: its module imports (torch.compile also needs a C++ compiler)."""
    module = "jax" if peer == "jax" else "torch"
    if peer == "torch.compile" and not (shutil.which("c++") or shutil.which("g++")):
        return False
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def fmt_ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="models, comma-separated: " + ",".join(MODELS))
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--repeats", type=int, default=20, help="timed steps per child (default 20)")
    ap.add_argument("--rounds", type=int, default=2, help="children per side and setting (default 2)")
    ap.add_argument("--load", action="store_true", help="also measure beside a spinning process")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="sides to compare, of " + ",".join(PEERS) + " (default: all that are installed)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, threads, *rest = args.child
        if kind == "sgemm":
            result = sgemm_child(int(rest[0]))
        else:
            name, mode, repeats = rest
            train, steps = mode == "train", int(repeats)
            if kind.startswith("torch"):
                import torch
                torch.set_num_threads(int(threads))
                result = torch_child(name, train, steps, compiled=kind == "torch.compile")
            else:
                result = (graphc_child if kind == "graphc" else jax_child)(name, train, steps)
        print(json.dumps(result))
        return

    names = args.only.split(",") if args.only else list(MODELS)
    thread_counts = [int(t) for t in args.threads.split(",")]
    unknown = set(args.peers.split(",")) - set(PEERS)
    if unknown:
        ap.error(f"--peers: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PEERS)}")
    peers = [p for p in PEERS if p in args.peers.split(",") and installed(p)]
    loads = [False, True] if args.load else [False]
    print(f"CPU: {shared.cpu_name()}, {os.cpu_count()} cores; graphc {shared.checkout()}; "
          f"medians of {args.rounds} rounds x {args.repeats} steps; peers: {', '.join(peers) or 'none'}")
    rows = []
    for loaded in loads:
        spinner = multiprocessing.Process(target=spin, daemon=True) if loaded else None
        if spinner:
            spinner.start()
        try:
            for threads in thread_counts:
                peak = statistics.median(run("sgemm", [str(args.repeats)], threads).get("gflops", float("nan"))
                                         for _ in range(args.rounds))
                for name in names:
                    for mode in ("train", "infer"):
                        sides: dict[str, list] = {side: [] for side in ("graphc", *peers)}
                        work, first = 0, {}
                        runnable = [side for side in sides if side != "jax" or MODELS[name] != "zoo"]
                        for _ in range(args.rounds):
                            for side in runnable:
                                got = run(side, [name, mode, str(args.repeats)], threads)
                                if "error" in got:
                                    print(f"{name} {mode} {side} {threads} threads: {got['error']}", flush=True)
                                sides[side].append(got.get("seconds"))
                                work = got.get("flops", work)
                                first.setdefault(side, got.get("first"))
                        _check_same_start(name, mode, first)
                        times = {side: _median_or_none(values) for side, values in sides.items()}
                        rows.append((name, mode, threads, "spinning" if loaded else "idle", times, work, peak))
                        _print_row(rows[-1])
        finally:
            if spinner:
                spinner.terminate()


def _check_same_start(name: str, mode: str, first: dict) -> None:
    """Warn when a peer's first loss (or first output) differs from graphc's: then they are not
    timing the same computation."""
    g = first.get("graphc")
    for peer, t in first.items():
        if g is not None and t is not None and abs(g - t) > 1e-3 * max(1.0, abs(t)):
            print(f"WARNING {name} {mode}: graphc's first result {g:.6g} differs from {peer}'s {t:.6g}", flush=True)


def _median_or_none(values: list) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _print_row(row: tuple) -> None:
    """graphc's ms, rate and share of the sgemm peak, then each peer's ms and peer/graphc."""
    name, mode, threads, load, times, work, peak = row
    g = times["graphc"]
    rate = work / g / 1e9 if g else None
    share = f"{100 * rate / peak:.0f}%" if rate and peak == peak else "-"
    peers = "".join(f"  {peer} {fmt_ms(t):>8} ms {f'{t / g:.2f}x' if g and t else '-':>6}"
                    for peer, t in times.items() if peer != "graphc")
    print(f"{name:<8} {mode:<5} {threads} thr {load:<8}  graphc {fmt_ms(g):>8} ms  {rate or 0:6.1f} GFLOP/s  "
          f"{share:>4} of sgemm peak ({peak:.0f} GFLOP/s){peers}", flush=True)


if __name__ == "__main__":
    main()
