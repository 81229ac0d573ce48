"""`graphc inspect --model NAME` for the zoo's models: their layers (state paths, output shapes,
parameters) and the ops of their inference and training graphs."""
from __future__ import annotations

import argparse
import sys
from collections import Counter

#: gc.nn.models.ZOO's names, here so that parsing the command line imports nothing (a test keeps them equal)
ZOO_NAMES = ("lenet5", "alexnet", "alexnet_original", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnet18",
             "resnet34", "mobilenet_v2", "squeezenet1_1")


def input_size(text: str) -> tuple[int, ...]:
    """C,H,W, or one side S (a square image with the model's channels)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W or one side S, got {text!r}") from None
    if len(sizes) not in (1, 3) or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W or one side S of positive integers, got {text!r}")
    return sizes


def run(args: argparse.Namespace) -> int:
    import graphc as gc
    from graphc.ir import ShapeError

    from .inspect_graph import _write_dot

    entry = gc.nn.models.ZOO[args.model]
    size = args.input_size or entry.input_size
    if len(size) == 1:
        size = (entry.input_size[0], size[0], size[0])
    model = entry.build()
    try:
        table = gc.nn.models.summary(model, (None,) + tuple(size))
    except (ShapeError, ValueError) as error:
        print(f"graphc inspect: {args.model} does not take {'x'.join(map(str, size))} inputs: {error}",
              file=sys.stderr)
        return 2
    print(f"model {args.model} on {'x'.join(map(str, size))} inputs (batch size left unknown):\n{table}\n")
    x = gc.tensor("x", (None,) + tuple(size))
    y = gc.tensor("y", (None,), "int64")
    logits = model(x)
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    _census(gc, "inference graph", logits)
    _census(gc, "training loss and its gradients", gc.grad(loss, model.parameters()) + [loss])
    if args.wrt:
        print("(--wrt prints gradients of the small models; a zoo model's are too large to read)")
    if args.dot:
        return _write_dot(gc.to_dot(logits, name=args.model), args.dot)
    return 0


def _census(gc, title: str, outputs) -> None:
    """How many nodes the graph of `outputs` has, by op."""
    nodes = gc.ir.toposort(outputs if isinstance(outputs, list) else [outputs])
    ops = Counter(node.op.name for node in nodes if node.op is not None)
    print(f"{title}: {len(nodes)} nodes; ops: " + ", ".join(f"{name} {count}" for name, count in ops.most_common()))
