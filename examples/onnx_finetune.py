"""Fine-tune the last layer of an imported ONNX network on the digits.

1. "Elsewhere": train the digits CNN on the digits 0-4 only and save its inference graph as
   an ONNX file (gc.onnx.save), as another framework would hand over a trained model.
2. Here: import the file (gc.onnx.load). Its initializers are shared variables, so the
   loss's gradient reaches them; train only the last layer (fc.weight, fc.bias) on all ten
   digits, the convolutions frozen as features, and compare the test accuracy before and
   after.

Needs the onnx package (pip install graphc[onnx]).
Run: python examples/onnx_finetune.py [--backend numpy]
"""
import argparse

import numpy as np

import graphc as gc


def pretrain_and_export(data, path: str, backend: str) -> None:
    seen = data.y_train < 5
    model = gc.nn.models.digits_cnn(rng=0)
    trainer = gc.nn.Trainer(model, optimizer="adam", lr=0.01, backend=backend)
    trainer.fit(data.x_train[seen], data.y_train[seen], epochs=10, progress=False, verbose=False)
    x = gc.tensor("image", (None, 1, 8, 8))
    gc.onnx.save(path, [x], [model(x)])
    print(f"pre-trained on the digits 0-4 and saved as {path}")


def fine_tune(data, path: str, backend: str) -> None:
    model = gc.onnx.load(path)
    print(f"imported: {model}, parameters {', '.join(model.params)}")
    x, labels = model.inputs[0], gc.tensor("labels", (None,), "int64")
    logits = model.outputs[0]
    predict = gc.function([x], logits, backend=backend)

    def accuracy() -> float:
        return 100 * float((predict(data.x_test).argmax(1) == data.y_test).mean())

    print(f"test accuracy on all ten digits before fine-tuning: {accuracy():.1f}%")
    last = [model.params["fc.weight"], model.params["fc.bias"]]
    frozen = {name: p.get_value() for name, p in model.params.items() if p not in last}
    loss = gc.nn.cross_entropy(logits, labels)
    step = gc.function([x, labels], loss, updates=gc.nn.adam(last, gc.grad(loss, last), lr=0.02), backend=backend)
    rng = np.random.default_rng(0)
    for _ in range(30):
        for xb, yb in gc.nn.minibatches(data.x_train, data.y_train, batch_size=64, rng=rng):
            step(xb, yb)
    print(f"test accuracy after fine-tuning the last layer: {accuracy():.1f}%")
    unchanged = all(np.array_equal(model.params[name].get_value(), value) for name, value in frozen.items())
    print(f"convolution weights unchanged: {unchanged}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("llvm", "numpy"), default="llvm")
    args = parser.parse_args()
    data = gc.nn.datasets.load_digits(seed=0)
    pretrain_and_export(data, "digits_0_to_4.onnx", args.backend)
    fine_tune(data, "digits_0_to_4.onnx", args.backend)


if __name__ == "__main__":
    main()
