"""Trainer checkpoints: a run resumed from one, even in a fresh process, ends with the same
weights as the run left alone; damaged, foreign and mismatched files are refused clearly;
writes are atomic."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphc
import graphc.nn as nn

ROOT = Path(__file__).resolve().parents[2]

# The run, as a script: the test imports its functions, and runs it as __main__ to resume in a new process.
RUN = '''
import sys

import numpy as np

import graphc.nn as nn


def build(optimizer="adam"):
    """A model with batch norm and dropout; its trainer."""
    model = nn.Sequential(
        nn.Dense(6, 12, rng=0, name="fc1"), nn.BatchNorm(12, name="bn"), nn.ReLU(),
        nn.Dropout(0.3, rng=1), nn.Dense(12, 3, rng=2, name="fc2"),
    )
    return nn.Trainer(model, optimizer=optimizer, lr=0.01)


def data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(52, 6)).astype(np.float32)  # three full batches of 16 and one of 4
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)
    return x, y


def schedule(name):
    return {"constant": None, "step": nn.StepLR(0.02, step_size=1, gamma=0.5),
            "one-cycle": nn.OneCycleLR(0.05, epochs=4, steps_per_epoch=4)}[name]


def train(trainer, epochs, schedule_name, **options):
    x, y = data()
    return trainer.fit(x, y, epochs=epochs, batch_size=16, lr_schedule=schedule(schedule_name),
                       validation_data=(x[:10], y[:10]), seed=3, progress=False, verbose=False, **options)


if __name__ == "__main__":
    checkpoint, out, schedule_name = sys.argv[1:]
    trainer = build()
    trainer.load_checkpoint(checkpoint)
    history = train(trainer, 4, schedule_name)
    np.savez(out, first_epoch=history.first_epoch, epochs=history.epochs, **trainer.model.state_dict())
'''
run = {"__name__": "checkpoint_run"}
exec(compile(RUN, "checkpoint_run", "exec"), run)


def _uninterrupted(schedule_name):
    trainer = run["build"]()
    run["train"](trainer, 4, schedule_name)
    return trainer.model.state_dict()


def _assert_same_state(got, expected):
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert np.array_equal(got[name], value), f"{name} differs"


@pytest.mark.parametrize("schedule_name", ["constant", "one-cycle"])
def test_a_run_resumed_in_a_fresh_process_ends_with_the_same_weights(tmp_path, schedule_name):
    first = run["build"]()
    run["train"](first, 2, schedule_name)
    first.save_checkpoint(tmp_path / "run.npz")
    assert not np.array_equal(first.model.state_dict()["fc1.weight"], _uninterrupted(schedule_name)["fc1.weight"])

    script = tmp_path / "resume.py"
    script.write_text(RUN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "run.npz"), str(tmp_path / "out.npz"),
                           schedule_name], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "out.npz") as resumed:
        state = dict(resumed)
    assert (int(state.pop("first_epoch")), int(state.pop("epochs"))) == (2, 2)  # History: the epochs run
    _assert_same_state(state, _uninterrupted(schedule_name))


def test_resuming_in_the_same_process_with_a_per_epoch_schedule(tmp_path):
    first = run["build"]()
    run["train"](first, 3, "step", checkpoint=tmp_path / "run.npz", checkpoint_every=2)
    resumed = run["build"]()
    resumed.load_checkpoint(tmp_path / "run.npz")  # written after epoch 3, the last
    history = run["train"](resumed, 4, "step")
    assert (history.first_epoch, history.epochs) == (3, 1)
    _assert_same_state(resumed.model.state_dict(), _uninterrupted("step"))


@pytest.mark.parametrize("perturb", ["random key", "optimizer state", "data order"])
def test_each_part_of_the_run_state_matters(tmp_path, perturb):
    """The resumed run differs once one part of the restored state is changed: the test above
    would notice a checkpoint that missed it."""
    first = run["build"]()
    run["train"](first, 2, "constant")
    first.save_checkpoint(tmp_path / "run.npz")
    resumed = run["build"]()
    resumed.load_checkpoint(tmp_path / "run.npz")
    optimizer_state, random_state = resumed._run_state()
    if perturb == "random key":
        (key,) = random_state
        key.set_value(key.get_value() + 1)
    elif perturb == "optimizer state":
        moment = optimizer_state[1]
        moment.set_value(moment.get_value() * 2)
    else:
        resumed._data_rng.random()
    run["train"](resumed, 4, "constant")
    expected = _uninterrupted("constant")
    assert not all(np.array_equal(value, expected[name]) for name, value in resumed.model.state_dict().items())


def test_the_file_is_a_versioned_npz_with_json_metadata(tmp_path):
    trainer = run["build"]()
    run["train"](trainer, 1, "constant")
    trainer.save_checkpoint(tmp_path / "run.ckpt")  # the name is kept as given
    with np.load(tmp_path / "run.ckpt") as saved:
        meta = json.loads(str(saved["__meta__"]))
        names = saved.files
        np.testing.assert_array_equal(saved["model/bn.running_mean"], trainer.model[1].running_mean.get_value())
    assert meta["format"] == "graphc.checkpoint" and meta["version"] == 1 and meta["kind"] == "trainer"
    assert meta["graphc"] == graphc.__version__
    assert meta["epoch"] == 1 and meta["inputs"] == [[[6], "float32"], [[], "int64"]]
    assert meta["optimizer_name"] == "adam"
    assert meta["optimizer"][:3] == ["adam.step", "fc1.weight.adam_m", "fc1.weight.adam_v"]
    assert len(meta["random"]) == 1 and meta["random"][0].startswith("rng_key_")  # the dropout stream's key
    assert meta["data_rng"]["bit_generator"] == "PCG64"
    assert {"model/fc1.weight", "optimizer/0", "random/0", "trainer/lr"} <= set(names)


@pytest.fixture
def saved(tmp_path):
    """The path of a checkpoint after one epoch of the run."""
    trainer = run["build"]()
    run["train"](trainer, 1, "constant")
    trainer.save_checkpoint(tmp_path / "run.npz")
    return tmp_path / "run.npz"


def test_damaged_and_foreign_files_are_refused_naming_the_path(saved, tmp_path):
    data = saved.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "cut-short.npz").write_bytes(data[:-40])
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("epoch 3, loss 0.2\n")
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    np.save(tmp_path / "array.npy", np.ones(3))
    cases = {
        "truncated.npz": "the npz archive is truncated or corrupt",
        "cut-short.npz": "the npz archive is truncated or corrupt",
        "empty.npz": "the file is empty",
        "notes.txt": r"it is not an npz \(zip\) archive",
        "array.npy": r"it is not an npz \(zip\) archive",
        "foreign.npz": r"an npz without graphc's '__meta__' entry \(arrays: weights\)",
    }
    for name, message in cases.items():
        path = tmp_path / name
        with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: not a graphc checkpoint: {message}"):
            run["build"]().load_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        run["build"]().load_checkpoint(tmp_path / "missing.npz")


def _edited(saved, tmp_path, drop=(), **changes):
    """A copy of the checkpoint `saved` with its metadata changed: keys in `drop` removed."""
    with np.load(saved) as contents:
        entries = dict(contents)
    meta = {**json.loads(str(entries["__meta__"])), **changes}
    entries["__meta__"] = np.array(json.dumps({key: value for key, value in meta.items() if key not in drop}))
    np.savez(tmp_path / "edited.npz", **entries)
    return tmp_path / "edited.npz"


@pytest.mark.parametrize("edit, message", [
    ({"version": 99}, r"checkpoint format version 99 \(written by graphc .*\); this graphc .* reads versions up to 1"),
    ({"kind": "model"}, "a 'model' checkpoint, expected a 'trainer' one"),
    ({"format": "other"}, "not a graphc checkpoint: its '__meta__' entry does not name the 'graphc.checkpoint' format"),
    ({"drop": ("epoch", "data_rng")}, "a damaged trainer checkpoint: no epoch, data_rng"),
])
def test_a_later_version_another_kind_or_format_or_missing_fields_are_refused(saved, tmp_path, edit, message):
    edited = _edited(saved, tmp_path, **edit)
    with pytest.raises(ValueError, match=f"^{re.escape(str(edited))}: {message}"):
        run["build"]().load_checkpoint(edited)


def test_a_different_model_is_refused_as_load_state_dict_does_and_nothing_changes(saved):
    other = nn.Trainer(nn.Sequential(nn.Dense(6, 3, rng=0, name="fc1")), optimizer="adam", lr=0.01)
    before = other.model.state_dict()
    expected = r"run.npz: load_state_dict into 'sequential':\n  unexpected keys .*'bn.gamma'"
    with pytest.raises(ValueError, match=expected):
        other.load_checkpoint(saved)
    _assert_same_state(other.model.state_dict(), before)
    assert other.epoch == 0 and float(other.lr.get_value()) == np.float32(0.01)


def test_a_different_optimizer_is_refused_and_nothing_changes(saved, tmp_path):
    momentum = run["build"]("momentum")
    before = momentum.model.state_dict()
    with pytest.raises(ValueError, match="run.npz: saved by a trainer with optimizer 'adam', this one has 'momentum'"):
        momentum.load_checkpoint(saved)
    _assert_same_state(momentum.model.state_dict(), before)

    plain = run["build"]("rmsprop")
    run["train"](plain, 1, "constant")
    plain.save_checkpoint(tmp_path / "rmsprop.npz")
    centered = nn.Trainer(run["build"]().model, optimizer="rmsprop", lr=0.01, centered=True)
    before = centered.model.state_dict()
    with pytest.raises(ValueError, match=r"the checkpoint has 6 optimizer variables, this trainer 12 \(was it built "
                                         r"with the same model, optimizer and options\?\)"):
        centered.load_checkpoint(tmp_path / "rmsprop.npz")
    _assert_same_state(centered.model.state_dict(), before)


def test_a_failed_write_leaves_the_previous_checkpoint_whole_and_no_temporary_file(saved, monkeypatch):
    before = saved.read_bytes()
    trainer = run["build"]()
    run["train"](trainer, 2, "constant")

    def fail_midway(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", fail_midway)
    with pytest.raises(OSError, match="No space left on device"):
        trainer.save_checkpoint(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]
    monkeypatch.undo()
    trainer.save_checkpoint(saved)  # and a write that succeeds replaces it
    assert os.listdir(saved.parent) == [saved.name]
    assert json.loads(str(np.load(saved)["__meta__"]))["epoch"] == 2


def test_fit_writes_a_checkpoint_every_k_epochs_and_after_the_last(tmp_path, monkeypatch):
    trainer = run["build"]()
    written = []
    save = trainer.save_checkpoint
    monkeypatch.setattr(trainer, "save_checkpoint", lambda path: (written.append(trainer.epoch), save(path)))
    run["train"](trainer, 5, "constant", checkpoint=tmp_path / "run.npz", checkpoint_every=2)
    assert written == [2, 4, 5]
    assert json.loads(str(np.load(tmp_path / "run.npz")["__meta__"]))["epoch"] == 5
    with pytest.raises(ValueError, match="checkpoint_every must be at least 1, got 0"):
        run["train"](trainer, 1, "constant", checkpoint=tmp_path / "run.npz", checkpoint_every=0)


def test_a_checkpoint_past_the_requested_epochs_runs_nothing(saved):
    trainer = run["build"]()
    trainer.load_checkpoint(saved)
    history = run["train"](trainer, 1, "constant")
    assert (history.first_epoch, history.epochs) == (1, 0)


def test_without_a_checkpoint_each_fit_starts_at_epoch_zero():
    trainer = run["build"]()
    assert run["train"](trainer, 2, "constant").first_epoch == 0
    assert run["train"](trainer, 2, "constant").epochs == 2


def test_a_checkpoint_saved_before_training_restores_the_model_and_a_fresh_optimizer(tmp_path):
    untrained = run["build"]()
    untrained.save_checkpoint(tmp_path / "start.npz")
    trainer = run["build"]()
    run["train"](trainer, 1, "constant")
    trainer.load_checkpoint(tmp_path / "start.npz")
    _assert_same_state(trainer.model.state_dict(), untrained.model.state_dict())
    assert trainer._run_state() == ([], [])  # the step is rebuilt, with new optimiser variables
    assert run["train"](trainer, 1, "constant").first_epoch == 0
