"""The AlexNet of 2012 (gc.nn.models.alexnet_original: LRN, two groups, 3x227x227 inputs):
its loss and every parameter's gradient compiled into one native call, then profiled
kernel by kernel.

The llvm backend compiles the loss and all the parameter gradients into one native
call; `f.inspect.kernels()` lists the kernels that call runs (the graph ops fused into
each, its output shape, its FLOPs) and `f.inspect.profile(*args)` times each kernel
inside the call.

Run: python examples/alexnet.py [--batch 4] [--top 15] [--backend llvm] [--quick]
(--quick: batch 1 and 10 classes, one profiled run: what the tests run)
"""
import argparse
import time

import numpy as np

import graphc as gc
from profile_table import profile_step


def main(batch: int, classes: int, top: int, backend: str, repeat: int) -> None:
    model = gc.nn.models.alexnet_original(num_classes=classes, rng=0)
    print(model)
    print(f"{model.num_parameters():,} parameters")
    x = gc.tensor("x", (batch, 3, 227, 227))
    y = gc.tensor("y", (batch,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    params = model.parameters()
    step = gc.function([x, y], [loss] + gc.grad(loss, params), backend=backend)

    rng = np.random.default_rng(0)
    xb = rng.random((batch, 3, 227, 227), dtype=np.float32)
    yb = rng.integers(0, classes, batch)
    what = f"forward + backward at batch {batch} on the {backend} backend"
    if step.inspect is None:
        step(xb, yb)
        start = time.perf_counter()
        step(xb, yb)
        print(f"\n{what}: {1e3 * (time.perf_counter() - start):.2f} ms; it has no kernels to profile: "
              "run with --backend llvm")
        return
    profile_step(step, (xb, yb), repeat, top, what)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--top", type=int, default=15, help="kernels to show, slowest first")
    parser.add_argument("--backend", default="llvm")
    parser.add_argument("--quick", action="store_true", help="batch 1, 10 classes, one profiled run")
    args = parser.parse_args()
    if args.quick:
        main(1, 10, args.top, args.backend, repeat=1)
    else:
        main(args.batch, 1000, args.top, args.backend, repeat=5)
