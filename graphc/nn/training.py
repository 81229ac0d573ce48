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
from .checkpoint import PathLike, generator_from_state, read_checkpoint, saved_values, write_checkpoint
from .data import Transform, is_classification, minibatches, num_batches, split
from .init import RngLike, as_rng
from .layers import Layer
from .optim import ParamGroup, get_optimizer

LossFn = Callable[[Node, Node], Node]
TRAINER_CHECKPOINT = "trainer"  # the kind tag of a Trainer's checkpoints


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
    best_epoch: Optional[int] = None  # 0-based epoch number; weights restored from it when early stopping
    stopped_early: bool = False
    first_epoch: int = 0  # the 0-based number of the epoch in the first row (> 0 when resuming)

    @property
    def epochs(self) -> int:
        """The number of epochs run (this History's rows)."""
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

    `save_checkpoint(path)` / `load_checkpoint(path)` keep and restore everything a run
    depends on (see graphc.nn.checkpoint); `fit` after `load_checkpoint` resumes it.
    `epoch` is the number of epochs the run has completed.
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
        self.epoch = 0  # epochs completed by the last fit, or restored by load_checkpoint
        self._data_rng: Optional[np.random.Generator] = None  # the last fit's shuffling generator
        self._resume = False  # whether the next fit continues from self.epoch and self._data_rng
        self._optimizer_state: list[Node] = []  # the optimiser's variables in the step, in update order

    def __reduce__(self):
        raise TypeError(
            "a Trainer is not picklable (it holds graph nodes and compiled functions): use "
            "trainer.save_checkpoint(path) and load_checkpoint(path) in a newly built Trainer, or save "
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
                updates = list(self.optimizer(self._optimized(), loss, lr=self.lr, **self.optimizer_options))
                parameters = set(self.model.parameters())
                self._optimizer_state = [var for var, _ in updates if var not in parameters]
                updates += self.model.state_updates(out)
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
        checkpoint: Optional[PathLike] = None, checkpoint_every: int = 1,
    ) -> History:
        """Train up to epoch `epochs` and return the History of the epochs this call ran.

        Validation data is given, or split off (stratified for class labels) with
        `validation_split`. With `patience`, training stops once `monitor` (val_loss or
        val_accuracy) has not improved for that many epochs, and the best weights are
        restored. `lr_schedule(epoch)` sets the learning rate at the start of each epoch, or,
        for a schedule whose `per_batch` is true (OneCycleLR), `lr_schedule(step)` before
        each batch, counting batches from the first epoch; History.lr records the last.

        A fit starts at epoch 0 with a shuffling generator seeded by `seed`, except after
        `load_checkpoint`: then it continues from the checkpoint's epoch and generator (pass the
        same data and seed), and History.first_epoch says where. With `checkpoint`, the state is
        saved there (see save_checkpoint) after every `checkpoint_every`-th epoch (counted from
        epoch 0) and after the last epoch run.
        """
        if checkpoint_every < 1:
            raise ValueError(f"fit: checkpoint_every must be at least 1, got {checkpoint_every}")
        if validation_data is None and validation_split:
            x, y, x_val, y_val = split(x, y, validation_split, seed, stratify=is_classification(y))
            validation_data = (x_val, y_val)
        stopper = _EarlyStopping(self.model, monitor, patience) if patience is not None else None
        if stopper and validation_data is None:
            raise ValueError("fit: early stopping needs validation_data or validation_split")
        rng = self._start_run(seed)
        history = History(first_epoch=self.epoch)
        compile_time_before = self.compile_time
        per_batch = getattr(lr_schedule, "per_batch", False)
        for epoch in range(self.epoch, epochs):
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
            self.epoch = epoch + 1
            if verbose:
                _tqdm().write(format_epoch(history, history.epochs - 1, epochs))
            stop = stopper is not None and stopper.should_stop(history, history.epochs - 1)
            if checkpoint is not None and (self.epoch % checkpoint_every == 0 or self.epoch == epochs or stop):
                self.save_checkpoint(checkpoint)
            if stop:
                history.stopped_early = self.epoch < epochs
                break
        if stopper:
            stopper.restore(history)
        return history

    def _start_run(self, seed: int) -> np.random.Generator:
        """The shuffling generator of a fit, setting self.epoch to its first epoch: the
        checkpoint's after load_checkpoint, else a generator seeded by `seed` and epoch 0."""
        resume, self._resume = self._resume, False
        if not resume or self._data_rng is None:
            self._data_rng = as_rng(seed)
        if not resume:
            self.epoch = 0
        return self._data_rng

    # -- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self, path: PathLike) -> None:
        """Write everything the run depends on to `path`, atomically (see graphc.nn.checkpoint):
        the model's state_dict, the optimiser's variables (moments, step counts), the random keys
        the training step advances (dropout), the learning rate, the epoch counter (which is
        also the position of a schedule) and the state of the shuffling generator."""
        arrays = {f"model/{name}": value for name, value in self.model.state_dict().items()}
        optimizer_state, random_state = self._run_state()
        arrays.update((f"optimizer/{i}", var.get_value()) for i, var in enumerate(optimizer_state))
        arrays.update((f"random/{i}", var.get_value()) for i, var in enumerate(random_state))
        arrays["trainer/lr"] = self.lr.get_value()
        meta = {
            "epoch": self.epoch,
            "data_rng": None if self._data_rng is None else self._data_rng.bit_generator.state,
            "inputs": None if self._step is None else [_input_spec(node) for node in self._step.inputs],
            "optimizer_name": _name_of(self.optimizer),
            "optimizer": [var.name for var in optimizer_state],
            "random": [var.name for var in random_state],
        }
        write_checkpoint(path, TRAINER_CHECKPOINT, arrays, meta)

    def load_checkpoint(self, path: PathLike) -> None:
        """Restore what `save_checkpoint` wrote into this trainer, built as the saving one was
        (same model, optimiser and options); the next `fit` resumes the run from there.

        The training step is built first if it was not (for the input shapes the checkpoint
        records). Nothing is changed when the checkpoint does not fit: a model that differs
        raises load_state_dict's ValueError, an optimiser that differs a ValueError saying how.
        A checkpoint saved before the first step leaves the optimiser to start afresh.
        """
        arrays, meta = read_checkpoint(path, TRAINER_CHECKPOINT)
        _require(path, meta, arrays)
        if meta["optimizer_name"] != _name_of(self.optimizer):
            raise ValueError(f"{path}: saved by a trainer with optimizer {meta['optimizer_name']!r}, "
                             f"this one has {_name_of(self.optimizer)!r}")
        before = self.model.state_dict()
        try:
            self.model.load_state_dict({name[len("model/"):]: value for name, value in arrays.items()
                                        if name.startswith("model/")})
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        try:
            pairs, data_rng = self._run_state_from(path, meta, arrays), generator_from_state(path, meta["data_rng"])
        except ValueError:
            self.model.load_state_dict(before)
            raise
        for var, value in pairs:
            var.set_value(value)
        self.lr.set_value(arrays["trainer/lr"])
        self.epoch, self._data_rng, self._resume = meta["epoch"], data_rng, True
        if meta["inputs"] is None:
            self._step = None  # rebuilt at the next fit, with new optimiser variables

    def _run_state_from(self, path: PathLike, meta: dict[str, Any],
                        arrays: dict[str, np.ndarray]) -> list[tuple[Node, np.ndarray]]:
        """(variable, value) pairs of the optimiser's and the random state in a checkpoint, for the
        training step (built here for the checkpoint's input shapes if it was not)."""
        if meta["inputs"] is None:  # saved before the first step: there is none
            return []
        if self._step is None:
            (x_shape, x_dtype), (y_shape, y_dtype) = meta["inputs"]
            self.step_function(np.empty([0, *x_shape], x_dtype), np.empty([0, *y_shape], y_dtype))
        optimizer_state, random_state = self._run_state()
        return (saved_values(path, "optimizer", optimizer_state, arrays, meta["optimizer"], check_names=True)
                + saved_values(path, "random", random_state, arrays, meta["random"], check_names=False))

    def _run_state(self) -> tuple[list[Node], list[Node]]:
        """The optimiser's variables and the other variables the training step updates (random
        keys), each in the step's update order; none before the step is built."""
        if self._step is None:
            return [], []
        known = set(self.model.variables()) | set(self._optimizer_state)
        return list(self._optimizer_state), [var for var, _ in self._step.updates if var not in known]


