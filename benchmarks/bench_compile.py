"""Compile time of training steps with the llvm backend, cold and warm, beside JAX's jit.

What it measures, per graph, each figure in a fresh child process (nothing carries over:
imports, loaded code, memos) and the median over --repeats children:

- graphc cold: the step's graph built (forward, `gc.grad` through `gc.nn.sgd`), `gc.function`,
  and the first call, with an empty disk cache (GRAPHC_CACHE_DIR a new directory);
- graphc warm: the same in a new process whose cache an earlier (cold) process filled;
  "warm start" is its first call less a later call's run (loading the step, not building
  the user's graph nor running it; page faults of a first step's new arrays stay in it);
- JAX cold / warm: `jax.jit` of the same step (`jax.value_and_grad` and the same update)
  and its first call, blocked until done, with JAX's persistent compilation cache empty /
  filled by an earlier process (only where JAX is installed; it is no dependency of graphc);
- kernels: the kernels the compiled step runs and, where `f.inspect.compile_times()` has
  these counts, how many are distinct, how many of those a cold start compiled and how
  many a warm start loaded from the cache (all counts are in the JSON);
- the first call's phases from `f.inspect.compile_times()` (other: the rest of the first
  call: argument checks, the run itself, Python's collection of the compiler's garbage);
- run: a later call of the compiled step, graphc's and JAX's: the part of the figures
  above that is running, not compiling;
- cpu: CPU seconds of the cold compile in the child's own process, and of the whole cold
  child with every process it started (compile helpers), imports included: steadier
  figures than wall time when other work shares the machine.

Imports are timed apart and not in the figures above: `import graphc`, then gc.nn,
llvmlite and sympy (which a first compile would load), and `import jax` with JAX's CPU
client. The graphs, float32, each one training step with plain SGD unless said:

- mlp-L: L tanh layers 64 wide and a 10-class softmax head, batch 32 (L = 4, 8, 16, 32, 64);
- cnn: conv3x3 32-32-maxpool-64-64-maxpool, dense 4096-256-10, relu, 'same' padding,
  batch 64 of 3x32x32;
- alexnet: torchvision's AlexNet without dropout, batch 8 of 3x224x224 (1000 classes);
- demo: what `graphc demo` compiles: the digits CNN's Adam step (batch 64) and its
  evaluation (loss and accuracy, batch 360, the test set), built with gc.nn.Trainer; JAX
  gets the same architecture, Adam step and evaluation;
- lstm-T: an LSTM unrolled over T steps (T = 8, 32), input and hidden 32, batch 16, loss
  the mean square error of the last hidden state against a target;
- import: `import graphc` (and `import jax`) in a fresh process.

Every model is written once, as a function over a small vocabulary of ops (`graphc_ops`,
`jax_ops`), so both compilers get the same graph. The script measures the graphc of
the checkout it sits in (it puts that checkout first on sys.path). Where
PYTHONDONTWRITEBYTECODE is set, the children get a bytecode cache of their own in the
temp dir (an installed package has its .pyc files), unless --no-pyc.

    python benchmarks/bench_compile.py                        # everything, 3 repeats
    python benchmarks/bench_compile.py --only mlp,import --repeats 5 --plot mlp.png
    python benchmarks/bench_compile.py --only lstm-32 --repeats 1 --json lstm.json
    options: --repeats N, --only NAME[,NAME] (a name or a prefix: mlp, lstm),
             --threads N (GRAPHC_NUM_THREADS of the graphc children; JAX keeps its defaults),
             --slow S (a graph whose first cold compile takes over S s runs once),
             --timeout S (per child), --no-jax, --no-pyc, --json FILE, --plot FILE
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
MLP_DEPTHS = (4, 8, 16, 32, 64)
LSTM_STEPS = (8, 32)
HEAVY_IMPORTS = ("sympy", "llvmlite", "tqdm", "sklearn", "networkx", "matplotlib", "scipy", "jax")


# -- the models: each written once over an `ops` vocabulary ---------------------------------

@dataclass(frozen=True)
class Model:
    """A training step to time: parameter shapes, batch shapes, and the loss as a function
    `loss(ops, params, x, y)` over an ops vocabulary, so graphc and JAX get the same graph."""

    name: str
    params: dict[str, tuple]
    x: tuple
    y: tuple  # 1-d: class labels; else float targets
    loss: Callable[..., Any]
    forward: Optional[Callable[..., Any]] = None  # forward(ops, params, x): the logits
    classes: int = 10
    optimizer: str = "sgd"
    lr: float = 0.01
    eval_batch: int = 0  # > 0: also compile the inference-mode loss and accuracy at this batch


def sequential(name: str, layers: list[tuple], x: tuple, **options: Any) -> Model:
    """A feed-forward model from a layer list: ("conv", out, kernel, stride, padding),
    ("pool", kernel, stride), ("dense", units), ("flatten",), or an activation ("relu",)."""
    params: dict[str, tuple] = {}
    shape = x[1:]
    for i, (kind, *args) in enumerate(layers):
        if kind == "conv":
            out, k, s, p = args
            params[f"{i}.w"], params[f"{i}.b"] = (out, shape[0], k, k), (out,)
            shape = (out, *((n + 2 * p - k) // s + 1 for n in shape[1:]))
        elif kind == "pool":
            k, s = args
            shape = (shape[0], *((n - k) // s + 1 for n in shape[1:]))
        elif kind == "flatten":
            shape = (math.prod(shape),)
        elif kind == "dense":
            params[f"{i}.w"], params[f"{i}.b"] = (shape[0], args[0]), (args[0],)
            shape = (args[0],)

    def loss(ops: SimpleNamespace, p: dict, xs: Any, ys: Any) -> Any:
        return ops.cross_entropy(forward(ops, p, xs), ys)

    def forward(ops: SimpleNamespace, p: dict, h: Any) -> Any:
        for i, (kind, *args) in enumerate(layers):
            if kind == "conv":
                h = ops.conv2d(h, p[f"{i}.w"], p[f"{i}.b"], args[2], args[3])
            elif kind == "pool":
                h = ops.max_pool2d(h, *args)
            elif kind == "dense":
                h = h @ p[f"{i}.w"] + p[f"{i}.b"]
            else:
                h = getattr(ops, kind)(h)
        return h

    return Model(name, params, x, (x[0],), loss, forward, classes=shape[0], **options)


def mlp(depth: int) -> Model:
    """mlp-L: L tanh layers 64 wide, then a 10-class head; batch 32."""
    return sequential(f"mlp-{depth}", [("dense", 64), ("tanh",)] * depth + [("dense", 10)], (32, 64))


def cnn() -> Model:
    """CIFAR-size CNN: conv3x3 32-32-pool-64-64-pool, dense 4096-256-10; batch 64."""
    conv = [("conv", 32, 3, 1, 1), ("relu",), ("conv", 32, 3, 1, 1), ("relu",), ("pool", 2, 2),
            ("conv", 64, 3, 1, 1), ("relu",), ("conv", 64, 3, 1, 1), ("relu",), ("pool", 2, 2)]
    return sequential("cnn", conv + [("flatten",), ("dense", 256), ("relu",), ("dense", 10)], (64, 3, 32, 32))


def alexnet() -> Model:
    """torchvision's AlexNet at 3x224x224 without dropout; batch 8."""
    layers = [("conv", 64, 11, 4, 2), ("relu",), ("pool", 3, 2), ("conv", 192, 5, 1, 2), ("relu",), ("pool", 3, 2),
              ("conv", 384, 3, 1, 1), ("relu",), ("conv", 256, 3, 1, 1), ("relu",), ("conv", 256, 3, 1, 1),
              ("relu",), ("pool", 3, 2), ("flatten",), ("dense", 4096), ("relu",), ("dense", 4096), ("relu",),
              ("dense", 1000)]
    return sequential("alexnet", layers, (8, 3, 224, 224))


