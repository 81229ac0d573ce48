"""An adversarial example by the fast gradient sign method (Goodfellow et al., 2015): move
each pixel by eps in the direction that increases the loss, x' = clip(x + eps sign(dL/dx)),
and a correctly classified digit is read as another one.

The whole attack is one graph: the gradient with respect to the *input* is just another
node, so the perturbed image and the model's new prediction come out of one function.

Run: python examples/adversarial_fgsm.py [--backend numpy]
"""
import argparse

import numpy as np

import graphc as gc

SHADES = " .:-=+*#%@"


def ascii_image(image: np.ndarray) -> list[str]:
    levels = np.clip((image * (len(SHADES) - 1)).round().astype(int), 0, len(SHADES) - 1)
    return ["".join(SHADES[v] * 2 for v in row) for row in levels]


def main(backend: str) -> None:
    data = gc.nn.datasets.load_digits(seed=0)
    model = gc.nn.models.digits_cnn(rng=0)
    trainer = gc.nn.Trainer(model, optimizer="adam", lr=0.003, backend=backend)
    trainer.fit(data.x_train, data.y_train, epochs=6, progress=False, verbose=False)
    print(f"clean test accuracy: {100 * trainer.evaluate(data.x_test, data.y_test)[1]:.1f}%")

    x = gc.tensor("x", (None, 1, 8, 8))
    y = gc.tensor("y", (None,), "int64")
    eps = gc.scalar("eps")
    logits = model(x)
    input_gradient = gc.grad(gc.nn.cross_entropy(logits, y), x)
    x_adv = gc.clip(x + eps * gc.sign(input_gradient), 0.0, 1.0)
    adv_probs = gc.nn.softmax(model(x_adv), axis=1)
    attack = gc.function([x, y, eps], [gc.argmax(logits, 1), x_adv, adv_probs], backend=backend)

    for strength in (0.05, 0.1, 0.2):
        clean, _, probs = attack(data.x_test, data.y_test, np.float32(strength))
        print(f"eps = {strength:.2f}: accuracy under attack {100 * (probs.argmax(1) == data.y_test).mean():.1f}%")

    index = 0
    image, label = data.x_test[index:index + 1], data.y_test[index:index + 1]
    for strength in np.arange(0.02, 0.52, 0.02, dtype=np.float32):
        clean, adversarial, probs = attack(image, label, strength)
        if probs[0].argmax() != label[0]:
            break
    else:
        print(f"\ntest image {index} resisted every eps up to {strength:.2f}")
        return
    print(f"\ntest image {index}: a {label[0]}, predicted {clean[0]}; with eps = {strength:.2f} the model reads "
          f"a {probs[0].argmax()} (probability {probs[0].max():.2f})")
    print("original".ljust(18) + "adversarial")
    for left, right in zip(ascii_image(image[0, 0]), ascii_image(adversarial[0, 0])):
        print(left + "  " + right)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="llvm")
    main(parser.parse_args().backend)
