"""The digits CNN from Python: build the model, train it with gc.nn.Trainer, evaluate it,
and print a confusion matrix. `graphc demo` is the same thing as a command.

Run: python examples/digits_cnn.py [--epochs 8] [--backend numpy]
"""
import argparse

import numpy as np

import graphc as gc


def main(epochs: int, backend: str) -> float:
    data = gc.nn.datasets.load_digits(seed=0)  # float32 (N, 1, 8, 8) in [0, 1], int64 labels
    model = gc.nn.Sequential(
        gc.nn.Conv2d(1, 16, 3, padding=1, init="he_normal", rng=0, name="conv1"), gc.nn.ReLU(), gc.nn.MaxPool2d(2),
        gc.nn.Conv2d(16, 32, 3, padding=1, init="he_normal", rng=1, name="conv2"), gc.nn.ReLU(), gc.nn.MaxPool2d(2),
        gc.nn.Flatten(), gc.nn.Dense(32 * 2 * 2, 10, rng=2, name="fc"),  # logits; softmax is in the loss
    )
    print(model)
    trainer = gc.nn.Trainer(model, loss=gc.nn.cross_entropy, optimizer="adam", lr=0.003, backend=backend)
    history = trainer.fit(data.x_train, data.y_train, epochs=epochs, batch_size=64,
                          validation_split=0.1, seed=0, progress=False)
    loss, accuracy = trainer.evaluate(data.x_test, data.y_test)
    print(f"test loss {loss:.4f}, test accuracy {100 * accuracy:.2f}% "
          f"({np.median(history.epoch_time):.3f} s per epoch; {history.compile_time:.1f} s compiling)")

    predicted = trainer.predict(data.x_test).argmax(axis=1)
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (data.y_test, predicted), 1)
    print("confusion matrix (rows: true digit, columns: predicted):")
    print("     " + " ".join(f"{d:3d}" for d in range(10)))
    for digit, row in enumerate(confusion):
        print(f"  {digit}: " + " ".join(f"{n:3d}" for n in row))
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--backend", default="llvm")
    args = parser.parse_args()
    main(args.epochs, args.backend)