def demo() -> Model:
    """The demo's digits CNN (gc.nn.models.digits_cnn) with Adam, and its evaluation; graphc
    builds it through gc.nn.Trainer as `graphc demo` does, JAX from this description."""
    layers = [("conv", 16, 3, 1, 1), ("relu",), ("pool", 2, 2), ("conv", 32, 3, 1, 1), ("relu",), ("pool", 2, 2),
              ("flatten",), ("dense", 10)]
    return sequential("demo", layers, (64, 1, 8, 8), optimizer="adam", lr=0.003, eval_batch=360)


def lstm(steps: int, batch: int = 16, features: int = 32, hidden: int = 32) -> Model:
    """An LSTM unrolled over `steps`, loss the mean square error of the last hidden state."""
    params = {"w": (features, 4 * hidden), "u": (hidden, 4 * hidden), "b": (4 * hidden,)}

    def loss(ops: SimpleNamespace, p: dict, xs: Any, ys: Any) -> Any:
        h = c = ops.zeros((batch, hidden))
        for t in range(steps):
            z = xs[t] @ p["w"] + h @ p["u"] + p["b"]
            i, f, g, o = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
        return ops.mean_square(h - ys)

    return Model(f"lstm-{steps}", params, (steps, batch, features), (batch, hidden), loss)


