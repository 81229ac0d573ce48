"""Simplified listings of a corpus of real graphs, to compare two checkouts of graphc.

The corpus: every model of benchmarks/bench_compile.py (the demo's train and evaluation
graphs included) and small gc.nn.models zoo models (a training step with Adam and an
evaluation each), built in that order in one process as a compile would build them. For
each graph the script writes the listing of its simplified graph (and a digest of its
non-scalar constants) to DIR, and prints the time simplify took. A change to the
simplifier that must not change what it produces leaves the two checkouts' directories
equal:

    cd CHECKOUT_A && python tests/simplify/corpus_listings.py /tmp/a
    cd CHECKOUT_B && python tests/simplify/corpus_listings.py /tmp/b
    diff -r /tmp/a /tmp/b

Not a test (it takes about a minute): `--only NAME[,NAME]` picks graphs.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_compile  # noqa: E402
import graphc as gc  # noqa: E402
from graphc.ir import toposort  # noqa: E402
from graphc.ops.leaves import Constant  # noqa: E402
from graphc.printing.listing import listing  # noqa: E402

#: Small zoo models: the model, the batch's shape.
ZOO = {
    "zoo-lenet5": lambda: (gc.nn.models.lenet5(rng=0), (2, 1, 32, 32)),
    "zoo-digits": lambda: (gc.nn.models.digits_cnn(rng=0), (3, 1, 8, 8)),
    "zoo-digits-bn": lambda: (gc.nn.models.digits_cnn(batch_norm=True, dropout=0.25, rng=0), (3, 1, 8, 8)),
    "zoo-mlp": lambda: (gc.nn.models.mlp(64, 32, 10, rng=0), (5, 64)),
    "zoo-logreg": lambda: (gc.nn.models.logistic_regression(64, 10, rng=0), (5, 64)),
    "zoo-resnet18": lambda: (gc.nn.models.resnet18(num_classes=10, cifar=True, width=8, rng=0), (2, 3, 32, 32)),
    "zoo-mobilenet": lambda: (gc.nn.models.mobilenet_v2(num_classes=10, rng=0), (2, 3, 32, 32)),
    "zoo-squeezenet": lambda: (gc.nn.models.squeezenet1_1(num_classes=10, rng=0), (2, 3, 64, 64)),
    "zoo-vgg11bn": lambda: (gc.nn.models.vgg11_bn(num_classes=10, rng=0), (2, 3, 32, 32)),
}


def functions(name: str) -> list[tuple[str, gc.Function]]:
    """The named graph's compiled functions (not yet called), labelled."""
    if name in ZOO:
        model, shape = ZOO[name]()
        trainer = gc.nn.Trainer(model, optimizer="adam", lr=0.01, backend="llvm")
        x, y = np.zeros(shape, np.float32), np.zeros(shape[0], np.int64)
        return [(f"{name}_train", trainer.step_function(x, y)), (f"{name}_eval", trainer.evaluate_function(x, y))]
    model = bench_compile.MODELS[name]()
    values, data = (None, None) if name == "demo" else (bench_compile.initial_values(model), bench_compile.batch(model))
    return [(f"{name}_{i}", fn) for i, (fn, _) in enumerate(bench_compile.graphc_calls(gc, model, values, data))]


def constants_digest(outputs: list) -> str:
    digest = hashlib.sha256()
    for node in toposort(outputs):
        if isinstance(node.op, Constant) and node.ndim:
            digest.update(node.op.value.tobytes() + str(node.op.value.dtype).encode())
    return digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--only", default=",".join([*bench_compile.MODELS, *ZOO]))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for name in args.only.split(","):
        cpu = 0.0
        for label, fn in functions(name):
            start = time.process_time()
            simplified = fn.program.prepared()
            cpu += time.process_time() - start
            (args.dir / f"{label}.txt").write_text(f"{listing(simplified)}\nconstants {constants_digest(simplified)}\n")
        print(f"{name:16s} simplify {cpu * 1e3:8.1f} ms cpu", flush=True)


if __name__ == "__main__":
    main()
