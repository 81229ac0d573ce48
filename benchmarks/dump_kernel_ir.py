"""The LLVM IR the emitter writes for the distinct kernels of real models, one file per kernel.

Run it in two checkouts and compare the directories (`diff -r`) to see whether a change to
the emitter changes the code it generates: the same kernel (same canonical key) must give
the same text. Kernels are taken from the compile benchmark's training steps
(bench_compile.MODELS: mlp-4, cnn, alexnet, demo, lstm-8 by default) and from gc.nn's zoo at
small inputs (training step and evaluation); they are recorded as the backend asks for
them and not compiled, so a run takes about a minute. Each file is `<key>.ll`: the
emitter's text (with --optimized, LLVM's after the O3 pipeline too, as `<key>.opt.ll`);
`runner.ll` is the runner's module.

    python benchmarks/dump_kernel_ir.py /tmp/ir-new
    (cd ../other-checkout && python benchmarks/dump_kernel_ir.py /tmp/ir-old)
    diff -r /tmp/ir-old /tmp/ir-new && echo same code
    options: --models NAME[,NAME] (bench_compile's models and zoo names below), --optimized
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: gc.nn zoo models at small inputs: (builder's name and arguments, input shape).
ZOO = {
    "lenet5": (("lenet5",), (2, 1, 32, 32)),
    "zoo-alexnet": (("alexnet", 10), (1, 3, 64, 64)),
    "vgg11_bn": (("vgg11_bn", 10), (2, 3, 32, 32)),
    "resnet18": (("resnet18", 10), (2, 3, 32, 32)),
    "mobilenet_v2": (("mobilenet_v2", 10), (2, 3, 32, 32)),
    "squeezenet1_1": (("squeezenet1_1", 10), (1, 3, 64, 64)),
}
DEFAULT = ("mlp-4", "cnn", "alexnet", "demo", "lstm-8", *ZOO)


class _Recorded(Exception):
    """Raised instead of compiling, once a program's kernels are recorded."""


def record_kernels(names: list[str]) -> dict[str, Any]:
    """The distinct canonical kernels (key -> loop-IR kernel) of the named models' functions."""
    os.environ["GRAPHC_NUM_THREADS"] = "1"                   # no compile helpers: nothing is compiled
    os.environ["GRAPHC_CACHE_DIR"] = tempfile.mkdtemp(prefix="graphc-ir-")
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    import numpy as np

    import bench_compile as bench
    import graphc as gc
    from graphc.backend.llvm import runtime

    kernels: dict[str, Any] = {}

    def record(keys, found, times, compiles=None):
        if found is None:                                    # a lookup of cached kernels only
            return None
        kernels.update((key, k) for key, k in found.items() if key not in kernels)
        raise _Recorded()

    runtime.kernel_addresses = record

    def first_call(fn: Any, args: tuple) -> None:
        try:
            fn(*args)
        except _Recorded:
            pass

    for name in names:
        if name in ZOO:
            (builder, *options), shape = ZOO[name]
            rng = np.random.default_rng(0)
            x = rng.standard_normal(shape).astype(np.float32)
            y = rng.integers(0, 10, shape[0]).astype(np.int64)
            trainer = gc.nn.Trainer(getattr(gc.nn.models, builder)(*options), backend="llvm")
            first_call(trainer.step_function(x, y), (x, y))
            first_call(trainer.evaluate_function(x, y), (x, y))
        else:
            model = bench.MODELS[name]()
            for fn, args in bench.graphc_calls(gc, model, bench.initial_values(model), bench.batch(model)):
                first_call(fn, args)
    return kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", default=",".join(DEFAULT))
    parser.add_argument("--optimized", action="store_true")
    args = parser.parse_args()
    kernels = record_kernels(args.models.split(","))
    from graphc.backend.llvm import jit
    from graphc.backend.llvm.emitter import emit_kernel, emit_runner
    from graphc.backend.llvm.runtime import RUNNER_SYMBOL, kernel_symbol

    args.out.mkdir(parents=True, exist_ok=True)
    modules = {"runner": str(emit_runner(RUNNER_SYMBOL))}
    modules.update((key, str(emit_kernel(k, kernel_symbol(key)))) for key, k in kernels.items())
    for name, text in modules.items():
        (args.out / f"{name}.ll").write_text(text)
        if args.optimized:
            with jit.lock:
                (args.out / f"{name}.opt.ll").write_text(str(jit.optimize(text)[0]))
    print(f"{len(modules)} modules (the runner and {len(kernels)} kernels) in {args.out}")


if __name__ == "__main__":
    main()