MODELS: dict[str, Callable[[], Model]] = {
    **{f"mlp-{d}": (lambda d=d: mlp(d)) for d in MLP_DEPTHS},
    "cnn": cnn, "alexnet": alexnet, "demo": demo,
    **{f"lstm-{t}": (lambda t=t: lstm(t)) for t in LSTM_STEPS},
}


def initial_values(model: Model) -> dict:
    """Seeded float32 parameters (He-scaled weights, zero biases): the same for both compilers."""
    import numpy as np

    rng = np.random.default_rng(0)
    values = {}
    for name, shape in model.params.items():
        fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
        scale = (2.0 / fan_in) ** 0.5 if len(shape) > 1 else 0.0
        values[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return values


def batch(model: Model, size: Optional[int] = None) -> tuple:
    """A seeded batch (x, y), with `size` rows instead of the model's batch if given."""
    import numpy as np

    rng = np.random.default_rng(1)
    x_shape = model.x if size is None else (size, *model.x[1:])
    x = rng.standard_normal(x_shape).astype(np.float32)
    if len(model.y) == 1:
        return x, rng.integers(0, model.classes, x_shape[0]).astype(np.int64)
    return x, rng.standard_normal(model.y).astype(np.float32)


# -- graphc -------------------------------------------------------------------------------

def graphc_ops(gc: Any) -> SimpleNamespace:
    """The models' vocabulary over graphc nodes."""
    import numpy as np

    return SimpleNamespace(
        tanh=gc.tanh, sigmoid=gc.sigmoid, relu=gc.relu,
        conv2d=lambda x, w, b, stride, pad: gc.nn.conv2d(x, w, b, stride=stride, padding=pad),
        max_pool2d=lambda x, k, s: gc.nn.max_pool2d(x, k, s),
        flatten=lambda x: gc.flatten(x, 1),
        cross_entropy=gc.nn.cross_entropy,
        mean_square=lambda x: gc.mean(gc.square(x)),
        zeros=lambda shape: gc.constant(np.zeros(shape, np.float32)),
    )


def graphc_calls(gc: Any, model: Model, values: dict, data: tuple) -> list[tuple[Any, tuple]]:
    """The compiled functions of the model's step, each with the arguments of its first call
    (`values`: the initial parameters, `data`: a batch)."""
    if model.name == "demo":
        return graphc_demo_calls(gc, model)
    params = {name: gc.shared(value, name=name) for name, value in values.items()}
    xb, yb = data
    x, y = gc.tensor("x", xb.shape, xb.dtype), gc.tensor("y", yb.shape, yb.dtype)
    loss = model.loss(graphc_ops(gc), params, x, y)
    step = gc.function([x, y], loss, updates=gc.nn.sgd(list(params.values()), loss, lr=model.lr), backend="llvm")
    return [(step, (xb, yb))]


def graphc_demo_calls(gc: Any, model: Model) -> list[tuple[Any, tuple]]:
    """The demo's step and evaluation, built as `graphc demo` builds them."""
    trainer = gc.nn.Trainer(gc.nn.models.digits_cnn(rng=0), optimizer=model.optimizer, lr=model.lr, backend="llvm")
    train, test = batch(model), batch(model, model.eval_batch)
    return [(trainer.step_function(*train), train), (trainer.evaluate_function(*test), test)]


def graphc_child(name: str) -> dict:
    """Build and first-call the model's functions in this (fresh) process; times in seconds."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import graphc as gc
    t1 = time.perf_counter()
    import graphc.nn  # noqa: F401 - what a first compile loads, timed apart as `import jax` is
    import llvmlite.binding  # noqa: F401
    import sympy  # noqa: F401
    t2 = time.perf_counter()
    model = MODELS[name]()
    values, data = initial_values(model), batch(model)  # AlexNet's take seconds: not compiling
    t3, c3 = time.perf_counter(), time.process_time()
    calls = graphc_calls(gc, model, values, data)
    t4 = time.perf_counter()
    phases: dict[str, float] = {}
    counters: dict[str, float] = {}
    kernels = 0
    for fn, args in calls:
        fn(*args)
    t5, c5 = time.perf_counter(), time.process_time()
    for fn, _ in calls:             # after the clock: inspecting loads modules a compile does not need
        kernels += read_inspect(fn, phases, counters)
    phases["other"] = (t5 - t4) - sum(phases.values())
    t6 = time.perf_counter()
    for fn, args in calls:
        fn(*args)
    run = time.perf_counter() - t6
    return {"import graphc": t1 - t0, "other imports": t2 - t1, "graph": t4 - t3, "first calls": t5 - t4,
            "start": (t5 - t4) - run, "compile": t5 - t3, "compile cpu": c5 - c3, "run": run,
            "phases": phases, "counters": counters, "kernels": kernels, "graphc": str(Path(gc.__file__).parent)}


def read_inspect(fn: Any, phases: dict, counters: dict) -> int:
    """Add fn's compile phases (seconds) and kernel counters (entries named "kernels ...", or
    a `counts`/`counters` mapping, where the backend has them) to the totals; its kernels."""
    inspect = getattr(fn, "inspect", None)
    if inspect is None:
        return 0
    times = inspect.compile_times()
    named = dict(getattr(times, "counts", None) or getattr(times, "counters", None) or {})
    for key, value in dict(times).items():
        if key.startswith("kernels"):
            named[key] = value
        else:
            phases[key] = phases.get(key, 0.0) + value
    for key, value in named.items():
        counters[key] = counters.get(key, 0) + value
    return len(inspect.kernels())


# -- JAX ----------------------------------------------------------------------------------

def jax_ops() -> SimpleNamespace:
    """The models' vocabulary over JAX arrays (NCHW images, OIHW filters, as graphc)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def conv2d(x: Any, w: Any, b: Any, stride: int, pad: int) -> Any:
        y = lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad)] * 2,
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b[None, :, None, None]

    def cross_entropy(logits: Any, labels: Any) -> Any:
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))

    return SimpleNamespace(
        tanh=jnp.tanh, sigmoid=jax.nn.sigmoid, relu=jax.nn.relu, conv2d=conv2d,
        max_pool2d=lambda x, k, s: lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, s, s), "VALID"),
        flatten=lambda x: x.reshape(x.shape[0], -1),
        cross_entropy=cross_entropy,
        mean_square=lambda x: jnp.mean(x * x),
        zeros=lambda shape: jnp.zeros(shape, jnp.float32),
    )


