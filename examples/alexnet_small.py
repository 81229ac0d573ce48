"""An AlexNet-shaped network (five convolutions, three max-pools, three dense layers with
dropout) on 3x32x32 inputs: compiled forward and backward, then profiled op by op.

The profile here times each op's numpy reference, node by node: it shows where a step
spends its time on the reference backend, not what compiled kernels would take. (The
LLVM backend, when present, reports its own per-kernel profile; pass --backend to run
the step there.)

Run: python examples/alexnet_small.py [--batch 16] [--backend numpy]
"""
import argparse
import time
from collections import defaultdict

import numpy as np

import graphc as gc
from graphc.ops import Constant, Input, Shared


def alexnet_small(classes: int = 10, seed: int = 0) -> gc.nn.Sequential:
    rng = np.random.default_rng(seed)
    nn = gc.nn

    def conv(cin, cout, k, name):
        return nn.Conv2d(cin, cout, k, padding=k // 2, init="he_normal", rng=rng, name=name)

    return nn.Sequential(
        conv(3, 24, 5, "conv1"), nn.ReLU(), nn.MaxPool2d(2),            # 24 x 16 x 16
        conv(24, 48, 5, "conv2"), nn.ReLU(), nn.MaxPool2d(2),           # 48 x 8 x 8
        conv(48, 64, 3, "conv3"), nn.ReLU(),
        conv(64, 64, 3, "conv4"), nn.ReLU(),
        conv(64, 48, 3, "conv5"), nn.ReLU(), nn.MaxPool2d(2),           # 48 x 4 x 4
        nn.Flatten(),
        nn.Dropout(0.5, rng=rng), nn.Dense(48 * 4 * 4, 256, init="he_normal", rng=rng, name="fc1"), nn.ReLU(),
        nn.Dropout(0.5, rng=rng), nn.Dense(256, 128, init="he_normal", rng=rng, name="fc2"), nn.ReLU(),
        nn.Dense(128, classes, rng=rng, name="fc3"),
        name="alexnet_small",
    )


def profile_reference(outputs, feed: dict, repeats: int = 3) -> dict[str, list[float]]:
    """Seconds per op name (median over repeats) and node counts, running each node's numpy reference."""
    order = gc.ir.toposort(outputs)
    per_run: list[dict[str, float]] = []
    counts: dict[str, int] = defaultdict(int)
    for _ in range(repeats):
        values, times = {}, defaultdict(float)
        for node in order:
            if isinstance(node.op, Input):
                values[node] = feed[node]
            elif isinstance(node.op, Shared):
                values[node] = node.get_value(borrow=True)
            elif isinstance(node.op, Constant):
                values[node] = node.op.value
            else:
                start = time.perf_counter()
                values[node] = node.op.reference(*(values[i] for i in node.inputs))
                times[node.op.name] += time.perf_counter() - start
        per_run.append(times)
    for node in order:
        if node.inputs:
            counts[node.op.name] += 1
    return {name: [float(np.median([run[name] for run in per_run])), counts[name]] for name in counts}


def main(batch: int, backend: str) -> None:
    model = alexnet_small()
    print(model)
    print(f"{model.num_parameters():,} parameters")
    x = gc.tensor("x", (batch, 3, 32, 32))
    y = gc.tensor("y", (batch,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    params = model.parameters()
    grads = gc.grad(loss, params)
    step = gc.function([x, y], [loss] + grads, backend=backend)

    rng = np.random.default_rng(0)
    xb = rng.random((batch, 3, 32, 32), dtype=np.float32)
    yb = rng.integers(0, 10, batch)
    step(xb, yb)  # the first call specialises for these shapes
    times = []
    for _ in range(3):
        start = time.perf_counter()
        outs = step(xb, yb)
        times.append(time.perf_counter() - start)
    print(f"\nforward + backward at batch {batch} on the {backend} backend: {1e3 * np.median(times):.1f} ms "
          f"(loss {float(outs[0]):.3f}; {len(gc.ir.toposort([loss] + grads))} nodes)")

    table = profile_reference([loss] + grads, {x: xb, y: yb})
    total = sum(t for t, _ in table.values())
    print(f"\ntime per op with the numpy reference (medians of 3 runs, {1e3 * total:.1f} ms in all):")
    print(f"  {'op':<18}{'nodes':>6}{'ms':>10}{'share':>8}")
    for name, (seconds, count) in sorted(table.items(), key=lambda item: -item[1][0])[:12]:
        print(f"  {name:<18}{count:>6}{1e3 * seconds:>10.2f}{100 * seconds / total:>7.1f}%")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args()
    main(args.batch, args.backend)
