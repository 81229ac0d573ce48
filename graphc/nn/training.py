"""Training loops: a Trainer that compiles a model's step once and runs epochs, with
seeded shuffling, augmentation, validation, early stopping and a progress bar.

The backend is one argument: `backend="llvm"` (native kernels, the default) or any
other name gc.function accepts (`"numpy"`, the reference interpreter).

With `distributed=True` the Trainer trains data-parallel over graphc.distributed's process
group (the ranks of `mpiexec -n N`): see docs/distributed.md and data_parallel.py.
"""
from __future__ import annotations

import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from ..autodiff import grad
from ..distributed import ProcessGroup, abort_on_error
from ..distributed import init as init_process_group
from ..function import Function, function
from ..ir import Node
from ..ops import argmax, eq, set_communicator, shared, tensor
from ..ops.nn import cross_entropy
from ..ops.reduce import count
from .checkpoint import PathLike, generator_from_state, read_checkpoint, saved_values, write_checkpoint
from .data import Transform, is_classification, minibatches, num_batches, split
from .data_parallel import FlatGradients, check_every_rank_has_rows, check_same_plan, graph_digest, shard
from .init import RngLike, as_rng
from .layers import BatchNorm, Layer
from .optim import ParamGroup, get_optimizer

LossFn = Callable[[Node, Node], Node]
TRAINER_CHECKPOINT = "trainer"  # the kind tag of a Trainer's checkpoints
RANK_KEY_STRIDE = 1 << 32  # rank r's random keys start r strides after rank 0's: streams that never meet


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

    `distributed=True` trains data-parallel over the processes of graphc.distributed.init()
    (the ranks of `mpiexec -n N`; one process alone without a launcher): each global batch of
    `batch_size` is split over the ranks, and one allreduce per step averages the gradients
    (see docs/distributed.md). The optimiser must accept a list of gradients, as the built-in
    ones do. Only rank 0 prints, shows progress and writes checkpoints. With `sync_batch_norm=True`
    the model's BatchNorm layers are made synchronised (`sync=True`): they normalise with the
    statistics of the global batch, summed over the ranks inside the compiled step (the group is
    installed as graphc.ops' communicator), rather than each rank's share.
    """

    def __init__(
        self, model: Layer, loss: Optional[LossFn] = None, optimizer: Union[str, Callable] = "sgd",
        lr: float = 0.01, backend: str = "llvm", param_groups: Optional[Sequence[ParamGroup]] = None,
        distributed: bool = False, sync_batch_norm: bool = False, **optimizer_options: Any,
    ):
        if sync_batch_norm and not distributed:
            raise ValueError("Trainer: sync_batch_norm=True synchronises batch norm over the ranks of a "
                             "distributed run; it needs distributed=True")
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
        self.group: Optional[ProcessGroup] = init_process_group() if distributed else None
        self.sync_batch_norm = sync_batch_norm
        if sync_batch_norm:
            for layer in model.walk():
                if isinstance(layer, BatchNorm):
                    layer.sync = True
        if self.group is not None:
            set_communicator(self.group.allreduce_sum)
        self._metric_count = 0  # the step's leading outputs that are metrics (loss, number correct)
        self._flat: Optional[FlatGradients] = None  # distributed: the buffer the ranks sum
        self._apply: Optional[Function] = None  # distributed: the optimiser's step from the summed buffer

    def __reduce__(self):
        raise TypeError(
            "a Trainer is not picklable (it holds graph nodes and compiled functions): use "
            "trainer.save_checkpoint(path) and load_checkpoint(path) in a newly built Trainer, or save "
            "trainer.model.state_dict() and build a new Trainer around a model restored with load_state_dict()"
        )

    # -- compiled functions, built for the data's sample shape on first use ------------
    def step_function(self, x: np.ndarray, y: np.ndarray) -> Function:
        """The compiled training step (xb, yb) -> [loss, (number correct)], updating the model.

        Distributed, it is (xb, yb) -> [loss, (number correct), gradients..., new running
        statistics...] and updates nothing but random keys; `self._apply` takes the step."""
        if self._step is None:
            with self._compiling():
                xs, ys = _symbol("x", x), _symbol("y", y)
                out = self.model(xs, training=True)
                loss = self.loss_fn(out, ys)
                metrics = _metrics(out, ys, loss)
                self._metric_count = len(metrics)
                if self.group is not None:
                    self._step = self._build_distributed_step(xs, ys, out, loss, metrics)
                    return self._step
                updates = list(self.optimizer(self._optimized(), loss, lr=self.lr, **self.optimizer_options))
                self._optimizer_state = _state_of(updates, self.model.parameters())
                updates += self.model.state_updates(out)
                self._step = function([xs, ys], metrics, updates=updates, backend=self.backend)
        return self._step

    def _build_distributed_step(self, xs: Node, ys: Node, out: Node, loss: Node, metrics: list[Node]) -> Function:
        """The gradient step (returned) and `self._apply`, which reads the ranks' summed buffer:
        the optimiser's updates from the mean gradients, and the running statistics' new values.

        The step's gradients and running statistics are those of the rank's share of the global
        batch's loss, its mean loss times its rows (so that what synchronised batch norm sends
        back across the ranks, in its allreduces' gradients, adds up to the global batch's)."""
        params = _parameters_of(self._optimized())
        running = self.model.state_updates(out)
        self._flat = FlatGradients(params + [var for var, _ in running])
        rows = count(xs, (0,), loss.dtype)
        step = function([xs, ys], metrics + grad(loss * rows, params) + [value * rows for _, value in running],
                        backend=self.backend)
        summed = tensor("summed", self._flat.buffer.shape, self._flat.buffer.dtype)
        global_rows = tensor("count", (), self._flat.buffer.dtype)
        means = self._flat.means(summed, global_rows)
        updates = list(self.optimizer(self._optimized(), means[:len(params)], lr=self.lr, **self.optimizer_options))
        self._optimizer_state = _state_of(updates, params)
        updates += [(var, mean) for (var, _), mean in zip(running, means[len(params):])]
        self._apply = function([summed, global_rows], [], updates=updates, backend=self.backend)
        return step

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
        take_step = self._call_totals if self.group is None else self._distributed_step
        totals = np.zeros(2)
        batches = minibatches(x, y, batch_size=batch_size, rng=rng)
        bar = _tqdm()(batches, total=num_batches(len(x), batch_size), desc=desc, leave=False,
                      disable=not (progress and self.is_root), unit="batch")
        for index, (xb, yb) in enumerate(bar):
            if batch_lr is not None:
                self.lr.set_value(batch_lr(index))
            if augment is not None:  # the whole global batch, on every rank: the same as in one process
                xb = augment(xb, rng).astype(x.dtype, copy=False)
            totals += take_step(step, xb, yb)
        return self._means(totals, len(x), self._metric_count > 1)

    def _call_totals(self, fn: Function, xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
        """(loss summed over the batch, number correct) from one call of a step or evaluation."""
        return _batch_totals(self._call(fn, xb, yb), len(xb))

    def _distributed_step(self, step: Function, xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
        """One data-parallel step on this rank's share of the global batch (xb, yb): its gradients,
        weighted by its share's size, go into the flat buffer, which one allreduce sums over the ranks;
        every rank then applies the same update. Returns this rank's (loss sum, number correct)."""
        start, stop = shard(len(xb), self.group)
        flat = self._flat
        totals = np.zeros(2)
        if stop > start:
            results = self._call(step, xb[start:stop], yb[start:stop])
            totals = _batch_totals(results[:self._metric_count], stop - start)
            flat.fill(results[self._metric_count:])
        else:  # fewer rows than ranks in the last batch: this rank adds nothing (never with sync_batch_norm)
            flat.buffer.fill(0)
        self.group.allreduce_sum(flat.buffer)
        self._call(self._apply, flat.buffer, np.asarray(len(xb), flat.buffer.dtype))
        return totals

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> tuple[float, Optional[float]]:
        """Inference-mode (mean loss, accuracy or None) over (x, y); distributed, each rank
        scores its share of the rows and the sums are added over the ranks."""
        with self._failing_together():
            fn = self.evaluate_function(x, y)
            start, stop = shard(len(x), self.group)
            totals = np.zeros(2)
            for xb, yb in minibatches(x[start:stop], y[start:stop], batch_size=batch_size, shuffle=False):
                totals += self._call_totals(fn, xb, yb)
            return self._means(totals, len(x), len(fn.outputs) > 1)

    def _means(self, totals: np.ndarray, n: int, has_accuracy: bool) -> tuple[float, Optional[float]]:
        """(mean loss, accuracy or None) of n rows from this rank's totals, summed over the ranks."""
        if self.group is not None:
            self.group.allreduce_sum(totals)
        return float(totals[0] / n), (float(totals[1] / n) if has_accuracy else None)

    @property
    def is_root(self) -> bool:
        """Whether this process logs, shows progress and writes checkpoints (rank 0, or alone)."""
        return self.group is None or self.group.rank == 0

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

        Distributed, every rank calls fit with the same data and options: the ranks check that
        they built the same training step for the same run, then take rank 0's weights, optimiser
        state and random keys (each rank's dropout keys then move to a stream of their own). A
        rank that raises aborts them all (graphc.distributed.abort_on_error).
        """
        with self._failing_together():
            if checkpoint_every < 1:
                raise ValueError(f"fit: checkpoint_every must be at least 1, got {checkpoint_every}")
            if validation_data is None and validation_split:
                x, y, x_val, y_val = split(x, y, validation_split, seed, stratify=is_classification(y))
                validation_data = (x_val, y_val)
            stopper = _EarlyStopping(self.model, monitor, patience) if patience is not None else None
            if stopper and validation_data is None:
                raise ValueError("fit: early stopping needs validation_data or validation_split")
            rng = self._start_run(seed)
            if self.group is not None:
                self._join_ranks(x, y, validation_data, epochs, batch_size, seed)
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
                if verbose and self.is_root:
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

    def _failing_together(self) -> AbstractContextManager:
        """Distributed, abort every rank when this one raises (the others would wait for it)."""
        return nullcontext() if self.group is None else abort_on_error(self.group)

    def _join_ranks(self, x: np.ndarray, y: np.ndarray, validation_data: Optional[tuple[np.ndarray, np.ndarray]],
                    epochs: int, batch_size: int, seed: int) -> None:
        """Check that every rank runs the same training step on the same run, then give every
        rank rank 0's state, with random keys moved to a stream of the rank's own."""
        step = self.step_function(x, y)
        plan = {
            "training step": graph_digest(step.inputs, step.outputs, step.updates),
            "optimiser step": graph_digest(self._apply.inputs, self._apply.outputs, self._apply.updates),
            "training data": (x.shape, x.dtype.str, y.shape, y.dtype.str),
            "validation data": None if validation_data is None else [(a.shape, a.dtype.str) for a in validation_data],
            "epochs, batch size, seed, first epoch": (epochs, batch_size, seed, self.epoch),
        }
        check_same_plan(self.group.allgather(plan), self.group.rank)
        if self.sync_batch_norm:
            check_every_rank_has_rows(len(x), batch_size, self.group.size)
        optimizer_state, random_state = self._run_state()
        for var in self.model.variables() + optimizer_state + random_state:
            value = np.array(var.get_value(), order="C")
            self.group.broadcast(value)
            var.set_value(value)
        for key in random_state:
            key.set_value(key.get_value() + np.int64(self.group.rank * RANK_KEY_STRIDE))

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
        also the position of a schedule) and the state of the shuffling generator. Distributed,
        only rank 0 writes (its random keys are the run's: the other ranks derive theirs from them)."""
        if not self.is_root:
            return
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
        distributed: bool = False, **fit_options: Any) -> tuple[Trainer, History]:
    """Build a Trainer and fit; returns (trainer, history). See Trainer and Trainer.fit."""
    trainer = Trainer(model, loss, optimizer, lr, backend, param_groups, distributed, **(optimizer_options or {}))
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


def _state_of(updates: list[tuple[Node, Node]], params: Sequence[Node]) -> list[Node]:
    """The optimiser's own variables among its updates' targets (moments, step counts), in order."""
    parameters = set(params)
    return [var for var, _ in updates if var not in parameters]


def _parameters_of(optimized: Union[list[Node], list[ParamGroup]]) -> list[Node]:
    """The parameters an optimiser is given, in the order it takes their gradients (group by group)."""
    if any(isinstance(entry, Mapping) for entry in optimized):
        return [p for group in optimized for p in group["params"]]
    return list(optimized)