def jax_calls(model: Model, values: dict, data: tuple) -> list[tuple[Callable, tuple]]:
    """The jitted step (and evaluation, for the demo), each with its first call's arguments
    (`values`: the initial parameters, `data`: a batch)."""
    import jax
    import jax.numpy as jnp

    ops = jax_ops()
    params = {k: jnp.asarray(v) for k, v in values.items()}

    def loss(p: dict, x: Any, y: Any) -> Any:
        return model.loss(ops, p, x, y)

    def sgd(p: dict, x: Any, y: Any) -> tuple:
        value, grads = jax.value_and_grad(loss)(p, x, y)
        return value, jax.tree.map(lambda w, g: w - model.lr * g, p, grads)

    def adam(state: tuple, x: Any, y: Any, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> tuple:
        p, m, v, t = state
        value, grads = jax.value_and_grad(loss)(p, x, y)
        t = t + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        rate = model.lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return value, (jax.tree.map(lambda w, m, v: w - rate * m / (jnp.sqrt(v) + eps), p, m, v), m, v, t)

    def evaluate(p: dict, x: Any, y: Any) -> tuple:
        logits = model.forward(ops, p, x)
        return ops.cross_entropy(logits, y), jnp.sum(jnp.argmax(logits, 1) == y)

    x, y = (jnp.asarray(a if a.dtype.kind == "f" else a.astype("int32")) for a in data)
    if model.optimizer == "adam":
        zeros = jax.tree.map(jnp.zeros_like, params)
        calls = [(jax.jit(adam), ((params, zeros, zeros, jnp.float32(0)), x, y))]
    else:
        calls = [(jax.jit(sgd), (params, x, y))]
    if model.eval_batch:
        xe, ye = batch(model, model.eval_batch)
        calls.append((jax.jit(evaluate), (params, jnp.asarray(xe), jnp.asarray(ye.astype("int32")))))
    return calls


def jax_child(name: str, cache: str) -> dict:
    """Jit and first-call the model's step in this (fresh) process, with JAX's persistent
    compilation cache in `cache` (every entry kept)."""
    t0 = time.perf_counter()
    import jax

    jax.devices()  # the CPU client, made once per process: with the import, not the compile
    t1 = time.perf_counter()
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    model = MODELS[name]()
    values, data = initial_values(model), batch(model)
    t2, c2 = time.perf_counter(), time.process_time()
    calls = jax_calls(model, values, data)
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    t3, c3 = time.perf_counter(), time.process_time()
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    t4 = time.perf_counter()
    return {"import jax": t1 - t0, "compile": t3 - t2, "compile cpu": c3 - c2, "run": t4 - t3,
            "jax": jax.__version__}


def warmup_child() -> dict:
    """Import and compile once, so that the measured children find every module's bytecode."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GRAPHC_CACHE_DIR"] = cache
        sys.path.insert(0, str(ROOT))
        import graphc as gc
        import numpy as np

        x = gc.tensor("x", (4,))
        gc.function([x], gc.nn.softmax(gc.tanh(x) * 2))(np.ones(4, np.float32))
    if jax_available():
        import jax

        jax.jit(lambda v: v * 2)(1.0)
    return {}


def import_child(module: str) -> dict:
    """`import module` in this fresh process, and which heavy modules it loaded."""
    if module == "graphc":
        sys.path.insert(0, str(ROOT))
    before = set(sys.modules)
    t0 = time.perf_counter()
    __import__(module)
    seconds = time.perf_counter() - t0
    loaded = sorted(m for m in HEAVY_IMPORTS if m in set(sys.modules) - before and m != module)
    return {"import": seconds, "heavy modules loaded": loaded}


# -- the parent: children, medians, tables --------------------------------------------------

@dataclass
class Runs:
    """The child results of one graph, by kind (graphc cold, graphc warm, jax cold, jax warm)."""

    rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, kind: str, result: dict) -> dict:
        self.rows.setdefault(kind, []).append(result)
        return result

    def median(self, kind: str, key: str = "compile", sub: Optional[str] = None) -> Optional[float]:
        values = [(r.get(sub, {}) if sub else r).get(key) for r in self.rows.get(kind, []) if "error" not in r]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def error(self, kind: str) -> Optional[str]:
        return next((r["error"] for r in self.rows.get(kind, []) if "error" in r), None)


def bytecode_env(args: argparse.Namespace) -> dict:
    """With PYTHONDONTWRITEBYTECODE set (as in some sandboxes), each child would compile
    graphc's source anew, adding to its imports and first llvm gc.function what an installed
    package doesn't pay: unless --no-pyc, children get a bytecode cache in the temp dir."""
    if args.no_pyc or not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return {}
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "graphc-bench-pyc")}