def fit(model: Layer, x: np.ndarray, y: np.ndarray, *, loss: Optional[LossFn] = None,
        optimizer: Union[str, Callable] = "sgd", lr: float = 0.01, backend: str = "llvm",
        param_groups: Optional[Sequence[ParamGroup]] = None, optimizer_options: Optional[dict] = None,
        **fit_options: Any) -> tuple[Trainer, History]:
    """Build a Trainer and fit; returns (trainer, history). See Trainer and Trainer.fit."""
    trainer = Trainer(model, loss, optimizer, lr, backend, param_groups, **(optimizer_options or {}))
    return trainer, trainer.fit(x, y, **fit_options)


def format_epoch(history: History, row: int, epochs: int) -> str:
    """One line summarising the epoch in the History's `row`, e.g. for logs."""
    width = len(str(epochs))
    parts = [f"epoch {history.first_epoch + row + 1:>{width}}/{epochs}", f"loss {history.loss[row]:.4f}"]
    if history.accuracy[row] is not None:
        parts.append(f"acc {100 * history.accuracy[row]:.2f}%")
    if history.val_loss[row] is not None:
        parts.append(f"val_loss {history.val_loss[row]:.4f}")
    if history.val_accuracy[row] is not None:
        parts.append(f"val_acc {100 * history.val_accuracy[row]:.2f}%")
    parts.append(f"{history.epoch_time[row]:.2f} s")
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

    def should_stop(self, history: History, row: int) -> bool:
        """Whether to stop after the epoch in the History's `row`."""
        epoch = history.first_epoch + row
        value = getattr(history, self.monitor)[row]
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


def _name_of(optimizer: Callable) -> str:
    """The optimiser's name as a checkpoint records it: its function's (adam), else its type's."""
    return getattr(optimizer, "__name__", type(optimizer).__name__)


def _input_spec(node: Node) -> list:
    """[shape after the batch axis, dtype name] of a training step's input, as JSON."""
    return [list(node.type.shape[1:]), node.dtype.name]


def _require(path: PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Refuse a trainer checkpoint whose metadata or learning rate is missing."""
    missing = [key for key in ("epoch", "data_rng", "inputs", "optimizer_name", "optimizer", "random")
               if key not in meta]
    missing += ["the learning rate"] if "trainer/lr" not in arrays else []
    if missing:
        raise ValueError(f"{path}: a damaged trainer checkpoint: no {', '.join(missing)}")


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
