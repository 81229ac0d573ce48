"""Batch-norm folding and a simplified gradient graph.

1. Train the digits CNN with BatchNorm after each convolution, then fold every BatchNorm
   into the convolution before it: the folded model gives the same predictions with
   fewer nodes.
2. Print the gradient of a small model's loss, before and after simplification, and write
   it as DOT (gradient.dot in the current directory; render with `dot -Tsvg`).

Run: python examples/batchnorm_folding.py [--backend numpy]
"""
import argparse

import numpy as np

import graphc as gc


def fold(backend: str) -> None:
    data = gc.nn.datasets.load_digits(seed=0)
    model = gc.nn.models.digits_cnn(batch_norm=True, rng=0)
    trainer = gc.nn.Trainer(model, optimizer="momentum", lr=0.05, momentum=0.9, backend=backend)
    trainer.fit(data.x_train, data.y_train, epochs=3, progress=False, verbose=False)
    folded = gc.nn.fold_batch_norm(model)
    print("trained with batch norm:", " -> ".join(type(layer).__name__ for layer in model))
    print("folded for inference:   ", " -> ".join(type(layer).__name__ for layer in folded))

    x = gc.tensor("x", (None, 1, 8, 8))
    before, after = model(x), folded(x)
    run_both = gc.function([x], [before, after], backend=backend)
    logits, folded_logits = run_both(data.x_test)
    print(f"nodes in the inference graph: {len(gc.ir.toposort([before]))} -> {len(gc.ir.toposort([after]))}")
    print(f"largest difference between the logits: {np.abs(logits - folded_logits).max():.2e}")
    same = (logits.argmax(1) == folded_logits.argmax(1)).mean()
    print(f"same prediction on {100 * same:.1f}% of the test set; "
          f"test accuracy {100 * (folded_logits.argmax(1) == data.y_test).mean():.2f}%\n")


def simplified_gradient(path: str) -> None:
    model = gc.nn.models.logistic_regression(rng=0)
    x = gc.tensor("x", (None, 1, 8, 8))
    y = gc.tensor("y", (None,), "int64")
    weight = model[1].weight
    gradient = gc.grad(gc.nn.cross_entropy(model(x), y), weight)
    print(f"d loss / d {weight.name} as built by grad ({len(gc.ir.toposort([gradient]))} nodes):")
    print(gc.pprint(gradient))
    gradient = gc.simplify(gradient)
    print(f"\nsimplified ({len(gc.ir.toposort([gradient]))} nodes):")
    print(gc.pprint(gradient))
    print()
    print(gc.debugprint(gradient))
    with open(path, "w") as f:
        f.write(gc.to_dot(gradient, name="gradient"))
    print(f"\nwrote {path} (render with: dot -Tsvg {path} -o gradient.svg)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="llvm")
    args = parser.parse_args()
    fold(args.backend)
    simplified_gradient("gradient.dot")