def run_child(args: list[str], env: dict, timeout: float) -> dict:
    """One child process of this script: its JSON result, or {"error": ...}, with "all cpu",
    the CPU seconds of the child and every process it started (compile helpers too)."""
    before = children_cpu()
    try:
        out = subprocess.run([sys.executable, __file__, "--child", *args], env={**os.environ, **env},
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if out.returncode != 0:
        lines = (out.stderr.strip() or out.stdout.strip() or "no output").splitlines()
        return {"error": lines[-1][:200]}
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "all cpu": children_cpu() - before}


def children_cpu() -> float:
    """User and system seconds of this process's finished children and their descendants."""
    try:
        import resource
    except ImportError:  # not on Unix
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_graph(name: str, args: argparse.Namespace, jax: bool) -> Runs:
    """Cold then warm children, graphc and JAX, --repeats times (once for a slow graph)."""
    runs = Runs()
    env = {**bytecode_env(args), "GRAPHC_NUM_THREADS": str(args.threads)}
    repeats = args.repeats
    r = 0
    while r < repeats:
        with tempfile.TemporaryDirectory() as cache:
            env["GRAPHC_CACHE_DIR"] = cache
            cold = runs.add("graphc cold", run_child(["graphc", name], env, args.timeout))
            if "error" not in cold:
                runs.add("graphc warm", run_child(["graphc", name], env, args.timeout))
            if r == 0 and cold.get("compile", 0) > args.slow:
                repeats = 1
        if jax:
            with tempfile.TemporaryDirectory() as cache:
                if "error" not in runs.add("jax cold", run_child(["jax", name, cache], env, args.timeout)):
                    runs.add("jax warm", run_child(["jax", name, cache], env, args.timeout))
        r += 1
        progress(name, runs, r, repeats)
    return runs


