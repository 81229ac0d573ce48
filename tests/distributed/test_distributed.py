"""Data-parallel training: the process group alone, the Trainer's distributed path in one
process, and real runs under `mpiexec -n 2` (skipped, saying why, without mpi4py or mpiexec)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
import graphc.distributed as dist
from graphc.distributed import launch
from graphc.nn.data_parallel import check_same_plan, shard
from graphc.nn.training import RANK_KEY_STRIDE
from mpi_helpers import ROOT, needs_mpi

RANKS = Path(__file__).with_name("ranks.py")


class Rank(dist.SingleProcess):
    """A stand-in for one rank of a larger group (for what needs no messages)."""

    def __init__(self, rank: int, size: int):
        self.rank, self.size = rank, size


# -- the process group ------------------------------------------------------------------
def test_without_a_launcher_the_group_is_this_process_alone_and_mpi_is_not_imported():
    code = ("import sys, graphc.nn, graphc.distributed as d; g = d.init(); "
            "print(type(g).__name__, d.rank(), d.size(), d.init() is g, 'mpi4py' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in launch.LAUNCHER_VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], env=dict(env, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["SingleProcess", "0", "1", "True", "False"]


def test_a_launched_process_without_mpi4py_is_told_how_to_install_it(monkeypatch):
    monkeypatch.setattr(launch, "_group", None)
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    monkeypatch.setitem(sys.modules, "graphc.distributed.mpi", None)
    with pytest.raises(RuntimeError, match=r"started by an MPI launcher.*pip install 'graphc\[mpi\]'"):
        dist.init()


def test_a_single_process_leaves_buffers_as_they_are():
    group = dist.SingleProcess()
    buffer = np.arange(4.0)
    group.allreduce_sum(buffer)
    group.broadcast(buffer)
    assert buffer.tolist() == [0, 1, 2, 3] and group.allgather("x") == ["x"]
    with pytest.raises(ValueError, match="root 1 is not a rank of a group of 1"):
        group.broadcast(buffer, root=1)


@pytest.mark.parametrize("buffer, got", [(np.arange(6.0)[::2], "a read-only or strided array"), ([1.0], "list")])
def test_buffers_mpi_could_not_fill_in_place_are_refused_in_one_process_too(buffer, got):
    with pytest.raises(ValueError, match=f"allreduce_sum: needs a writable C-contiguous numpy array, got {got}"):
        dist.SingleProcess().allreduce_sum(buffer)


def test_threads_per_rank_shares_the_cores_among_the_ranks_on_the_machine(monkeypatch):
    monkeypatch.setattr(launch, "available_cores", lambda: 8)
    monkeypatch.setenv("MPI_LOCALNRANKS", "3")
    assert launch.threads_per_rank() == 2
    monkeypatch.setenv("MPI_LOCALNRANKS", "16")
    assert launch.threads_per_rank() == 1


def test_abort_on_error_in_a_single_process_raises_the_error_itself():
    with pytest.raises(KeyError, match="lost"):
        with dist.abort_on_error(dist.SingleProcess()):
            raise KeyError("lost")


# -- the pieces of the Trainer's distributed path ------------------------------------------
@pytest.mark.parametrize("rows, size", [(64, 2), (65, 2), (22, 4), (3, 4), (1, 3)])
def test_shards_cover_the_batch_once_with_sizes_differing_by_at_most_one(rows, size):
    bounds = [shard(rows, Rank(r, size)) for r in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_ranks_with_different_plans_are_refused_naming_the_rank_and_the_difference():
    plan = {"training step": "abc", "training data": ((10, 4), "<f4")}
    check_same_plan([plan, dict(plan)], rank=0)
    with pytest.raises(ValueError, match="on rank 0: rank 1 differs from rank 0 in its training step: every rank"):
        check_same_plan([plan, {**plan, "training step": "abd"}], rank=0)


def small_cnn(batch_norm: bool, dropout: bool) -> gc.nn.Layer:
    rng = np.random.default_rng(3)
    layers = [gc.nn.Conv2d(1, 4, 3, padding=1, rng=rng)]
    layers += [gc.nn.BatchNorm(4)] if batch_norm else []
    layers += [gc.nn.ReLU(), gc.nn.MaxPool2d(2), gc.nn.Flatten()]
    layers += [gc.nn.Dropout(0.25, rng=rng)] if dropout else []
    return gc.nn.Sequential(*layers, gc.nn.Dense(64, 3, rng=rng))


def train(distributed: bool, optimizer: str = "momentum", **model_options) -> tuple[gc.nn.Layer, gc.nn.History]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 70)
    model = small_cnn(**model_options)
    trainer = gc.nn.Trainer(model, optimizer=optimizer, lr=0.05, distributed=distributed, backend="numpy")
    history = trainer.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:20], y[:20]),
                          progress=False, verbose=False)
    return model, history


@pytest.mark.parametrize("model_options", [dict(batch_norm=True, dropout=True), dict(batch_norm=False, dropout=False)])
def test_the_distributed_path_in_one_process_trains_as_the_plain_one(model_options):
    """Gradients and running statistics go through the flat buffer and the separate optimiser step."""
    plain, plain_history = train(False, **model_options)
    split, split_history = train(True, **model_options)
    expected, got = plain.state_dict(), split.state_dict()
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(split_history.loss, plain_history.loss, rtol=1e-5)
    assert split_history.val_accuracy == plain_history.val_accuracy


def test_each_rank_draws_dropout_masks_from_a_stream_of_its_own():
    keys = []
    for rank in (0, 1):
        trainer = gc.nn.Trainer(small_cnn(batch_norm=False, dropout=True), distributed=True, backend="numpy")
        trainer.group = Rank(rank, 2)
        trainer.fit(np.zeros((8, 1, 8, 8), np.float32), np.zeros(8, np.int64), epochs=1, batch_size=8,
                    progress=False, verbose=False)
        (key,) = trainer._run_state()[1]
        keys.append(int(key.get_value()))
    assert keys[1] - keys[0] == RANK_KEY_STRIDE


def test_only_rank_0_writes_checkpoints(tmp_path):
    trainer = gc.nn.Trainer(small_cnn(False, False), distributed=True)
    trainer.group = Rank(1, 2)
    trainer.save_checkpoint(tmp_path / "run.npz")
    assert list(tmp_path.iterdir()) == []
    trainer.group = Rank(0, 2)
    trainer.save_checkpoint(tmp_path / "run.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_parameters_of_two_dtypes_cannot_share_the_buffer():
    model = gc.nn.Sequential(gc.nn.Dense(4, 3, dtype="float64"), gc.nn.Dense(3, 2))
    trainer = gc.nn.Trainer(model, distributed=True, backend="numpy")
    with pytest.raises(TypeError, match=r"share one float dtype.*\['float32', 'float64'\]"):
        trainer.step_function(np.zeros((2, 4)), np.zeros(2, np.int64))


# -- under mpiexec -n 2 ---------------------------------------------------------------------
def run_ranks(scenario: str, out: Path, ranks: int = 2) -> subprocess.CompletedProcess:
    """ranks.py's scenario on `ranks` processes under mpiexec (one compiled-code thread each)."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, GRAPHC_NUM_THREADS="1", PYTHONPATH=path)
    command = ["mpiexec", "-n", str(ranks), sys.executable, str(RANKS), scenario, str(out)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def weights_digest(path: Path) -> str:
    with np.load(path) as saved:
        return hashlib.sha256(b"".join(saved[name].tobytes() for name in sorted(saved.files))).hexdigest()


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    """ranks.py's weights from one plain process (no launcher, distributed=False)."""
    out = tmp_path_factory.mktemp("one")
    env = {k: v for k, v in os.environ.items() if k not in launch.LAUNCHER_VARIABLES}
    subprocess.run([sys.executable, str(RANKS), "single", str(out)], check=True, timeout=60,
                   env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True)
    return out / "rank0.npz"


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])  # 3: shares of 21 and 22 rows, and ranks without a row of the last batch
def test_ranks_end_with_the_weights_of_one_process_with_the_same_global_batch(tmp_path, one_process, ranks):
    result = run_ranks("train", tmp_path, ranks)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("epoch 2/2") == 1  # only rank 0 logs
    digests = {weights_digest(tmp_path / f"rank{r}.npz") for r in range(ranks)}
    assert len(digests) == 1  # bitwise the same weights on every rank
    with np.load(one_process) as one, np.load(tmp_path / "rank0.npz") as many:
        assert sorted(one.files) == sorted(many.files)
        for name in one.files:
            np.testing.assert_allclose(many[name], one[name], rtol=1e-4, atol=1e-6, err_msg=name)


