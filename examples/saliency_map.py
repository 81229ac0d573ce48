"""A saliency map: the gradient of a class score with respect to the input pixels shows
which pixels the trained CNN's decision is most sensitive to (Simonyan et al., 2014).

Prints the map of one digit as text and, if matplotlib is installed, writes
saliency.png (one digit of each class beside its map) to the current directory.

Run: python examples/saliency_map.py [--backend numpy]
"""
import argparse

import numpy as np

import graphc as gc

SHADES = " .:-=+*#%@"


def ascii_map(values: np.ndarray) -> list[str]:
    levels = (values / values.max() * (len(SHADES) - 1)).round().astype(int)
    return ["".join(SHADES[v] * 2 for v in row) for row in levels]


def main(backend: str) -> None:
    data = gc.nn.datasets.load_digits(seed=0)
    model = gc.nn.models.digits_cnn(rng=0)
    trainer = gc.nn.Trainer(model, optimizer="adam", lr=0.003, backend=backend)
    trainer.fit(data.x_train, data.y_train, epochs=8, progress=False, verbose=False)

    x = gc.tensor("x", (None, 1, 8, 8))
    classes = gc.tensor("classes", (None,), "int64")
    logits = model(x)
    # the sum over the batch of each image's chosen logit: images are independent at
    # inference, so its gradient holds each image's own saliency
    score = (gc.nn.one_hot(classes, 10) * logits).sum()
    saliency = gc.function([x, classes], [logits, gc.abs(gc.grad(score, x))], backend=backend)

    firsts = np.array([np.flatnonzero(data.y_test == d)[0] for d in range(10)])
    images = data.x_test[firsts]
    predicted = trainer.predict(images).argmax(axis=1)
    _, maps = saliency(images, predicted)
    maps = maps[:, 0]
    digit = 3
    print(f"the test image of a {digit} (left), predicted {predicted[digit]}, and |d score / d pixel| (right):")
    for left, right in zip(ascii_map(images[digit, 0]), ascii_map(maps[digit])):
        print(left + "   " + right)
    centre = maps[:, 2:6, 2:6].mean() / maps.mean()
    print(f"mean saliency of the central 4x4 pixels relative to the whole image: {centre:.2f}")
    save_png(images[:, 0], maps, predicted, "saliency.png")


def save_png(images: np.ndarray, maps: np.ndarray, predicted: np.ndarray, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no PNG written")
        return
    fig, axes = plt.subplots(2, len(images), figsize=(1.2 * len(images), 2.8))
    for i, (image, heat) in enumerate(zip(images, maps)):
        axes[0, i].imshow(image, cmap="gray_r")
        axes[0, i].set_title(f"pred {predicted[i]}", fontsize=8)
        axes[1, i].imshow(heat, cmap="hot")
        for ax in axes[:, i]:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="llvm")
    main(parser.parse_args().backend)