def progress(name: str, runs: Runs, done: int, repeats: int) -> None:
    figures = "  ".join(f"{kind} {fmt(runs.median(kind), runs.error(kind))}" for kind in runs.rows)
    print(f"  {name} [{done}/{repeats}]  {figures}", file=sys.stderr, flush=True)


def measure_imports(args: argparse.Namespace, jax: bool) -> dict[str, list[dict]]:
    """`import graphc` (and `import jax`) in fresh processes, at least 5 of each."""
    modules = ["graphc"] + (["jax"] if jax else [])
    env = bytecode_env(args)
    return {m: [run_child(["import", m], env, args.timeout) for _ in range(max(args.repeats, 5))] for m in modules}


def fmt(seconds: Optional[float], error: Optional[str] = None, width: int = 0) -> str:
    text = "fail" if error and seconds is None else "-" if seconds is None else (
        f"{seconds * 1e3:.1f} ms" if seconds < 0.01 else f"{seconds * 1e3:.0f} ms" if seconds < 1
        else f"{seconds:.2f} s")
    return f"{text:>{width}}"


def counter(runs: Runs, kind: str, word: str) -> str:
    """The median of the counter whose name holds `word` ("distinct", "compiled", "loaded")."""
    rows = [r for r in runs.rows.get(kind, []) if "error" not in r]
    keys = sorted({k for r in rows for k in r.get("counters", {}) if word in k})
    if not keys:
        return "-"
    return f"{statistics.median(r['counters'].get(keys[0], 0) for r in rows):.0f}"