def rank_results(out: Path, ranks: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Rank 0's saved arrays, with the training-mode outputs of every rank's share joined in rank
    order, and each rank's digest of all it saved but those outputs."""
    saved = [dict(np.load(out / f"rank{r}.npz")) for r in range(ranks)]
    digests = [hashlib.sha256(b"".join(s[name].tobytes() for name in sorted(s) if name != "training_output"))
               .hexdigest() for s in saved]
    return {**saved[0], "training_output": np.concatenate([s["training_output"] for s in saved])}, digests


def one_process_run(scenario: str, out: Path) -> dict[str, np.ndarray]:
    env = {k: v for k, v in os.environ.items() if k not in launch.LAUNCHER_VARIABLES}
    subprocess.run([sys.executable, str(RANKS), scenario, str(out)], check=True, timeout=60,
                   env=dict(env, PYTHONPATH=str(ROOT), GRAPHC_NUM_THREADS="1"), capture_output=True)
    return dict(np.load(out / "rank0.npz"))


@needs_mpi
@pytest.mark.parametrize("ranks, backend", [(2, "llvm"), (3, "llvm"), (2, "numpy")])
def test_synchronised_batch_norm_on_ranks_is_batch_norm_of_the_global_batch_in_one_process(tmp_path, ranks, backend):
    """The same batch statistics (running mean and variance), training-mode outputs (each rank's
    share of the global batch), inference outputs and weights, bitwise the same on every rank.
    3 ranks: shares of 21 and 22 rows, compiled for different shapes, meet in the same allreduces."""
    (tmp_path / "one").mkdir()
    one = one_process_run(f"bn-single-{backend}", tmp_path / "one")
    result = run_ranks(f"bn-sync-{backend}", tmp_path, ranks)
    assert result.returncode == 0, result.stderr
    many, digests = rank_results(tmp_path, ranks)
    assert len(set(digests)) == 1
    assert sorted(one) == sorted(many)
    for name in one:
        np.testing.assert_allclose(many[name], one[name], rtol=1e-4, atol=2e-6, err_msg=name)


@needs_mpi
def test_without_synchronisation_each_rank_normalises_with_its_own_statistics(tmp_path):
    """The control of the test above: local statistics differ from the global batch's."""
    (tmp_path / "one").mkdir()
    one = one_process_run("bn-single-llvm", tmp_path / "one")
    result = run_ranks("bn-local-llvm", tmp_path)
    assert result.returncode == 0, result.stderr
    many, _ = rank_results(tmp_path, 2)
    assert np.abs(many["training_output"] - one["training_output"]).max() > 1e-2


def still_running(pids: list[int], within: float) -> list[int]:
    """The processes among `pids` that have not ended `within` seconds from now (mpiexec returns as
    soon as it has signalled the ranks, which then take a moment to go)."""
    deadline = time.monotonic() + within
    while True:
        running = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False


@needs_mpi
@pytest.mark.parametrize("scenario", ["raise", "bn-raise-llvm"])  # bn-raise: rank 0 waits inside its compiled step
def test_a_rank_that_raises_ends_every_rank_with_its_message(tmp_path, scenario):
    result = run_ranks(scenario, tmp_path)
    assert result.returncode != 0
    assert "rank 1 of 2 failed with RuntimeError: rank 1 cannot read its shard" in result.stderr
    pids = [int(p.read_text()) for p in sorted(tmp_path.glob("rank*.pid"))]
    assert len(pids) == 2 and still_running(pids, within=30) == []


@needs_mpi
def test_ranks_that_built_different_graphs_are_refused_at_start(tmp_path):
    result = run_ranks("mismatch", tmp_path)
    assert result.returncode != 0
    assert "rank 1 differs from rank 0 in its training step" in result.stderr
    assert not list(tmp_path.glob("rank*.npz"))
