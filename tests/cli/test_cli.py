"""The `graphc` command: --version, demo and inspect."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import graphc
from graphc.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"graphc {graphc.__version__}"
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize("module", ["graphc.cli", "graphc"])
def test_module_entry_points_run(module):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.startswith("graphc ")
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "demo" in done.stdout and "inspect" in done.stdout


def _refused(capsys, argv: list[str]) -> str:
    """The stderr of a command line the parser refuses (exit status 2, no traceback)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "must be at least 1, got 0"),
    ("--epochs", "-2", "must be at least 1, got -2"),
    ("--epochs", "two", "expected an integer, got 'two'"),
    ("--batch-size", "0", "must be at least 1, got 0"),
    ("--batch-size", "-64", "must be at least 1, got -64"),
    ("--blas-threads", "0", "must be at least 1, got 0"),
    ("--lr", "-1", "must be a finite number above 0, got '-1'"),
    ("--lr", "0", "must be a finite number above 0, got '0'"),
    ("--lr", "nan", "must be a finite number above 0, got 'nan'"),
    ("--lr", "inf", "must be a finite number above 0, got 'inf'"),
    ("--lr", "fast", "expected a number, got 'fast'"),
])
def test_demo_refuses_bad_values_when_parsing(capsys, option, value, message):
    err = _refused(capsys, ["demo", f"{option}={value}"])
    assert f"error: argument {option}: {message}" in err


def test_inspect_refuses_an_unwritable_dot_path_before_the_work(capsys, tmp_path):
    err = _refused(capsys, ["inspect", "--dot", "/nonexistent/x.dot"])
    assert "error: argument --dot: cannot write /nonexistent/x.dot: no directory /nonexistent" in err
    assert "is a directory" in _refused(capsys, ["inspect", "--dot", str(tmp_path)])


def test_inspect_reports_a_failed_write(capsys, tmp_path, monkeypatch):
    from graphc.cli import inspect_graph

    def refuse(path, mode="r"):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr("builtins.open", refuse)
    assert inspect_graph._write_dot("digraph {}", str(tmp_path / "x.dot")) == 2
    assert "cannot write" in capsys.readouterr().err


def test_demo_save_refuses_an_unwritable_path(capsys):
    pytest.importorskip("matplotlib")
    err = _refused(capsys, ["demo", "--save", "/nonexistent/curves.png"])
    assert "error: argument --save: cannot write /nonexistent/curves.png" in err


def test_demo_save_needs_matplotlib_before_training(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    err = _refused(capsys, ["demo", "--save", str(tmp_path / "curves.png")])
    assert "error: argument --save: needs matplotlib" in err
    assert "epoch" not in capsys.readouterr().out


def test_demo_trains_and_reports(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    assert main(["demo", "--epochs", "2", "--optimizer", "momentum", "--no-progress", "--save", str(png)]) == 0
    out = capsys.readouterr().out
    assert "backend llvm, seed 0" in out  # the compiled backend is the default
    assert "epoch 2/2" in out and "test accuracy:" in out and "time per epoch:" in out
    assert "1293 training, 144 validation and 360 test images" in out  # val_* is a split of the training set
    compile_seconds = float(out.split("compilation:")[1].split(" s")[0])
    total_seconds = float(out.split(" s in all")[0].split()[-1])
    assert 0 < compile_seconds < total_seconds + 0.05  # (total is printed to 0.1 s)
    accuracy = float(out.split("test accuracy:")[1].split("%")[0])
    assert accuracy > 50  # two epochs; chance is 10%
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_inspect_prints_gradient_before_and_after_simplification(capsys, tmp_path):
    dot = tmp_path / "grad.dot"
    assert main(["inspect", "--model", "mlp", "--dot", str(dot)]) == 0
    out = capsys.readouterr().out
    assert "d loss / d hidden.weight, as built by grad" in out
    assert "└─" in out  # the debugprint tree
    assert "d loss / d hidden.weight, simplified" in out
    assert dot.read_text().startswith("digraph")


def test_inspect_rejects_an_unknown_parameter(capsys):
    assert main(["inspect", "--wrt", "nope"]) == 2
    assert "fc.weight" in capsys.readouterr().err


def test_demo_rejects_an_unknown_backend(capsys):
    assert main(["demo", "--backend", "no-such-backend"]) == 2
    assert "unknown backend 'no-such-backend'" in capsys.readouterr().err


def test_demo_offers_every_optimizer_with_a_default_lr():
    from graphc.cli.demo import DEFAULT_LR

    assert sorted(DEFAULT_LR) == sorted(graphc.nn.OPTIMIZERS)


def test_demo_resume_needs_an_existing_checkpoint(capsys, tmp_path):
    err = _refused(capsys, ["demo", "--resume"])
    assert "graphc demo: error: argument --resume: needs --checkpoint PATH" in err
    err = _refused(capsys, ["demo", "--resume", "--checkpoint", str(tmp_path / "none.npz")])
    assert f"error: argument --resume: no checkpoint at {tmp_path / 'none.npz'}" in err
    err = _refused(capsys, ["demo", "--checkpoint", "/nonexistent/run.npz"])
    assert "error: argument --checkpoint: cannot write /nonexistent/run.npz: no directory /nonexistent" in err
    assert "is a directory" in _refused(capsys, ["demo", "--checkpoint", str(tmp_path)])


def test_demo_refuses_to_resume_from_a_file_that_is_not_a_checkpoint(capsys, tmp_path):
    notes = tmp_path / "notes.npz"
    notes.write_text("not a checkpoint")
    assert main(["demo", "--epochs", "2", "--no-progress", "--checkpoint", str(notes), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"graphc demo: cannot resume: {notes}: not a graphc checkpoint" in err and "Traceback" not in err
    assert notes.read_text() == "not a checkpoint"


def _test_accuracy(out: str) -> str:
    return out.split("test accuracy:")[1].split("\n")[0]


def test_demo_saves_a_checkpoint_every_epoch_and_resumes_from_it(capsys, tmp_path):
    checkpoint = tmp_path / "run.npz"
    demo = ["demo", "--no-progress", "--checkpoint", str(checkpoint)]
    assert main(demo + ["--epochs", "1"]) == 0
    assert "epoch 1/1" in capsys.readouterr().out and checkpoint.is_file()
    assert main(demo + ["--epochs", "3", "--resume", "--optimizer", "sgd"]) == 2
    assert f"cannot resume: {checkpoint}: saved by a trainer with optimizer 'adam', this one has 'sgd'" in (
        capsys.readouterr().err)
    assert main(demo + ["--epochs", "3", "--resume"]) == 0
    resumed = capsys.readouterr().out
    assert f"resuming from {checkpoint} after epoch 1" in resumed
    assert "epoch 1/3" not in resumed and "epoch 2/3" in resumed and "epoch 3/3" in resumed
    assert main(["demo", "--no-progress", "--epochs", "3"]) == 0
    assert _test_accuracy(resumed) == _test_accuracy(capsys.readouterr().out)  # as the run left alone
    assert main(demo + ["--epochs", "3", "--resume"]) == 0  # the checkpoint is now at epoch 3
    assert "no epochs run: the checkpoint is at epoch 3, --epochs is 3" in capsys.readouterr().out