def summary_table(results: dict[str, Runs]) -> str:
    head = (f"{'graph':<10}{'graphc cold':>13}{'graphc warm':>13}{'warm start':>12}{'JAX cold':>11}"
            f"{'JAX warm':>11}{'run':>9}"
            f"{'JAX run':>9}{'kernels':>9}{'distinct':>10}{'compiled':>10}{'loaded':>8}{'cold cpu':>10}"
            f"{'all cpu':>10}{'n':>3}")
    lines = [head]
    for name, runs in results.items():
        kernels = runs.median("graphc cold", "kernels")
        lines.append(
            f"{name:<10}{fmt(runs.median('graphc cold'), runs.error('graphc cold'), 13)}"
            f"{fmt(runs.median('graphc warm'), runs.error('graphc warm'), 13)}"
            f"{fmt(runs.median('graphc warm', 'start'), None, 12)}"
            f"{fmt(runs.median('jax cold'), runs.error('jax cold'), 11)}"
            f"{fmt(runs.median('jax warm'), runs.error('jax warm'), 11)}"
            f"{fmt(runs.median('graphc warm', 'run'), None, 9)}{fmt(runs.median('jax warm', 'run'), None, 9)}"
            f"{'-' if kernels is None else f'{kernels:.0f}':>9}"
            f"{counter(runs, 'graphc cold', 'distinct'):>10}{counter(runs, 'graphc cold', 'compiled'):>10}"
            f"{counter(runs, 'graphc warm', 'loaded'):>8}"
            f"{fmt(runs.median('graphc cold', 'compile cpu'), None, 10)}"
            f"{fmt(runs.median('graphc cold', 'all cpu'), None, 10)}{len(runs.rows.get('graphc cold', [])):>3}")
    return "\n".join(lines)


def phase_table(name: str, runs: Runs) -> str:
    """The graphc runs' phases (medians, ms): graph building, each compile phase, other."""
    kinds = [k for k in ("graphc cold", "graphc warm") if runs.median(k) is not None]
    phases = list(dict.fromkeys(p for k in kinds for r in runs.rows[k] if "error" not in r for p in r["phases"]))
    columns = ["graph"] + phases
    lines = [f"{name:<12}" + "".join(f"{c:>12}" for c in columns)]
    for kind in kinds:
        cells = [runs.median(kind, "graph")] + [runs.median(kind, p, "phases") for p in phases]
        lines.append(f"{kind:<12}" + "".join(f"{'-' if v is None else f'{v * 1e3:.1f}':>12}" for v in cells))
    return "\n".join(lines)


def mlp_table(results: dict[str, Runs]) -> tuple[str, list[tuple]]:
    """Cold compile time against depth L, and the increment per layer."""
    points = [(int(n.split("-")[1]), r) for n, r in results.items() if n.startswith("mlp-")]
    rows = [(depth, runs.median("graphc cold"), runs.median("graphc warm"), runs.median("jax cold"))
            for depth, runs in sorted(points)]
    lines = [f"{'L':>4}{'graphc cold':>13}{'per layer':>11}{'graphc warm':>13}{'JAX cold':>11}"]
    for i, (depth, cold, warm, jax_cold) in enumerate(rows):
        prev = rows[i - 1] if i else None
        step = (cold - prev[1]) / (depth - prev[0]) if prev and cold is not None and prev[1] is not None else None
        lines.append(f"{depth:>4}{fmt(cold, None, 13)}{fmt(step, None, 11)}{fmt(warm, None, 13)}"
                     f"{fmt(jax_cold, None, 11)}")
    return "\n".join(lines), rows


def plot_mlp(rows: list[tuple], path: str) -> None:
    """Cold (and warm) compile time against L to a PNG, if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"not writing {path}: matplotlib is not installed")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for column, label in ((1, "graphc cold"), (2, "graphc warm"), (3, "JAX cold")):
        points = [(row[0], row[column]) for row in rows if row[column] is not None]
        if points:
            ax.plot(*zip(*points), marker="o", label=label)
    ax.set(xscale="log", yscale="log", xlabel="tanh layers L (64 wide, batch 32)", ylabel="seconds",
           title="training-step compile time, MLP-L")
    ax.set_xticks([row[0] for row in rows], [str(row[0]) for row in rows])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def checkout() -> str:
    """The measured checkout's commit, marked when graphc's source in it differs."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *cmd], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "graphc")
    return commit + (" + uncommitted changes to graphc/" if changed else "")


def selected(only: Optional[str]) -> list[str]:
    names = list(MODELS) + ["import"]
    if not only:
        return names
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if not any(n == w or n.startswith(w + "-") for n in names)]
    if unknown:
        raise SystemExit(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(names)} (or mlp, lstm)")
    return [n for n in names if any(n == w or n.startswith(w + "-") for w in wanted)]


def jax_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("jax") is not None


