"""Differential fuzzing: random graphs and their gradients compiled with the llvm backend
agree with the numpy reference (see generator.py for the cases, oracle.py for what
"agree" means). A failure prints each mismatch with its graph, a minimised graph and the
command that reruns that case alone.

    python -m pytest tests/fuzz                      # the short profile (also in every plain run)
    python -m pytest -m fuzz tests/fuzz --fuzz-cases 10000 --fuzz-seed 7   # the long profile
    python -m pytest tests/fuzz --fuzz-profile long --fuzz-repro SEED      # one case, alone

The summary line counts the cases, the outputs compared, the mismatches, and apart the
known defects (`oracle.KNOWN`; `--fuzz-strict` fails on them too).
"""
from __future__ import annotations

import warnings

import pytest

from .generator import build_case
from .oracle import run_batch

pytestmark = pytest.mark.fuzz


def test_llvm_agrees_with_numpy(fuzz_batch, fuzz_run):
    seeds = fuzz_run.batch_seeds(fuzz_batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow and invalid-value warnings
        cases = [build_case(seed, fuzz_run.profile, j) for j, seed in enumerate(seeds)]
        batch = run_batch(cases)
    fuzz_run.cases += len(cases)
    for case in cases:
        if case.grad_error:
            name = f"gc.grad raised ShapeError (the case ran without gradients): {case.grad_error[:100]}"
            fuzz_run.known[name] = fuzz_run.known.get(name, 0) + 1
    fuzz_run.outputs += batch.outputs_checked
    fuzz_run.order_dependent += batch.order_dependent
    failures = []
    for m in batch.mismatches:
        if m.known and not fuzz_run.strict:
            fuzz_run.known[m.known] = fuzz_run.known.get(m.known, 0) + 1
            print(m.report(fuzz_run.repro(m.case.seed)))
        else:
            failures.append(m)
    fuzz_run.failures += len(failures)
    assert not failures, "\n\n".join(m.report(fuzz_run.repro(m.case.seed)) for m in failures)
