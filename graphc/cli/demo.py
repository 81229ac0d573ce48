"""`graphc demo`: train the small CNN on scikit-learn's 8x8 digits and report test accuracy."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import AbstractContextManager, ExitStack, nullcontext, redirect_stdout
from pathlib import Path
from typing import Optional

from .arguments import plot_path, positive_float, positive_int, writable_path

NAME = "demo"
HELP = "train a small CNN on the 8x8 handwritten digits and print its test accuracy"

DEFAULT_LR = {
    "sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adam": 0.003, "adamw": 0.003, "rmsprop": 0.003, "adagrad": 0.05,
}
VALIDATION_FRACTION = 0.1  # of the training images, held out for the val_* columns


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=positive_int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="minibatch size (default 64)")
    parser.add_argument("--optimizer", choices=sorted(DEFAULT_LR), default="adam", help="optimiser (default adam)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="learning rate (default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the shuffling")
    parser.add_argument("--backend", default="llvm", help="executor for the compiled functions (default llvm)")
    parser.add_argument("--blas-threads", type=positive_int, default=1,
                        help="threads for numpy's BLAS with --backend numpy (default 1: the demo's matrices are "
                             "small, and on a busy machine idle BLAS threads cost more than they give); the llvm "
                             "backend does not use BLAS")
    parser.add_argument("--save", metavar="PNG", type=plot_path, help="write the training curves to this PNG (needs matplotlib)")
    parser.add_argument("--checkpoint", metavar="PATH", type=writable_path,
                        help="save the training run to PATH after every epoch (an npz file; see --resume)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run saved in --checkpoint PATH up to --epochs (give the same options)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--distributed", action="store_true",
                        help="train data-parallel on the processes of an MPI launcher: mpiexec -n 2 graphc demo "
                             "--distributed (the global batch is --batch-size; rank 0 prints; needs graphc[mpi])")


def check(args: argparse.Namespace) -> Optional[str]:
    """What is wrong with a combination of options (argparse checks each alone), or None."""
    if args.resume and args.checkpoint is None:
        return "argument --resume: needs --checkpoint PATH, the run to continue"
    if args.resume and not Path(args.checkpoint).is_file():
        return f"argument --resume: no checkpoint at {args.checkpoint}"
    return None


def run(args: argparse.Namespace) -> int:
    """Train and report; with --distributed, on every rank of the launcher, rank 0 printing."""
    if not args.distributed:
        return _train(args)
    import graphc.distributed as dist

    group = dist.init()
    with ExitStack() as stack:
        if group.rank != 0:
            stack.enter_context(redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
        with dist.abort_on_error(group):
            status = _train(args)
    if status and group.size > 1:  # the other ranks may be waiting for this one
        group.abort(f"graphc demo: rank {group.rank} of {group.size} stopped with status {status}; aborting every rank")
    return status


def _train(args: argparse.Namespace) -> int:
    import graphc as gc

    try:  # an unknown backend is a usage error, found before any work
        gc.function([], gc.constant(0.0), backend=args.backend)
    except ValueError as error:
        print(f"graphc demo: {error}", file=sys.stderr)
        return 2
    data = gc.nn.datasets.load_digits(seed=args.seed)
    x_train, y_train, x_val, y_val = gc.nn.data.split(data.x_train, data.y_train, VALIDATION_FRACTION, args.seed)
    model = gc.nn.models.digits_cnn(rng=args.seed)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    options = {"momentum": 0.9} if args.optimizer in ("momentum", "nesterov") else {}
    trainer = gc.nn.Trainer(model, optimizer=args.optimizer, lr=lr, backend=args.backend,
                            distributed=args.distributed, **options)
    _describe(args, data, len(x_val), model, lr, trainer)
    if args.resume:
        try:
            trainer.load_checkpoint(args.checkpoint)
        except ValueError as error:
            print(f"graphc demo: cannot resume: {error}", file=sys.stderr)
            return 2
        print(f"resuming from {args.checkpoint} after epoch {trainer.epoch}")
    with _blas_threads(args):
        start = time.perf_counter()
        history = trainer.fit(
            x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
            validation_data=(x_val, y_val), seed=args.seed, progress=not args.no_progress,
            checkpoint=args.checkpoint,
        )
        total = time.perf_counter() - start
        _, accuracy = trainer.evaluate(data.x_test, data.y_test)
    times = history.epoch_time
    print(f"test accuracy: {100 * accuracy:.2f}% ({round(accuracy * len(data.y_test))}/{len(data.y_test)})")
    if not times:
        print(f"no epochs run: the checkpoint is at epoch {trainer.epoch}, --epochs is {args.epochs}")
        return 0
    print(f"time per epoch: {statistics.median(times):.3f} s median (first epoch {times[0]:.3f} s, "
          f"includes compilation)")
    print(f"compilation: {history.compile_time:.2f} s (the training step and the evaluation, once per batch "
          f"shape); {total:.1f} s in all")
    if args.save:
        save_curves(history, args.save)
    return 0


def _describe(args: argparse.Namespace, data, validation: int, model, lr: float, trainer) -> None:
    print(f"digits: {len(data.x_train) - validation} training, {validation} validation and {len(data.x_test)} test "
          "images of 8x8 pixels, 10 classes")
    print(f"model ({model.num_parameters()} parameters):\n{model}")
    blas = f" ({args.blas_threads} BLAS thread(s))" if args.backend == "numpy" else ""
    print(f"optimizer {args.optimizer}, lr {lr}, batch size {args.batch_size}, {args.epochs} epochs, "
          f"backend {args.backend}{blas}, seed {args.seed}")
    if trainer.group is not None:
        import graphc as gc

        print(f"distributed: {trainer.group.size} process(es), each with {args.batch_size // trainer.group.size}-"
              f"{-(-args.batch_size // trainer.group.size)} rows of every batch and {gc.num_threads()} thread(s)")
    print(f"(val_* columns: {validation} training images held out, stratified by class; the test set is scored "
          "once, at the end)")


def _blas_threads(args: argparse.Namespace) -> AbstractContextManager:
    """The BLAS thread limit for the numpy backend (its matmuls and convolutions call BLAS)."""
    if args.backend != "numpy":
        return nullcontext()
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    return threadpool_limits(args.blas_threads, user_api="blas")


def save_curves(history, path: str) -> None:
    """Plot loss and accuracy per epoch to a PNG (needs matplotlib: --save checks it is installed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, history.epochs + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history.loss, label="train")
    left.plot(epochs, history.val_loss, label="validation")
    left.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    right.plot(epochs, [100 * a for a in history.accuracy], label="train")
    right.plot(epochs, [100 * a for a in history.val_accuracy], label="validation")
    right.set(xlabel="epoch", ylabel="%", title="accuracy")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