def imports_line(results: dict[str, Runs]) -> str:
    """The import times the compile figures leave out, medians over every child."""
    def median(kinds: tuple, key: str) -> str:
        values = [r[key] for runs in results.values() for k in kinds for r in runs.rows.get(k, []) if key in r]
        return fmt(statistics.median(values)) if values else "-"

    graphc, jax = ("graphc cold", "graphc warm"), ("jax cold", "jax warm")
    return (f"left out: import graphc {median(graphc, 'import graphc')}, then gc.nn + llvmlite + sympy "
            f"{median(graphc, 'other imports')}; import jax + its CPU client {median(jax, 'import jax')}")


def report(results: dict[str, Runs], imports: dict[str, list[dict]], args: argparse.Namespace,
           load: tuple) -> None:
    print(f"\ncompile time of training steps (float32), graphc {checkout()} at {ROOT}")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, {args.threads} graphc thread(s); load average "
          f"{load[0]:.2f} before, {os.getloadavg()[0]:.2f} after; medians of fresh processes (n: graphc cold runs)")
    pyc = bytecode_env(args).get("PYTHONPYCACHEPREFIX")
    if pyc or os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(f"bytecode: {'cached in ' + pyc if pyc else 'not cached (graphc compiled from source in every child)'}"
              f" (PYTHONDONTWRITEBYTECODE is set here)")
    if results:
        print("\ncompile = build the graph and gc.function + first call(s), whose run is included (run: a later "
              "call); imports left out.\ncold cpu: the compile's CPU seconds in the child's own process; all cpu: "
              "the cold child's and every process it started (helpers), imports included")
        print(summary_table(results))
        print(imports_line(results))
        for name, runs in results.items():
            print("\n" + phase_table(name, runs))
            missed = sum("simplify" in r.get("phases", {}) for r in runs.rows.get("graphc warm", []))
            if missed:
                print(f"warning: {missed} warm run(s) of {name} missed the cache (did graphc's source change?)")
        if any(n.startswith("mlp-") for n in results):
            text, rows = mlp_table(results)
            print("\nMLP-L: cold compile against depth\n" + text)
            if args.plot:
                plot_mlp(rows, args.plot)
    for module, rows in imports.items():
        ok = [r for r in rows if "error" not in r]
        if ok:
            loaded = ok[0]["heavy modules loaded"]
            print(f"\nimport {module}: {statistics.median(r['import'] for r in ok) * 1e3:.0f} ms median of {len(ok)} "
                  f"fresh processes (min {min(r['import'] for r in ok) * 1e3:.0f} ms); heavy modules loaded: "
                  f"{', '.join(loaded) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per figure (default 3)")
    parser.add_argument("--only", help="comma-separated graphs (or prefixes): " + ", ".join(list(MODELS) + ["import"]))
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="GRAPHC_NUM_THREADS")
    parser.add_argument("--slow", type=float, default=20.0, help="run a graph once if its cold compile takes longer")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child before giving up")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX even where it is installed")
    parser.add_argument("--no-pyc", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE if set: children compile graphc's source each time")
    parser.add_argument("--json", metavar="FILE", help="write the raw results to FILE")
    parser.add_argument("--plot", metavar="FILE", help="plot the MLP's compile time against L to a PNG")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        child = {"graphc": graphc_child, "jax": jax_child, "import": import_child, "warmup": warmup_child}[kind]
        print(json.dumps(child(*rest)))
        return
    names = selected(args.only)
    jax = not args.no_jax and jax_available()
    warmup = run_child(["warmup"], bytecode_env(args), args.timeout)
    if "error" in warmup:
        print(f"warm-up child failed: {warmup['error']}", file=sys.stderr)
    load = os.getloadavg()
    results = {}
    for name in names:
        if name != "import":
            results[name] = measure_graph(name, args, jax)
    imports = measure_imports(args, jax) if "import" in names else {}
    report(results, imports, args, load)
    if args.json:
        raw = {"cpu": cpu_name(), "checkout": checkout(), "threads": args.threads, "load before": load,
               "load after": os.getloadavg(), "graphs": {n: r.rows for n, r in results.items()}, "imports": imports}
        Path(args.json).write_text(json.dumps(raw, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
