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


def test_module_entry_point_runs():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "graphc.cli", "--version"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.startswith("graphc ")


def test_demo_trains_and_reports(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    assert main(["demo", "--epochs", "2", "--optimizer", "momentum", "--no-progress", "--save", str(png)]) == 0
    out = capsys.readouterr().out
    assert "backend llvm, seed 0" in out  # the compiled backend is the default
    assert "epoch 2/2" in out and "test accuracy:" in out and "time per epoch:" in out
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
