"""Training loops: a Trainer that compiles a model's step once and runs epochs, with
seeded shuffling, augmentation, validation, early stopping and a progress bar.

The backend is one argument: `backend="llvm"` (native kernels, the default) or any
other name gc.function accepts (`"numpy"`, the reference interpreter).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import numpy as np

from ..function import Function, function
from ..ir import Node
from ..ops import argmax, eq, shared, tensor
from ..ops.nn import cross_entropy
from .data import Transform, is_classification, minibatches, num_batches, split
from .init import RngLike, as_rng
from .layers import Layer
from .optim import ParamGroup, get_optimizer

LossFn = Callable[[Node, Node], Node]


def _tqdm() -> Any:
    """tqdm's progress bar class, imported at first use (it takes ~30 ms, asyncio included)."""
    from tqdm.auto import tqdm

    return tqdm


@dataclass
class History:
    """Per-epoch records of a `fit` run (None where a metric does not apply)."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[Optional[float]] = field(default_factory=list)
    val_loss: list[Optional[float]] = field(default_factory=list)
    val_accuracy: list[Optional[float]] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    compile_time: float = 0.0  # seconds of the run spent compiling (see Trainer.compile_time)
    best_epoch: Optional[int] = None  # 0-based; weights restored from it when early stopping
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.loss)


class Trainer:
    """A model with its loss, optimiser and backend; compiles its graphs on first use.

    `optimizer` is a name (see `OPTIMIZERS`: sgd, adam, adamw, ...) or a callable
    `(params, loss, lr=..., **options) -> updates`; `lr` lives in the shared scalar
    `trainer.lr`, so schedules change it between steps. Extra keyword arguments go to
    the optimiser (momentum=0.9, beta1=..., weight_decay=...).

    `param_groups` are PyTorch's parameter groups of the model (see `weight_decay_groups`);
    a group's own `lr` is relative to the trainer's: it steps at `trainer.lr * group lr / lr`,
    so schedules scale every group, as PyTorch's schedulers scale each group's rate.

    `compile_time` adds up the seconds spent building the compiled functions and in
    their first call with each argument shape, where the llvm backend specialises and
    compiles (or loads the code from its disk cache).
    """

    def __init__(
        self, model: Layer, loss: Optional[LossFn] = None, optimizer: Union[str, Callable] = "sgd",
        lr: float = 0.01, backend: str = "llvm", param_groups: Optional[Sequence[ParamGroup]] = None,
        **optimizer_options: Any,
    ):
        self.model = model
        self.loss_fn = loss or cross_entropy
        self.optimizer = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
        self.optimizer_options = optimizer_options
        self.param_groups = None if param_groups is None else [dict(group) for group in param_groups]
        self.base_lr = lr
        self.lr = shared(np.float32(lr), name="lr")
        self.backend = backend
        self._step: Optional[Function] = None
        self._evaluate: Optional[Function] = None
        self._predict: Optional[Function] = None
        self.compile_time = 0.0
        self._signatures: set[tuple] = set()

    def __reduce__(self):
        raise TypeError(
            "a Trainer is not picklable (it holds graph nodes and compiled functions): save "
            "trainer.model.state_dict() and build a new Trainer around a model restored with load_state_dict()"
        )

    # -- compiled functions, built for the data's sample shape on first use ------------
    def step_function(self, x: np.ndarray, y: np.ndarray) -> Function:
        """The compiled training step (xb, yb) -> [loss, (number correct)], updating the model."""
        if self._step is None:
            with self._compiling():
                xs, ys = _symbol("x", x), _symbol("y", y)
                out = self.model(xs, training=True)
                loss = self.loss_fn(out, ys)
                updates = self.optimizer(self._optimized(), loss, lr=self.lr, **self.optimizer_options)
                updates = list(updates) + self.model.state_updates(out)
                self._step = function([xs, ys], _metrics(out, ys, loss), updates=updates, backend=self.backend)
        return self._step

    def _optimized(self) -> Union[list[Node], list[ParamGroup]]:
        """The model's parameters, or the parameter groups with rates relative to `self.lr`."""
        if self.param_groups is None:
            return self.model.parameters()
        return [{**group, "lr": self.lr * (group["lr"] / self.base_lr)} if "lr" in group else group
                for group in self.param_groups]

    def evaluate_function(self, x: np.ndarray, y: np.ndarray) -> Function:
        """The compiled inference-mode (xb, yb) -> [loss, (number correct)]."""
        if self._evaluate is None:
            with self._compiling():
                xs, ys = _symbol("x", x), _symbol("y", y)
                out = self.model(xs, training=False)
                self._evaluate = function([xs, ys], _metrics(out, ys, self.loss_fn(out, ys)), backend=self.backend)
        return self._evaluate

    def predict_function(self, x: np.ndarray) -> Function:
        """The compiled inference-mode model: xb -> outputs (logits for classifiers)."""
        if self._predict is None:
            with self._compiling():
                xs = _symbol("x", x)
                self._predict = function([xs], self.model(xs, training=False), backend=self.backend)
        return self._predict

    def _call(self, fn: Function, *args: np.ndarray) -> Any:
        """fn(*args), timing its first call with these argument shapes into compile_time."""
        signature = (id(fn),) + tuple(a.shape for a in args)
        if signature in self._signatures:
            return fn(*args)
        with self._compiling():
            result = fn(*args)
        self._signatures.add(signature)
        return result

    @contextmanager
    def _compiling(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.compile_time += time.perf_counter() - start

    # -- loops --------------------------------------------------------------------------
    def train_epoch(
        self, x: np.ndarray, y: np.ndarray, batch_size: int = 64, rng: RngLike = None,
        augment: Optional[Transform] = None, progress: bool = False, desc: str = "train",
        batch_lr: Optional[Callable[[int], float]] = None,
    ) -> tuple[float, Optional[float]]:
        """One pass over (x, y) in shuffled minibatches; returns (mean loss, accuracy or None).
        `batch_lr(i)`, if given, sets the learning rate before the epoch's i-th batch."""
        rng = as_rng(rng)
        step = self.step_function(x, y)
        totals = np.zeros(2)
        batches = minibatches(x, y, batch_size=batch_size, rng=rng)
        bar = _tqdm()(batches, total=num_batches(len(x), batch_size), desc=desc, leave=False,
                      disable=not progress, unit="batch")
        for index, (xb, yb) in enumerate(bar):
            if batch_lr is not None:
                self.lr.set_value(batch_lr(index))
            if augment is not None:
                xb = augment(xb, rng).astype(x.dtype, copy=False)
            results = self._call(step, xb, yb)
            totals += _batch_totals(results, len(xb))
        return _means(totals, len(x), len(step.outputs) > 1)

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> tuple[float, Optional[float]]:
        """Inference-mode (mean loss, accuracy or None) over (x, y)."""
        fn = self.evaluate_function(x, y)
        totals = np.zeros(2)
        for xb, yb in minibatches(x, y, batch_size=batch_size, shuffle=False):
            totals += _batch_totals(self._call(fn, xb, yb), len(xb))
        return _means(totals, len(x), len(fn.outputs) > 1)

    def predict(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Inference-mode outputs for every row of x."""
        fn = self.predict_function(x)
        batches = minibatches(x, batch_size=batch_size, shuffle=False)
        return np.concatenate([self._call(fn, xb) for (xb,) in batches])

    def fit(
        self, x: np.ndarray, y: np.ndarray, epochs: int = 10, batch_size: int = 64,
        validation_data: Optional[tuple[np.ndarray, np.ndarray]] = None, validation_split: float = 0.0,
        patience: Optional[int] = None, monitor: str = "val_loss", augment: Optional[Transform] = None,
        lr_schedule: Optional[Callable[[int], float]] = None, seed: int = 0,
        progress: bool = True, verbose: bool = True,
    ) -> History:
        """Train for `epochs` and return the History.

        Validation data is given, or split off (stratified for class labels) with
        `validation_split`. With `patience`, training stops once `monitor` (val_loss or
        val_accuracy) has not improved for that many epochs, and the best weights are
        restored. `lr_schedule(epoch)` sets the learning rate at the start of each epoch, or,
        for a schedule whose `per_batch` is true (OneCycleLR), `lr_schedule(step)` before
        each batch, counting batches from the first epoch; History.lr records the last.
        """
        if validation_data is None and validation_split:
            x, y, x_val, y_val = split(x, y, validation_split, seed, stratify=is_classification(y))
            validation_data = (x_val, y_val)
        stopper = _EarlyStopping(self.model, monitor, patience) if patience is not None else None
        if stopper and validation_data is None:
            raise ValueError("fit: early stopping needs validation_data or validation_split")
        rng = as_rng(seed)
        history = History()
        compile_time_before = self.compile_time
        per_batch = getattr(lr_schedule, "per_batch", False)
        for epoch in range(epochs):
            if lr_schedule is not None and not per_batch:
                self.lr.set_value(lr_schedule(epoch))
            batch_lr = _batch_lr(lr_schedule, epoch * num_batches(len(x), batch_size)) if per_batch else None
            start = time.perf_counter()
            loss, acc = self.train_epoch(x, y, batch_size, rng, augment, progress, f"epoch {epoch + 1}/{epochs}",
                                         batch_lr)
            history.epoch_time.append(time.perf_counter() - start)
            val_loss, val_acc = self.evaluate(*validation_data) if validation_data is not None else (None, None)
            for column, value in (("loss", loss), ("accuracy", acc), ("val_loss", val_loss),
                                  ("val_accuracy", val_acc), ("lr", float(self.lr.get_value()))):
                getattr(history, column).append(value)
            history.compile_time = self.compile_time - compile_time_before
            if verbose:
                _tqdm().write(format_epoch(history, epoch, epochs))
            if stopper and stopper.should_stop(history, epoch):
                history.stopped_early = epoch < epochs - 1
                break
        if stopper:
            stopper.restore(history)
        return history


def fit(model: Layer, x: np.ndarray, y: np.ndarray, *, loss: Optional[LossFn] = None,
        optimizer: Union[str, Callable] = "sgd", lr: float = 0.01, backend: str = "llvm",
        param_groups: Optional[Sequence[ParamGroup]] = None, optimizer_options: Optional[dict] = None,
        **fit_options: Any) -> tuple[Trainer, History]:
    """Build a Trainer and fit; returns (trainer, history). See Trainer and Trainer.fit."""
    trainer = Trainer(model, loss, optimizer, lr, backend, param_groups, **(optimizer_options or {}))
    return trainer, trainer.fit(x, y, **fit_options)


def format_epoch(history: History, epoch: int, epochs: int) -> str:
    """One line summarising an epoch, e.g. for logs."""
    width = len(str(epochs))
    parts = [f"epoch {epoch + 1:>{width}}/{epochs}", f"loss {history.loss[epoch]:.4f}"]
    if history.accuracy[epoch] is not None:
        parts.append(f"acc {100 * history.accuracy[epoch]:.2f}%")
    if history.val_loss[epoch] is not None:
        parts.append(f"val_loss {history.val_loss[epoch]:.4f}")
    if history.val_accuracy[epoch] is not None:
        parts.append(f"val_acc {100 * history.val_accuracy[epoch]:.2f}%")
    parts.append(f"{history.epoch_time[epoch]:.2f} s")
    return "  ".join(parts)


class _EarlyStopping:
    """Tracks the best epoch by `monitor`, snapshots its weights, restores them at the end."""

    def __init__(self, model: Layer, monitor: str, patience: int):
        if monitor not in ("val_loss", "val_accuracy"):
            raise ValueError(f"fit: monitor must be val_loss or val_accuracy, got {monitor!r}")
        self.model, self.monitor, self.patience = model, monitor, patience
        self.best_value: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.best_state: Optional[list[np.ndarray]] = None

    def should_stop(self, history: History, epoch: int) -> bool:
        value = getattr(history, self.monitor)[epoch]
        if value is None:
            raise ValueError(f"fit: cannot monitor {self.monitor}: it is not computed for these targets")
        better = self.best_value is None or (
            value < self.best_value if self.monitor == "val_loss" else value > self.best_value
        )
        if better:
            self.best_value, self.best_epoch, self.best_state = value, epoch, self.model.get_state()
        return epoch - self.best_epoch >= self.patience

    def restore(self, history: History) -> None:
        if self.best_state is not None:
            self.model.set_state(self.best_state)
            history.best_epoch = self.best_epoch


def _batch_lr(schedule: Callable[[int], float], first_step: int) -> Callable[[int], float]:
    """The lr of an epoch's i-th batch under a per-batch schedule whose epoch starts at first_step."""
    return lambda index: schedule(first_step + index)


def _symbol(name: str, data: np.ndarray) -> Node:
    """A symbolic input for minibatches of `data`: batch size unknown, the rest fixed."""
    return tensor(name, (None,) + data.shape[1:], data.dtype)


def _metrics(out: Node, targets: Node, loss: Node) -> list[Node]:
    """[loss] plus the number of correct predictions for class labels."""
    if targets.ndim == 1 and targets.dtype.kind in "iu" and out.ndim == 2:
        return [loss, eq(argmax(out, 1), targets).sum()]
    return [loss]


def _batch_totals(results: list[np.ndarray], size: int) -> np.ndarray:
    """(loss summed over the batch, number correct) from a step's [mean loss, correct]."""
    return np.array([float(results[0]) * size, float(results[1]) if len(results) > 1 else 0.0])


def _means(totals: np.ndarray, n: int, has_accuracy: bool) -> tuple[float, Optional[float]]:
    return float(totals[0] / n), (float(totals[1] / n) if has_accuracy else None)
