"""An AlexNet-shaped network (five convolutions, three max-pools, three dense layers with
dropout) on 3x32x32 inputs: compiled forward and backward, then profiled kernel by kernel.

The llvm backend compiles the loss and all the parameter gradients into one native
call; `f.inspect.kernels()` lists the kernels that call runs (the graph ops fused into
each, its output shape, its FLOPs) and `f.inspect.profile(*args)` times each kernel
inside the call.

Run: python examples/alexnet_small.py [--batch 16] [--top 15] [--backend llvm]
"""
import argparse
import re
import time
from collections import defaultdict

import numpy as np

import graphc as gc


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


def kind(kernel_name: str) -> str:
    """A kernel's kind from its name: g17_conv_dgrad5 -> conv_dgrad."""
    return re.sub(r"^g\d+_|\d+$", "", kernel_name)


def print_profile(profile, top: int) -> None:
    """The `top` slowest kernels with their FLOP rates and fused ops, then the times summed by kind."""
    total = profile.total
    print(f"\nper-kernel profile of one call ({len(profile)} kernels, {1e3 * total:.2f} ms in all; "
          f"each kernel's fastest of 5 runs):")
    print(f"  {'kernel':<30}{'shape':<18}{'MFLOP':>8}{'us':>9}{'GFLOP/s':>9}{'share':>7}  fused ops")
    for row in sorted(profile, key=lambda r: -r.seconds)[:top]:
        k, t = row.kernel, row.seconds
        rate = f"{k.flops / t / 1e9:.1f}" if k.flops and t > 0 else "-"
        print(f"  {k.name:<30}{str(k.shape):<18}{k.flops / 1e6:>8.2f}{1e6 * t:>9.1f}{rate:>9}"
              f"{100 * t / total:>6.1f}%  {' '.join(k.ops)}")
    by_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in profile:
        entry = by_kind[kind(row.kernel.name)]
        entry[0] += 1
        entry[1] += row.seconds
        entry[2] += row.kernel.flops
    print(f"\nby kind of kernel:\n  {'kind':<24}{'kernels':>8}{'us':>10}{'GFLOP/s':>9}{'share':>7}")
    for name, (count, seconds, flops) in sorted(by_kind.items(), key=lambda item: -item[1][1]):
        rate = f"{flops / seconds / 1e9:.1f}" if flops and seconds > 0 else "-"
        print(f"  {name:<24}{count:>8}{1e6 * seconds:>10.1f}{rate:>9}{100 * seconds / total:>6.1f}%")


def main(batch: int, top: int, backend: str) -> None:
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
    if step.inspect is None:
        step(xb, yb)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            step(xb, yb)
            times.append(time.perf_counter() - start)
        print(f"\nforward + backward at batch {batch} on the {backend} backend: {1e3 * np.median(times):.2f} ms "
              f"(median of 5 calls); it has no kernels to profile: run with --backend llvm")
        return
    # The profiling build is the step's code with a clock read between kernels: its first
    # run compiles it (or loads it from the disk cache), so the plain build is not needed here.
    start = time.perf_counter()
    step.inspect.profile(xb, yb)
    compile_seconds = time.perf_counter() - start
    profile = step.inspect.profile(xb, yb, repeat=5)
    kernels = step.inspect.kernels()
    print(f"\nforward + backward at batch {batch} on the {backend} backend: {1e3 * profile.total:.2f} ms per call "
          f"(compiled in {compile_seconds:.1f} s)")
    print(f"{len(kernels)} kernels, {sum(k.flops for k in kernels) / 1e6:.1f} MFLOP per call")
    print_profile(profile, top)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--top", type=int, default=15, help="kernels to show, slowest first")
    parser.add_argument("--backend", default="llvm")
    args = parser.parse_args()
    main(args.batch, args.top, args.backend)
