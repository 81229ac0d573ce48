"""The program each rank runs in the mpiexec tests: `python ranks.py SCENARIO OUT_DIR`.

train:    fit a small CNN (no batch norm) with a global batch that leaves a last batch of one
          row; each rank saves its final weights to OUT_DIR/rank<r>.npz.
single:   the same in one plain process (distributed=False): the reference weights.
raise:    rank 1 raises in the middle of training; every rank must end, non-zero.
mismatch: rank 1 builds a wider model; every rank must refuse to start.
bn-sync-BACKEND:   fit a small CNN with batch norm (after a convolution and after a dense layer)
                   with sync_batch_norm=True; each rank saves its weights and running statistics,
                   the outputs of the training-mode model (synchronised statistics) on its share
                   of the first global batch, and its inference outputs.
bn-local-BACKEND:  the same with each rank's own batch-norm statistics (sync_batch_norm=False).
bn-raise-BACKEND:  bn-sync, but rank 1 raises before its third step, while rank 0 waits for it in an
                   allreduce inside its compiled step; every rank must end, non-zero.
bn-single-BACKEND: the same in one plain process (distributed=False, batch norm of the batch).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

import graphc as gc
import graphc.distributed as dist
from graphc.nn.data_parallel import shard

ROWS, BATCH, EPOCHS = 129, 64, 2  # 129 = 2 * 64 + 1: a last global batch of one row, which some ranks lack


def data(rows: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 1, 8, 8)).astype(np.float32)
    return x, (x[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64) + (x[:, 0, 4:].sum(axis=(1, 2)) > 0)


def model(width: int = 4) -> gc.nn.Layer:
    rng = np.random.default_rng(1)
    return gc.nn.Sequential(
        gc.nn.Conv2d(1, width, 3, padding=1, rng=rng), gc.nn.ReLU(), gc.nn.MaxPool2d(2),
        gc.nn.Flatten(), gc.nn.Dense(width * 16, 3, rng=rng),
    )


SYNC_ROWS = 2 * BATCH + 6  # a last global batch of 6 rows: 2 or 3 a rank


def batch_norm_model() -> gc.nn.Layer:
    """Layers before a batch norm have no bias: its gradient would be 0 up to rounding, which Adam
    turns into steps of the full learning rate in random directions."""
    rng = np.random.default_rng(2)
    return gc.nn.Sequential(
        gc.nn.Conv2d(1, 4, 3, padding=1, bias=False, rng=rng), gc.nn.BatchNorm(4), gc.nn.ReLU(), gc.nn.MaxPool2d(2),
        gc.nn.Flatten(), gc.nn.Dense(64, 8, bias=False, rng=rng), gc.nn.BatchNorm(8), gc.nn.ReLU(),
        gc.nn.Dense(8, 3, rng=rng),
    )


def failing_schedule(group: dist.ProcessGroup):
    """A per-batch learning rate schedule that raises on rank 1 before the third step."""
    def schedule(step: int) -> float:
        if group.rank == 1 and step == 2:
            raise RuntimeError("rank 1 cannot read its shard")
        return 0.01
    schedule.per_batch = True
    return schedule


def train_synchronised(scenario: str, group: dist.ProcessGroup, out: Path) -> None:
    _, kind, backend = scenario.split("-")
    distributed = kind != "single"
    x, y = data(SYNC_ROWS)
    x = x * 2 + 1  # statistics away from 0 and 1
    net = batch_norm_model()
    trainer = gc.nn.Trainer(net, optimizer="adam", lr=0.01, backend=backend, distributed=distributed,
                            sync_batch_norm=kind in ("sync", "raise"))
    schedule = failing_schedule(group) if kind == "raise" else None
    trainer.fit(x, y, epochs=EPOCHS, batch_size=BATCH, lr_schedule=schedule, progress=False, verbose=False)
    xs = gc.tensor("x", (None,) + x.shape[1:])
    training_mode = gc.function([xs], net(xs, training=True), backend=backend)
    start, stop = shard(BATCH, trainer.group)
    np.savez(out / f"rank{group.rank}.npz", training_output=training_mode(x[start:stop]),
             inference_output=trainer.predict(x[:40]), **net.state_dict())


def main(scenario: str, out: Path) -> None:
    group = dist.init()
    (out / f"rank{group.rank}.pid").write_text(str(os.getpid()))
    if scenario.startswith("bn-"):
        return train_synchronised(scenario, group, out)
    x, y = data()
    net = model(width=8 if scenario == "mismatch" and group.rank == 1 else 4)
    trainer = gc.nn.Trainer(net, optimizer="adam", lr=0.01, distributed=scenario != "single")
    schedule = failing_schedule(group) if scenario == "raise" else None
    history = trainer.fit(x, y, epochs=EPOCHS, batch_size=BATCH, lr_schedule=schedule, progress=False,
                          validation_data=(x[:33], y[:33]))
    np.savez(out / f"rank{group.rank}.npz", loss=history.loss, val_accuracy=history.val_accuracy,
             **net.state_dict())


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
