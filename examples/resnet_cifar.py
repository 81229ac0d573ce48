"""A small ResNet-18 (gc.nn.models.resnet18 with the CIFAR stem, narrowed) trained for a short
run on synthetic CIFAR-size data, then its training step profiled kernel by kernel.

The data: 3x32x32 images of 10 classes, each class a fixed random pattern plus noise, so
the loss falls within a few dozen steps. One compiled call does the forward pass, the
gradients, SGD with momentum and BatchNorm's running statistics.

Run: python examples/resnet_cifar.py [--width 16] [--steps 30] [--batch 32] [--top 12] [--quick]
(--quick: width 8, 4 steps of batch 8: what the tests run)
"""
import argparse
import time

import numpy as np

import graphc as gc
from profile_table import profile_step


def synthetic_cifar(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images of 10 classes: the class's pattern (a seeded random image) plus as much noise."""
    patterns = np.random.default_rng(100).standard_normal((10, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, count)
    images = patterns[labels] + rng.standard_normal((count, 3, 32, 32)).astype(np.float32)
    return images, labels


def main(width: int, steps: int, batch: int, top: int, repeat: int) -> None:
    nn = gc.nn
    model = nn.models.resnet18(num_classes=10, cifar=True, width=width, rng=0)
    print(f"ResNet-18, CIFAR stem, width {width}: {model.num_parameters():,} parameters")
    x = gc.tensor("x", (batch, 3, 32, 32))
    y = gc.tensor("y", (batch,), "int64")
    logits = model(x, training=True)
    loss = nn.cross_entropy(logits, y)
    updates = nn.momentum(model.parameters(), loss, lr=0.02, momentum=0.9) + model.state_updates(logits)
    step = gc.function([x, y], loss, updates=updates, backend="llvm")
    predict = gc.function([x], gc.argmax(model(x), 1), backend="llvm")

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for i in range(steps):
        xb, yb = synthetic_cifar(batch, rng)
        value = float(step(xb, yb))
        if i == 0:
            print(f"step 1: loss {value:.3f} (compiled in {time.perf_counter() - start:.1f} s)")
    print(f"step {steps}: loss {value:.3f}")
    xt, yt = synthetic_cifar(batch, np.random.default_rng(1))
    print(f"accuracy on a new batch, running statistics: {100 * np.mean(predict(xt) == yt):.1f}%")
    profile_step(step, (xb, yb), repeat, top, f"training step at batch {batch}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=16, help="channels of the first stage (torchvision: 64)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--top", type=int, default=12, help="kernels to show, slowest first")
    parser.add_argument("--quick", action="store_true", help="width 8, 4 steps of batch 8, one profiled run")
    args = parser.parse_args()
    if args.quick:
        main(8, 4, 8, args.top, repeat=1)
    else:
        main(args.width, args.steps, args.batch, args.top, repeat=5)
