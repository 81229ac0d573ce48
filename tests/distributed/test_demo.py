"""`graphc demo --distributed`: under mpiexec -n 2 it trains, rank 0 alone reporting; the
same command line without a launcher trains in the one process; both reach the same accuracy."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from graphc.cli import main
from mpi_helpers import ROOT, needs_mpi

DEMO = ["demo", "--distributed", "--epochs", "2", "--no-progress"]


def test_demo_distributed_without_a_launcher_trains_in_this_process(capsys):
    assert main(DEMO) == 0
    out = capsys.readouterr().out
    assert "distributed: 1 process(es), each with 64-64 rows of every batch" in out
    assert out.count("test accuracy:") == 1


def images_right(output: str) -> int:
    """The number of test images the demo classified right, from its report."""
    (right,) = re.findall(r"test accuracy: [\d.]+% \((\d+)/360\)", output)
    return int(right)


@needs_mpi
def test_demo_distributed_on_two_ranks_reports_once_and_reaches_the_accuracy_of_one_process(capsys):
    env = dict(os.environ, GRAPHC_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(["mpiexec", "-n", "2", sys.executable, "-m", "graphc", *DEMO],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "distributed: 2 process(es), each with 32-32 rows of every batch and 1 thread(s)" in done.stdout
    assert done.stdout.count("test accuracy:") == 1 and done.stdout.count("epoch 2/2") == 1
    assert main(DEMO) == 0
    # the same weights up to the order of float additions: at most one test image may tip over
    assert abs(images_right(done.stdout) - images_right(capsys.readouterr().out)) <= 1
